// synthetic_text.c: text sampled from a fixed first-order Markov chain, so a language model's
// perplexity can be judged against the true floor exp(entropy rate). The chain has NWORDS
// words and an end-of-line state (written as a newline, read back as "<eos>"); each state
// moves to NSUCC successors with fixed random probabilities.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/prepare.h"
#include "core/rng.h"
#include "core/file_open.h"
#include "core/util.h"

#define NWORDS 40
#define NSTATE (NWORDS + 1)  // the last state is end-of-line
#define NSUCC 3
#define EOL NWORDS

typedef struct {
  int succ[NSTATE][NSUCC];
  double p[NSTATE][NSUCC];
} Chain;

// The chain depends only on the seed: its structure is drawn from stream 0, text from 1..3.
static void chain_init(Chain *c, uint64_t seed) {
  Rng r;
  rng_init(&r, seed, 0);
  for (int s = 0; s < NSTATE; s++) {
    double sum = 0;
    for (int k = 0; k < NSUCC; k++) {
      int t, dup;
      do {  // distinct successors
        t = (int)(rng_u32(&r) % NSTATE);
        dup = 0;
        for (int j = 0; j < k; j++) dup |= c->succ[s][j] == t;
      } while (dup);
      c->succ[s][k] = t;
      c->p[s][k] = 0.2 + rng_uniform(&r);  // bounded away from 0: every edge is seen
      sum += c->p[s][k];
    }
    for (int k = 0; k < NSUCC; k++) c->p[s][k] /= sum;
  }
}

// Long-run state frequencies of the chain started at end-of-line (Cesaro mean of the
// iterates, exact for periodic or reducible chains too).
static void chain_stationary(const Chain *c, double *pi) {
  double cur[NSTATE] = {0}, nxt[NSTATE];
  cur[EOL] = 1;
  memset(pi, 0, sizeof(double) * NSTATE);
  const int iters = 20000;
  for (int it = 0; it < iters; it++) {
    memset(nxt, 0, sizeof nxt);
    for (int s = 0; s < NSTATE; s++)
      for (int k = 0; k < NSUCC; k++) nxt[c->succ[s][k]] += cur[s] * c->p[s][k];
    memcpy(cur, nxt, sizeof cur);
    for (int s = 0; s < NSTATE; s++) pi[s] += cur[s] / iters;
  }
}

static int write_split(const Chain *c, const char *dir, const char *name, long long ntok, Rng *r) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.txt", dir, name);
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_new(path, err, sizeof err);  // never through a link, never truncated in place
  if (!f) {
    fprintf(stderr, "genet: %s\n", err);
    return -1;
  }
  int s = EOL;
  for (long long i = 0; i < ntok; i++) {
    double u = rng_uniform(r), acc = 0;
    int k = 0;
    for (; k < NSUCC - 1; k++) {
      acc += c->p[s][k];
      if (u < acc) break;
    }
    s = c->succ[s][k];
    if (s == EOL) fputc('\n', f);
    else fprintf(f, "w%02d ", s);
  }
  if (s != EOL) fputc('\n', f);  // the reader appends <eos> to a last unterminated line too
  if (fclose(f) != 0) {
    fprintf(stderr, "genet: %s: write failed\n", path);
    return -1;
  }
  return 0;
}

int prepare_synthetic_text(const char *out_dir, long long train_tokens, unsigned long long seed,
                           double *entropy_out) {
  if (mkdir(out_dir, 0775) != 0 && errno != EEXIST) {
    fprintf(stderr, "genet: %s: cannot create directory: %s\n", out_dir, strerror(errno));
    return 1;
  }
  Chain c;
  chain_init(&c, seed);
  double pi[NSTATE], h = 0, hu = 0;
  chain_stationary(&c, pi);
  for (int s = 0; s < NSTATE; s++) {
    for (int k = 0; k < NSUCC; k++) h -= pi[s] * c.p[s][k] * log(c.p[s][k]);
    if (pi[s] > 0) hu -= pi[s] * log(pi[s]);
  }
  if (entropy_out) *entropy_out = h;
  const char *names[3] = {"train", "valid", "test"};
  long long sizes[3] = {train_tokens, train_tokens / 10, train_tokens / 10};
  for (int k = 0; k < 3; k++) {
    Rng r;
    rng_init(&r, seed, (uint64_t)k + 1);
    if (write_split(&c, out_dir, names[k], sizes[k], &r)) return 1;
  }
  printf("wrote %s/{train,valid,test}.txt: %lld/%lld/%lld tokens from a %d-word Markov chain (seed %llu)\n",
         out_dir, sizes[0], sizes[1], sizes[2], NWORDS, seed);
  printf("entropy rate %.6f nats/token: perplexity floor %.4f (unigram perplexity %.4f)\n", h, exp(h), exp(hu));
  return 0;
}
