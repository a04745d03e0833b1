// prepare.c: `genet prepare KIND ...` argument handling.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/prepare.h"
#include "data/prepare.h"

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

static int parse_ll(const char *arg, const char *key, long long *out) {
  size_t n = strlen(key);
  if (strncmp(arg, key, n) || arg[n] != '=') return 0;
  char *end;
  errno = 0;
  long long v = strtoll(arg + n + 1, &end, 10);
  if (errno || end == arg + n + 1 || *end || v < 0) {
    fprintf(stderr, "genet: prepare: %s = '%s': expected a non-negative integer\n", key, arg + n + 1);
    return -1;
  }
  *out = v;
  return 1;
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
    long long tokens = 200000, seed = 1;
    for (int i = 3; i < argc; i++) {
      int a = parse_ll(argv[i], "tokens", &tokens), b = a ? 0 : parse_ll(argv[i], "seed", &seed);
      if (a < 0 || b < 0) return 2;
      if (!a && !b) {
        fprintf(stderr, "genet: prepare synthetic-text: unknown argument '%s' (tokens=N, seed=S)\n", argv[i]);
        return 2;
      }
    }
    if (tokens < 100) {
      fprintf(stderr, "genet: prepare synthetic-text: tokens = %lld: expected at least 100\n", tokens);
      return 2;
    }
    return prepare_synthetic_text(argv[2], tokens, (unsigned long long)seed, NULL);
  }
  if (!strcmp(kind, "images")) {
    if (argc < 4) {
      fprintf(stderr, "genet: prepare images takes SRC_DIR OUT.h5 [size=N]\n");
      return 2;
    }
    long long size = 256;
    for (int i = 4; i < argc; i++) {
      int a = parse_ll(argv[i], "size", &size);
      if (a < 0) return 2;
      if (!a) {
        fprintf(stderr, "genet: prepare images: unknown argument '%s' (size=N)\n", argv[i]);
        return 2;
      }
    }
    if (size < 1 || size > 4096) {
      fprintf(stderr, "genet: prepare images: size = %lld: expected 1..4096\n", size);
      return 2;
    }
    return prepare_images(argv[2], argv[3], (int)size);
  }
  if (!strcmp(kind, "synthetic-images") || !strcmp(kind, "synthetic-glyphs")) {
    if (argc < 3) {
      fprintf(stderr, "genet: prepare %s takes OUT.h5 [n=N] [size=S] [seed=S]\n", kind);
      return 2;
    }
    long long n = 2000, size = 32, seed = 1;
    for (int i = 3; i < argc; i++) {
      int a = parse_ll(argv[i], "n", &n), b = a ? 0 : parse_ll(argv[i], "size", &size);
      int c = a || b ? 0 : parse_ll(argv[i], "seed", &seed);
      if (a < 0 || b < 0 || c < 0) return 2;
      if (!a && !b && !c) {
        fprintf(stderr, "genet: prepare %s: unknown argument '%s' (n=N, size=S, seed=S)\n", kind, argv[i]);
        return 2;
      }
    }
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
