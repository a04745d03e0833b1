// lm_generate.c: `genet generate`: text sampled from a language-model checkpoint as
// pytorch/examples' generate.py does: the next word is drawn from softmax(logits / temperature)
// and fed back in; an optional prompt primes the hidden state first. `<eos>` prints as a
// newline. The checkpoint is self-contained (job text, weights, vocabulary).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/ckpt.h"
#include "data/lm_data.h"
#include "data/prepare.h"
#include "tasks/lm_generate.h"
#include "tasks/lm_task.h"
#include "data/params_io.h"
#include "core/rng.h"
#include "data/utf8.h"
#include "core/util.h"
#include "tasks/registry.h"

static int fail2(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "genet: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 2;
}

// One draw from softmax(logits / temp): exp in double after subtracting the max.
static int sample(const float *logits, int V, double temp, Rng *rng, double *w) {
  float mx = logits[0];
  for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
  double sum = 0;
  for (int i = 0; i < V; i++) sum += w[i] = exp((logits[i] - mx) / temp);
  double u = (rng_u32(rng) * 4294967296.0 + rng_u32(rng)) / 18446744073709551616.0 * sum;
  for (int i = 0; i < V; i++) {
    if (u < w[i]) return i;
    u -= w[i];
  }
  return V - 1;
}

static void emit(const char *word, int *col) {
  if (!strcmp(word, "<eos>")) {
    putchar('\n');
    *col = 0;
    return;
  }
  printf(*col ? " %s" : "%s", word);
  *col = 1;
}

// The checkpoint's job (its model shape), vocabulary and weights into vocab and m (built on the
// CPU: sampling runs there). Returns 0, or 2 after one line, with nothing left open or allocated.
static int load_checkpoint(const char *path, Vocab *vocab, LmModel *m) {
  char err[GENET_ERR_MAX];
  H5File f;
  char *job = NULL, *vtext = NULL;
  int64_t step;
  int ws, version, rc = 2, built = 0;
  Config cfg;
  const CfgSpec *const tables[] = {task_shared_keys(), lm_task_keys};
  const int sizes[] = {train_nshared_keys, lm_task_nkeys};
  config_init(&cfg, tables, sizes, 2);
  cfg.ignore_unknown = 1;  // another task's keys: the task line below says what it is
  memset(vocab, 0, sizeof *vocab);
  if (h5safe_open(&f, path, err, sizeof err) || ckpt_read_meta(&f, &step, &ws, &version, err, sizeof err) ||
      h5_read_str(&f, "meta/job", &job, 1 << 20, err, sizeof err)) {
    fail2("%s%s", err, "");
    goto out;
  }
  // An empty or cut job lacks required keys (task, data): said here, not found by an assertion.
  if (config_load_text(&cfg, job, "meta/job", err, sizeof err) || config_check_required(&cfg, err, sizeof err)) {
    fail2("%s: its meta/job cannot be read: %s", path, err);
    goto out;
  }
  if (strcmp(config_str(&cfg, "task"), "lm") != 0) {
    fail2("%s: a checkpoint of task = %s; genet generate samples text from a language-model "
          "checkpoint (task = lm)", path, config_str(&cfg, "task"));
    goto out;
  }
  if (h5_read_str(&f, "vocab", &vtext, LM_VOCAB_MAX_BYTES, err, sizeof err)) {  // err names the file
    fail2("%s%s", err, "");
    goto out;
  }
  if (vocab_from_text(vocab, vtext, err, sizeof err)) {
    fail2("%s: vocab: %s", path, err);
    goto out;
  }
  LmConfig mc;
  lm_config_from(&cfg, vocab->n, &mc);
  lm_model_build(m, &mc, NULL);
  built = 1;
  if (params_read(&f, &m->params, m->params.data, "params", err, sizeof err)) {
    fail2("%s%s", err, "");
    goto out;
  }
  rc = 0;
out:
  free(job);
  free(vtext);
  config_free(&cfg);
  if (f.id >= 0) h5_close(&f, err, sizeof err);
  if (rc && built) lm_model_free(m);
  if (rc) vocab_free(vocab);
  return rc;
}

// The arguments, checked as a job's keys are (config_parse_args).
static const CfgSpec generate_keys[] = {
    {"words", CFG_INT, "1000", 0, 100000000, NULL, "words to sample after the prompt", 0},
    {"temperature", CFG_FLOAT, "1.0", 1e-6, 1e6, NULL, "divides the logits: lower is more conservative", 0},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of the sampling stream (as a job's seed)", 0},
    {"prompt", CFG_STRING, "", 1, 0, NULL, "words to start from (each in the vocabulary)", 0},
    // One token at a time is too little work to share: a second thread made it 20x slower.
    {"threads", CFG_INT, "1", 0, 1024, NULL, "OpenMP threads (0: as train's threads = 0)", 0},
};

int lm_generate_main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "genet: usage: genet generate CKPT.h5 [words=1000] [temperature=1.0] [seed=1] [prompt=\"...\"] [threads=1]\n");
    return 2;
  }
  const char *path = argv[1];
  Config args;
  char err[GENET_ERR_MAX];
  if (config_parse_args(&args, generate_keys, (int)(sizeof generate_keys / sizeof *generate_keys), "generate",
                        argc - 2, argv + 2, err, sizeof err)) {
    config_free(&args);
    return fail2("%s%s", err, "");
  }
  long words = (long)config_int(&args, "words");
  uint64_t seed = (uint64_t)config_int(&args, "seed");
  double temp = config_float(&args, "temperature");
  int threads = (int)config_int(&args, "threads");
  config_free(&args);  // nothing of it held on the error paths below
  const char *prompt = "";  // argv's own copy
  for (int i = 2; i < argc; i++)
    if (!strncmp(argv[i], "prompt=", 7)) prompt = argv[i] + 7;
  Vocab vocab;
  LmModel m;
  if (load_checkpoint(path, &vocab, &m)) return 2;
  const LmConfig mc = m.cfg;

  // Prompt words, lowercased as `genet prepare text` does, each in the vocabulary.
  int np = 0, cap = 16;
  int32_t *ptok = xmalloc(sizeof(int32_t) * (size_t)cap);
  size_t bad;
  char why[160];
  int rc = 0;
  if (utf8_check(prompt, strlen(prompt), &bad, why, sizeof why)) rc = fail2("prompt: %s%s", why, "");
  char *pcopy = xstrdup(prompt), *low = xmalloc(2 * strlen(prompt) + 1);
  for (char *w = strtok(pcopy, " \t\n"); w && !rc; w = strtok(NULL, " \t\n")) {
    utf8_lower(low, w, strlen(w));
    int id = vocab_find(&vocab, low);
    if (id < 0) rc = fail2("prompt: the word '%s' is not in the model's vocabulary%s", low, "");
    if (np == cap) ptok = xrealloc(ptok, sizeof(int32_t) * (size_t)(cap *= 2));
    ptok[np++] = id;
  }
  free(pcopy);
  free(low);
  if (rc) {
    free(ptok);
    lm_model_free(&m);
    vocab_free(&vocab);
    return rc;
  }

  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, threads);
  fprintf(stderr, "genet: generate: sampling on %d thread%s\n", ctx.nthreads, ctx.nthreads == 1 ? "" : "s");
  LmActs a;
  lm_acts_alloc(&a, &m, 1, 1);
  size_t n = (size_t)mc.nlayers * mc.nhid;
  float *h = xcalloc(n, sizeof(float)), *c = xcalloc(n, sizeof(float));
  double *w = xmalloc(sizeof(double) * (size_t)mc.ntoken);
  Rng rng;
  rng_init(&rng, (uint64_t)seed, 0);
  int col = 0;
  int32_t tok;
  if (np) {
    for (int i = 0; i < np; i++) {
      tok = ptok[i];
      emit(vocab.words[tok], &col);
      lm_forward(&ctx, &m, &a, &tok, NULL, 1, h, c, 0, NULL);
    }
  } else {  // as generate.py: a random first word
    tok = (int32_t)(rng_u32(&rng) % (uint32_t)mc.ntoken);
    lm_forward(&ctx, &m, &a, &tok, NULL, 1, h, c, 0, NULL);
  }
  for (long i = 0; i < words; i++) {
    tok = sample(a.logits, mc.ntoken, temp, &rng, w);
    emit(vocab.words[tok], &col);
    lm_forward(&ctx, &m, &a, &tok, NULL, 1, h, c, 0, NULL);
  }
  if (col) putchar('\n');
  free(w);
  free(h);
  free(c);
  free(ptok);
  lm_acts_free(&a);
  ctx_free(&ctx);
  lm_model_free(&m);
  vocab_free(&vocab);
  return 0;
}
