// lm_task.c: the language model's training loop, evaluation and checkpoint contents.
// With w ranks each takes batch/w of the training columns (lm_columns), so one step is the
// single-process step of the whole batch: every rank's loss is the mean over the same number
// of tokens, and the mean of the ranks' gradients is the gradient of the global mean.
#include "tasks/lm_task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/ckpt.h"
#include "data/lm_data.h"
#include "models/lm_model.h"
#include "optim/optim.h"
#include "data/params_io.h"
#include "core/util.h"

const CfgSpec lm_task_keys[] = {
    {"data", CFG_STRING, NULL, 0, -1, NULL, "HDF5 corpus from `genet prepare text` (train/valid/test, vocab)", CFG_RESUME_APPLIES},
    {"emsize", CFG_INT, "200", 1, 1 << 16, NULL, "embedding size", CFG_RESUME_FIXED},
    {"nhid", CFG_INT, "200", 1, 1 << 16, NULL, "LSTM hidden units per layer", CFG_RESUME_FIXED},
    {"nlayers", CFG_INT, "2", 1, 8, NULL, "LSTM layers", CFG_RESUME_FIXED},
    {"dropout", CFG_FLOAT, "0.2", 0, 0.99, NULL, "dropout between LSTM layers", CFG_RESUME_APPLIES},
    {"dropout_io", CFG_FLOAT, "0.2", 0, 0.99, NULL, "dropout on the embeddings and the LSTM output (the book's code: 0.5)", CFG_RESUME_APPLIES},
    {"tied", CFG_BOOL, "true", 0, -1, NULL, "decoder weight = embedding (needs emsize == nhid)", CFG_RESUME_FIXED},
    {"batch", CFG_INT, "20", 1, 1 << 20, NULL, "training columns (global, divided among ranks)", CFG_RESUME_FIXED},
    {"bptt", CFG_INT, "35", 1, 1 << 16, NULL, "steps of backpropagation through time", CFG_RESUME_FIXED},
    {"lr", CFG_FLOAT, "20", 1e-12, 1e6, NULL, "initial SGD learning rate", CFG_RESUME_APPLIES},
    {"lr_decay", CFG_FLOAT, "4", 1, 1e6, NULL, "lr is divided by this when validation loss does not improve", CFG_RESUME_APPLIES},
    {"clip", CFG_FLOAT, "0.25", 0, 1e12, NULL, "global gradient-norm clip (0: off)", CFG_RESUME_APPLIES},
    {"epochs", CFG_INT, "40", 1, 1e9, NULL, "passes over the training split", CFG_RESUME_APPLIES},
    {"eval_batch", CFG_INT, "10", 1, 1 << 20, NULL, "columns of the validation and test splits", CFG_RESUME_APPLIES},
    {"log_interval", CFG_INT, "200", 1, 1e9, NULL, "batches between progress lines", CFG_RESUME_APPLIES},
};
const int lm_task_nkeys = sizeof lm_task_keys / sizeof *lm_task_keys;

// Dropout masks of step s come from the stream (seed, 1 + s), drawn for the global batch (each
// rank takes its columns' masks: dropout_forward_cols): a function of the step alone, so a
// resumed run draws exactly the masks it would have drawn, nothing about the generator needs
// saving, and w ranks draw the single process's masks. Stream 0 is the initial weights.
#define LM_RNG_STREAM(step) (1 + (uint64_t)(step))

typedef struct {
  Trainer *t;
  LmModel m;
  Vocab vocab;
  int B, Bl, c0, c1;       // global columns, this rank's columns [c0, c1)
  int64_t epoch;           // 1-based, as printed
  int64_t batch;           // next batch index within the epoch
  double lr, best_val;     // best_val: INFINITY until the first evaluation
  double log_loss;         // sum of batch losses since the last progress line
  int64_t log_batches;
  float *h, *c;            // (L, Bl, H) carried state of this rank's columns
  float *gh, *gc;          // (L, B, H) all columns, for checkpoints
} Lm;

void lm_config_from(const Config *cfg, int ntoken, LmConfig *c) {
  c->ntoken = ntoken;
  c->emsize = (int)config_int(cfg, "emsize");
  c->nhid = (int)config_int(cfg, "nhid");
  c->nlayers = (int)config_int(cfg, "nlayers");
  c->dropout = (float)config_float(cfg, "dropout");
  c->dropout_io = (float)config_float(cfg, "dropout_io");
  c->tied = config_bool(cfg, "tied");
}

// ---- checkpoint contents (docs/CHECKPOINTS.md)

// The carried state of every column: each rank fills its columns, a sum gathers them.
static void gather_state(Lm *s) {
  const LmConfig *c = &s->m.cfg;
  size_t L = (size_t)c->nlayers, H = (size_t)c->nhid, n = L * (size_t)s->B * H;
  memset(s->gh, 0, sizeof(float) * n);
  memset(s->gc, 0, sizeof(float) * n);
  for (size_t l = 0; l < L; l++) {
    memcpy(s->gh + (l * s->B + (size_t)s->c0) * H, s->h + l * s->Bl * H, sizeof(float) * s->Bl * H);
    memcpy(s->gc + (l * s->B + (size_t)s->c0) * H, s->c + l * s->Bl * H, sizeof(float) * s->Bl * H);
  }
  comm_allreduce_sum(&s->t->comm, s->gh, n);
  comm_allreduce_sum(&s->t->comm, s->gc, n);
}

static int save_weights(H5File *f, void *arg) {
  Lm *s = arg;
  int rc = params_write(f, &s->m.params, s->m.params.data, "params");
  char *text = xmalloc(1);
  size_t len = 0;
  for (int i = 0; i < s->vocab.n; i++) {
    size_t k = strlen(s->vocab.words[i]);
    text = xrealloc(text, len + k + 2);
    memcpy(text + len, s->vocab.words[i], k);
    len += k;
    text[len++] = '\n';
  }
  text[len] = 0;
  rc |= h5_write_str(f, "vocab", text);
  free(text);
  return rc ? -1 : 0;
}

static int save_state(H5File *f, void *arg) {
  Lm *s = arg;
  const LmConfig *c = &s->m.cfg;
  int rc = save_weights(f, arg);
  rc |= h5_write_str(f, "optim/name", "sgd");
  rc |= h5_write_scalar_f64(f, "optim/lr", s->lr);
  rc |= h5_write_scalar_i64(f, "train/epoch", s->epoch);
  rc |= h5_write_scalar_i64(f, "train/batch", s->batch);
  rc |= h5_write_scalar_f64(f, "train/best_val_loss", s->best_val);
  rc |= h5_write_scalar_f64(f, "train/log_loss_sum", s->log_loss);
  rc |= h5_write_scalar_i64(f, "train/log_batches", s->log_batches);
  rc |= h5_write_scalar_i64(f, "rng/seed", (int64_t)s->t->seed);
  rc |= h5_write_str(f, "rng/scheme", "philox4x32-10; weights: stream 0; dropout of step s: stream 1 + s, drawn for the global batch");
  int64_t dims[3] = {c->nlayers, s->B, c->nhid};
  rc |= h5_write_f32(f, "state/h", s->gh, 3, dims);
  rc |= h5_write_f32(f, "state/c", s->gc, 3, dims);
  return rc ? -1 : 0;
}

static int load_state(H5File *f, void *arg, char *err, size_t errlen) {
  Lm *s = arg;
  const LmConfig *c = &s->m.cfg;
  int rc = params_read(f, &s->m.params, s->m.params.data, "params", err, errlen);
  if (rc) return rc;
  int64_t dims[3] = {c->nlayers, s->B, c->nhid}, have[3] = {0};
  if (h5_shape(f, "state/h", have, 3, err, errlen) == 3 &&
      (have[0] != dims[0] || have[1] != dims[1] || have[2] != dims[2])) {
    snprintf(err, errlen, "%s: state/h is (%lld, %lld, %lld), this job carries (%lld, %lld, %lld) "
             "(layers, batch, nhid)", f->path, (long long)have[0], (long long)have[1],
             (long long)have[2], (long long)dims[0], (long long)dims[1], (long long)dims[2]);
    return -2;
  }
  if (h5_read_f32(f, "state/h", s->gh, 3, dims, err, errlen) ||
      h5_read_f32(f, "state/c", s->gc, 3, dims, err, errlen) ||
      h5_read_scalar_f64(f, "optim/lr", &s->lr, err, errlen) ||
      h5_read_scalar_i64(f, "train/epoch", &s->epoch, err, errlen) ||
      h5_read_scalar_i64(f, "train/batch", &s->batch, err, errlen) ||
      h5_read_scalar_f64(f, "train/best_val_loss", &s->best_val, err, errlen) ||
      h5_read_scalar_f64(f, "train/log_loss_sum", &s->log_loss, err, errlen) ||
      h5_read_scalar_i64(f, "train/log_batches", &s->log_batches, err, errlen))
    return -1;
  size_t H = (size_t)c->nhid;
  for (size_t l = 0; l < (size_t)c->nlayers; l++) {
    memcpy(s->h + l * s->Bl * H, s->gh + (l * s->B + (size_t)s->c0) * H, sizeof(float) * s->Bl * H);
    memcpy(s->c + l * s->Bl * H, s->gc + (l * s->B + (size_t)s->c0) * H, sizeof(float) * s->Bl * H);
  }
  return 0;
}

static int load_init_weights(Lm *s, const char *path) {
  H5File f;
  char err[GENET_ERR_MAX];
  int rc = ckpt_open(&f, path, err, sizeof err);
  if (!rc) rc = params_read(&f, &s->m.params, s->m.params.data, "params", err, sizeof err);
  char e2[GENET_ERR_MAX];
  if (f.id >= 0) h5_close(&f, e2, sizeof e2);
  if (rc) trainer_fail(s->t, "init_weights = %s: %s", path, err);
  trainer_log(s->t, "| initial weights from %s\n", path);
  return 0;
}

// ---- evaluation: mean loss per token of a split, columns spread over ranks

static double evaluate(Lm *s, const TokenGrid *g, int bptt) {
  Trainer *t = s->t;
  const LmConfig *c = &s->m.cfg;
  double sum = 0, count = 0;
  if (g->cols > 0) {
    LmActs a;
    lm_acts_alloc(&a, &s->m, bptt, g->cols);
    size_t n = (size_t)c->nlayers * g->cols * c->nhid;
    float *h = xcalloc(n, sizeof(float)), *cc = xcalloc(n, sizeof(float));
    for (int64_t row = 0; row < g->rows - 1; row += bptt) {
      int T = (int)(g->rows - 1 - row < bptt ? g->rows - 1 - row : bptt);
      const int32_t *x = g->data + row * g->cols, *y = x + g->cols;
      double loss = lm_forward(&t->ctx, &s->m, &a, x, y, T, h, cc, 0, NULL);
      sum += loss * T * g->cols;
      count += (double)T * g->cols;
    }
    free(h);
    free(cc);
    lm_acts_free(&a);
  }
  return comm_sum_double(&t->comm, sum) / comm_sum_double(&t->comm, count);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *rule(char ch) {
  static char line[90];
  memset(line, ch, 89);
  line[89] = 0;
  return line;
}

// Reads the corpus, builds the model; fails before any work on a bad job or file.
static void lm_setup(Lm *s, Trainer *t, TokenGrid *train, TokenGrid *valid, TokenGrid *test) {
  const Config *cfg = &t->cfg;
  const char *path = config_str(cfg, "data");
  s->B = (int)config_int(cfg, "batch");
  if (s->B % t->comm.size)
    trainer_fail(t, "batch = %d does not divide among %d ranks: use a multiple of %d", s->B,
                 t->comm.size, t->comm.size);
  lm_columns(s->B, t->comm.size, t->comm.rank, &s->c0, &s->c1);
  s->Bl = s->c1 - s->c0;
  H5File f;
  char err[GENET_ERR_MAX];
  if (ckpt_open(&f, path, err, sizeof err) || vocab_read(&f, &s->vocab, err, sizeof err))
    trainer_fail(t, "data = %s: %s", path, err);
  LmConfig mc;
  lm_config_from(cfg, s->vocab.n, &mc);
  if (lm_config_check(&mc, err, sizeof err)) trainer_fail(t, "%s", err);
  int eb = (int)config_int(cfg, "eval_batch"), e0, e1;
  lm_columns(eb, t->comm.size, t->comm.rank, &e0, &e1);
  if (lm_read_split(&f, "train", s->B, s->c0, s->c1, mc.ntoken, train, err, sizeof err) ||
      lm_read_split(&f, "valid", eb, e0, e1, mc.ntoken, valid, err, sizeof err) ||
      lm_read_split(&f, "test", eb, e0, e1, mc.ntoken, test, err, sizeof err))
    trainer_fail(t, "data = %s: %s", path, err);
  h5_close(&f, err, sizeof err);
  lm_model_build(&s->m, &mc);
  size_t n = (size_t)mc.nlayers * s->Bl * mc.nhid, gn = (size_t)mc.nlayers * s->B * mc.nhid;
  s->h = xcalloc(n ? n : 1, sizeof(float));
  s->c = xcalloc(n ? n : 1, sizeof(float));
  s->gh = xcalloc(gn, sizeof(float));
  s->gc = xcalloc(gn, sizeof(float));
  trainer_log(t, "| data %s: vocabulary %d, train %lld x %d, valid %lld x %d, test %lld x %d "
              "(rows x columns)\n", path, mc.ntoken, (long long)train->rows, s->B,
              (long long)valid->rows, eb, (long long)test->rows, eb);
  trainer_log(t, "| model: %zu parameters (emsize %d, nhid %d, %d layers, %s)\n",
              s->m.params.total, mc.emsize, mc.nhid, mc.nlayers, mc.tied ? "tied" : "untied");
}

static void checkpoint(Lm *s) {
  gather_state(s);
  trainer_save(s->t, save_state, s);
}

int lm_task_run(Trainer *t) {
  Lm s;
  memset(&s, 0, sizeof s);
  s.t = t;
  TokenGrid train, valid, test;
  lm_setup(&s, t, &train, &valid, &test);
  const Config *cfg = &t->cfg;
  int bptt = (int)config_int(cfg, "bptt");
  int64_t epochs = config_int(cfg, "epochs"), log_interval = config_int(cfg, "log_interval");
  double clip = config_float(cfg, "clip"), decay = config_float(cfg, "lr_decay");
  s.lr = config_float(cfg, "lr");
  s.epoch = 1;
  s.best_val = INFINITY;
  if (!trainer_resume(t, load_state, &s)) {
    Rng init;
    rng_init(&init, t->seed, 0);
    lm_init_weights(&s.m, &init);
    const char *iw = config_str(cfg, "init_weights");
    if (iw[0]) load_init_weights(&s, iw);
  } else if (trainer_key_changed(t, "lr")) {  // the checkpoint's lr is the annealed one
    trainer_log(t, "| lr = %g from the job replaces the checkpoint's lr %g\n", config_float(cfg, "lr"), s.lr);
    s.lr = config_float(cfg, "lr");
  }
  GradSync *gs = NULL;
  LmActs a;
  memset(&a, 0, sizeof a);
  int stopped = 0;
  if (trainer_nothing_to_do(t, s.epoch > epochs ? "all epochs are done; raise epochs to train further" : NULL))
    goto done;
  // Every rank starts from rank 0's parameters (they agree already; this makes it so).
  gs = gradsync_create(&t->comm, &s.m.params, (size_t)(config_float(cfg, "bucket_mb") * (1 << 20)));
  gradsync_broadcast_params(gs);
  double wait_s = 0;
  int64_t buckets = 0, early = 0, steps_run = 0;

  lm_acts_alloc(&a, &s.m, bptt, s.Bl);
  lm_acts_set_columns(&a, s.B, s.c0);
  Params *P = &s.m.params;
  int64_t nbatches = (train.rows - 1 + bptt - 1) / bptt;
  for (; s.epoch <= epochs && !stopped; s.epoch++, s.batch = 0) {
    double t_epoch = now_s(), t_log = now_s();
    if (s.batch == 0) {  // a new epoch starts from a zero state and loss sum, as the reference
      s.log_loss = 0;
      s.log_batches = 0;
      memset(s.h, 0, sizeof(float) * (size_t)s.m.cfg.nlayers * s.Bl * s.m.cfg.nhid);
      memset(s.c, 0, sizeof(float) * (size_t)s.m.cfg.nlayers * s.Bl * s.m.cfg.nhid);
    }
    for (; s.batch < nbatches; ) {
      int64_t row = s.batch * bptt;
      int T = (int)(train.rows - 1 - row < bptt ? train.rows - 1 - row : bptt);
      const int32_t *x = train.data + row * s.Bl, *y = x + s.Bl;
      Rng rng;
      rng_init(&rng, t->seed, LM_RNG_STREAM(t->step));
      params_zero_grad(P);
      double loss = lm_forward(&t->ctx, &s.m, &a, x, y, T, s.h, s.c, 1, &rng);
      gradsync_begin(gs);
      lm_backward(&t->ctx, &s.m, &a, x, y, gs);
      gradsync_finish(gs);
      GradSyncStats gst = gradsync_stats(gs);
      wait_s += gst.wait_s;
      buckets += gst.buckets;
      early += gst.buckets_early;
      steps_run++;
      if (clip > 0) clip_grad_norm(&t->ctx, P->grad, P->total, clip);
      SgdConfig sc = {.lr = s.lr};
      SgdState st = {.n = P->total};
      sgd_step(&t->ctx, &st, P->data, P->grad, &sc);
      loss = comm_sum_double(&t->comm, loss) / t->comm.size;
      t->step++;
      s.batch++;
      s.log_loss += loss;
      s.log_batches++;
      int64_t i = s.batch - 1;  // the reference's batch index
      if (i % log_interval == 0 && i > 0) {
        double cur = s.log_loss / log_interval, ms = (now_s() - t_log) * 1000.0 / (double)s.log_batches;
        trainer_log(t, "| epoch %3lld | %5lld/%5lld batches | lr %.2f | ms/batch %5.2f | loss %5.2f | ppl %8.2f\n",
                    (long long)s.epoch, (long long)i, (long long)nbatches, s.lr, ms, cur, exp(cur));
        s.log_loss = 0;
        s.log_batches = 0;
        t_log = now_s();
      }
      int stop = trainer_should_stop(t);
      if (stop || trainer_checkpoint_due(t)) checkpoint(&s);
      if (stop) {
        trainer_log(t, "| stopped at step %lld (%s): resume with the same job\n", (long long)t->step,
                    trainer_signalled(t) ? "signal" : "max_steps");
        stopped = 1;
        break;
      }
    }
    if (stopped) break;
    if (t->comm.size > 1 && buckets)
      trainer_log(t, "| all-reduce: %.2f ms waited per step, %lld of %lld buckets started during backward\n",
                  1e3 * wait_s / (double)steps_run, (long long)early, (long long)buckets);
    wait_s = 0;
    buckets = early = steps_run = 0;
    double val = evaluate(&s, &valid, bptt);
    trainer_log(t, "%s\n| end of epoch %3lld | time: %5.2fs | valid loss %5.2f | valid ppl %8.2f\n%s\n",
                rule('-'), (long long)s.epoch, now_s() - t_epoch, val, exp(val), rule('-'));
    if (val < s.best_val) {
      s.best_val = val;
      trainer_save_named(t, "best.h5", save_weights, &s);
    } else {
      s.lr /= decay;
    }
  }
  if (!stopped) {
    // State after the last epoch, so a later run with more epochs continues from here.
    s.batch = 0;
    checkpoint(&s);
    char best[GENET_PATH_MAX + 64], err[700];
    snprintf(best, sizeof best, "%s/best.h5", t->ckpt_dir);
    H5File f;
    if (ckpt_open(&f, best, err, sizeof err) ||
        params_read(&f, P, P->data, "params", err, sizeof err))
      trainer_fail(t, "best model: %s", err);
    h5_close(&f, err, sizeof err);
    double test_loss = evaluate(&s, &test, bptt);
    trainer_log(t, "%s\n| End of training | test loss %5.2f | test ppl %8.2f\n%s\n", rule('='),
                test_loss, exp(test_loss), rule('='));
  }
done:
  gradsync_free(gs);
  lm_acts_free(&a);
  token_grid_free(&train);
  token_grid_free(&valid);
  token_grid_free(&test);
  free(s.h);
  free(s.c);
  free(s.gh);
  free(s.gc);
  vocab_free(&s.vocab);
  lm_model_free(&s.m);
  return 0;
}
