// prepare_cmd.c: `genet prepare KIND ...` argument handling.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/prepare_cmd.h"
#include "core/util.h"
#include "data/prepare.h"
#include "train/config.h"

static const char *usage =
    "usage: genet prepare KIND ...\n"
    "  genet prepare text SRC_DIR OUT.h5          {train,valid,test}.txt (WikiText-2 layout)\n"
    "  genet prepare cifar10 SRC_DIR OUT.h5       CIFAR-10 binary batches\n"
    "  genet prepare synthetic-text OUT_DIR [tokens=N] [seed=S]\n"
    "                                             Markov-chain text with a known entropy\n"
    "  genet prepare images SRC_DIR OUT.h5 [size=N]  PNG/JPEG folder, N x N (default 256)\n"
    "  genet prepare synthetic-images OUT.h5 [n=N] [size=S] [seed=S]\n"
    "                                             coloured shapes, CIFAR-10 layout\n"
    "  genet prepare synthetic-glyphs OUT.h5 [n=N] [size=S] [seed=S]\n"
    "                                             drawn digits 0-9, CIFAR-10 layout (make demo)\n";

// Each kind's key=value arguments, checked as a job's keys are (config_parse_args).
static const CfgSpec text_keys[] = {
    {"tokens", CFG_INT, "200000", 100, 1e12, NULL, "training tokens", 0},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of the chain's draws", 0},
};
static const CfgSpec image_keys[] = {
    {"size", CFG_INT, "256", 1, 4096, NULL, "side of the square images", 0},
};
static const CfgSpec synth_keys[] = {
    {"n", CFG_INT, "2000", 1, 10000000, NULL, "training images (n / 5 test images)", 0},
    {"size", CFG_INT, "32", 1, 1024, NULL, "side of the square images", 0},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of the draws", 0},
};

// argv[first..] as `keys`; 0, or -1 after printing one line.
static int parse_args(Config *c, const CfgSpec *keys, int nkeys, const char *kind, int argc, char **argv, int first) {
  char err[GENET_ERR_MAX], cmd[64];
  snprintf(cmd, sizeof cmd, "prepare %s", kind);
  if (!config_parse_args(c, keys, nkeys, cmd, argc - first, argv + first, err, sizeof err)) return 0;
  fprintf(stderr, "genet: %s\n", err);
  config_free(c);
  return -1;
}

int prepare_main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return 2;
  }
  // No argument starts with '-': a typo'd option must not become a directory name.
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (argv[i][0] == '-') {
      fprintf(stderr, "genet: prepare: unknown option '%s' (try genet prepare --help)\n", argv[i]);
      return 2;
    }
  }
  const char *kind = argv[1];
  if (!strcmp(kind, "text") || !strcmp(kind, "cifar10")) {
    if (argc != 4) {
      fprintf(stderr, "genet: prepare %s takes SRC_DIR OUT.h5 (got %d arguments)\n", kind, argc - 2);
      return 2;
    }
    return !strcmp(kind, "text") ? prepare_text(argv[2], argv[3]) : prepare_cifar10(argv[2], argv[3]);
  }
  if (!strcmp(kind, "synthetic-text")) {
    if (argc < 3) {
      fprintf(stderr, "genet: prepare synthetic-text takes OUT_DIR [tokens=N] [seed=S]\n");
      return 2;
    }
    Config c;
    if (parse_args(&c, text_keys, 2, kind, argc, argv, 3)) return 2;
    long long tokens = config_int(&c, "tokens"), seed = config_int(&c, "seed");
    config_free(&c);
    return prepare_synthetic_text(argv[2], tokens, (unsigned long long)seed, NULL);
  }
  if (!strcmp(kind, "images")) {
    if (argc < 4) {
      fprintf(stderr, "genet: prepare images takes SRC_DIR OUT.h5 [size=N]\n");
      return 2;
    }
    Config c;
    if (parse_args(&c, image_keys, 1, kind, argc, argv, 4)) return 2;
    long long size = config_int(&c, "size");
    config_free(&c);
    return prepare_images(argv[2], argv[3], (int)size);
  }
  if (!strcmp(kind, "synthetic-images") || !strcmp(kind, "synthetic-glyphs")) {
    if (argc < 3) {
      fprintf(stderr, "genet: prepare %s takes OUT.h5 [n=N] [size=S] [seed=S]\n", kind);
      return 2;
    }
    Config c;
    if (parse_args(&c, synth_keys, 3, kind, argc, argv, 3)) return 2;
    long long n = config_int(&c, "n"), size = config_int(&c, "size"), seed = config_int(&c, "seed");
    config_free(&c);
    if (n < 1 || n > 10000000 || size < 4 || size > 1024 || (double)n * 3 * size * size > 8e9) {
      fprintf(stderr, "genet: prepare %s: n = %lld, size = %lld: expected n >= 1, size 4..1024 "
              "and at most 8e9 bytes of images\n", kind, n, size);
      return 2;
    }
    return (!strcmp(kind, "synthetic-images") ? prepare_synthetic_images : prepare_synthetic_glyphs)(argv[2], n, (int)size,
                                                                                    (unsigned long long)seed);
  }
  fprintf(stderr, "genet: prepare: unknown kind '%s' (text, cifar10, synthetic-text, images, synthetic-images, synthetic-glyphs)\n", kind);
  return 2;
}
