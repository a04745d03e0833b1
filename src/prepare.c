// prepare.c: `genet prepare KIND ...` argument handling.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepare.h"

static const char *usage =
    "usage: genet prepare KIND ...\n"
    "  genet prepare text SRC_DIR OUT.h5          {train,valid,test}.txt (WikiText-2 layout)\n"
    "  genet prepare cifar10 SRC_DIR OUT.h5       CIFAR-10 binary batches\n"
    "  genet prepare synthetic-text OUT_DIR [tokens=N] [seed=S]\n"
    "                                             Markov-chain text with a known entropy\n";

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
  fprintf(stderr, "genet: prepare: unknown kind '%s' (text, cifar10, synthetic-text)\n", kind);
  return 2;
}
