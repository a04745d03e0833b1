// lm_task.c: the language model's step, evaluation and checkpoint contents (the loop is the
// trainer's). With w ranks each takes batch/w of the training columns (lm_columns), and with
// accumulate = k it runs them k micro-batches at a time, so one step is the single-process step
// of the whole batch: every micro-batch's loss is the mean over the same number of tokens, and
// the mean of their gradients is the gradient of the global mean.
#include "tasks/lm_task.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/lm_data.h"
#include "data/h5safe.h"
#include "models/lm_model.h"
#include "optim/optim.h"
#include "data/params_io.h"
#include "core/stage.h"
#include "core/util.h"
#include "train/runlog.h"

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
// micro-batch takes its columns' masks: dropout_forward_cols): a function of the step alone, so a
// resumed run draws exactly the masks it would have drawn, nothing about the generator needs
// saving, and w ranks or k micro-batches draw the single process's masks. Stream 0 is the
// initial weights.
#define LM_RNG_STREAM(step) (1 + (uint64_t)(step))

typedef struct {
  LmModel m;
  Vocab vocab;
  TokenGrid train, valid, test;
  int B, Bl, Bm, c0, c1;   // global columns, this rank's columns [c0, c1), a micro-batch's
  int bptt;
  int64_t log_interval;
  double clip, decay;
  LmActs a;                // for Bm columns
  SgdState sgd;            // momentum 0: the reference's p -= lr * grad
  SgdConfig sgd_cfg;       // .lr: annealed at epoch ends, saved with the optimizer
  double best_val;         // INFINITY until the first evaluation
  double log_loss;         // sum of batch losses since the last progress line
  int64_t log_batches;
  double t_epoch, t_log;
  const Ctx *dev;          // the model's device (NULL: the CPU); the buffers marked [dev] live there
  float *h, *c;            // [dev] (L, Bl, H) carried state of this rank's columns
  float *hm, *cm;          // [dev] (L, Bm, H) one micro-batch's (accumulate > 1)
  // A step's tokens, staged during the step before (see prefetch): each micro-batch's
  // (bptt + 1, Bm) columns gathered, one after the other; the tags are the steps held.
  Stage tokens;
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

static const char *rule(char ch) {
  static char line[90];
  memset(line, ch, 89);
  line[89] = 0;
  return line;
}

// ---- setup: reads the corpus, builds the model; fails before any work on a bad job or file.

static void lm_setup(Trainer *t, void *task) {
  Lm *s = task;
  const Config *cfg = &t->cfg;
  const char *path = config_str(cfg, "data");
  s->B = (int)config_int(cfg, "batch");
  s->Bm = trainer_micro_batch(t, s->B, "training columns");
  lm_columns(s->B, t->comm.size, t->comm.rank, &s->c0, &s->c1);
  s->Bl = s->c1 - s->c0;
  s->bptt = (int)config_int(cfg, "bptt");
  s->log_interval = config_int(cfg, "log_interval");
  s->clip = config_float(cfg, "clip");
  s->decay = config_float(cfg, "lr_decay");
  s->sgd_cfg = (SgdConfig){.lr = config_float(cfg, "lr")};
  s->best_val = INFINITY;
  s->t_epoch = s->t_log = now_s();  // an epoch's end may come first (resumed at its last step)
  H5File f;
  char err[GENET_ERR_MAX];
  if (h5safe_open(&f, path, err, sizeof err) || vocab_read(&f, &s->vocab, err, sizeof err))
    trainer_fail(t, "data = %s: %s", path, err);
  LmConfig mc;
  lm_config_from(cfg, s->vocab.n, &mc);
  if (lm_config_check(&mc, err, sizeof err)) trainer_fail(t, "%s", err);
  int eb = (int)config_int(cfg, "eval_batch"), e0, e1;
  lm_columns(eb, t->comm.size, t->comm.rank, &e0, &e1);
  if (lm_read_split(&f, "train", s->B, s->c0, s->c1, mc.ntoken, &s->train, err, sizeof err) ||
      lm_read_split(&f, "valid", eb, e0, e1, mc.ntoken, &s->valid, err, sizeof err) ||
      lm_read_split(&f, "test", eb, e0, e1, mc.ntoken, &s->test, err, sizeof err))
    trainer_fail(t, "data = %s: %s", path, err);
  h5_close(&f, err, sizeof err);
  lm_model_build(&s->m, &mc, &t->ctx);
  trainer_add_params(t, &s->m.params);
  sgd_init_for(&s->sgd, &s->m.params, &s->sgd_cfg);
  size_t L = (size_t)mc.nlayers, H = (size_t)mc.nhid;
  s->dev = s->m.params.ctx;
  s->h = ctx_alloc(s->dev, sizeof(float) * L * s->Bl * H);
  s->c = ctx_alloc(s->dev, sizeof(float) * L * s->Bl * H);
  s->gh = xcalloc(L * s->B * H, sizeof(float));
  s->gc = xcalloc(L * s->B * H, sizeof(float));
  if (t->accumulate > 1) {
    s->hm = ctx_alloc(s->dev, sizeof(float) * L * s->Bm * H);
    s->cm = ctx_alloc(s->dev, sizeof(float) * L * s->Bm * H);
  }
  stage_init(&s->tokens, s->dev, sizeof(int32_t) * (size_t)(s->bptt + 1) * s->Bl);
  lm_acts_alloc(&s->a, &s->m, s->bptt, s->Bm);
  t->steps_per_epoch = (s->train.rows - 1 + s->bptt - 1) / s->bptt;
  t->epochs = config_int(cfg, "epochs");
  trainer_log(t, "| data %s: vocabulary %d, train %lld x %d, valid %lld x %d, test %lld x %d "
              "(rows x columns)\n", path, mc.ntoken, (long long)s->train.rows, s->B,
              (long long)s->valid.rows, eb, (long long)s->test.rows, eb);
  trainer_log(t, "| model: %zu parameters (emsize %d, nhid %d, %d layers, %s)\n",
              s->m.params.total, mc.emsize, mc.nhid, mc.nlayers, mc.tied ? "tied" : "untied");
}

static void lm_init(Trainer *t, void *task) {
  Lm *s = task;
  Rng init;
  rng_init(&init, t->seed, 0);
  lm_init_weights(&s->m, &init);
}

// ---- one step: forward, backward, all-reduce, clip, SGD; k micro-batches of the rank's columns

// Columns [col, col + Bm) of the rank's (L, Bl, H) state to or from a micro-batch's (L, Bm, H).
static void state_cols(const Lm *s, float *dst, const float *src, int col, int to_micro) {
  size_t H = (size_t)s->m.cfg.nhid, n = (size_t)s->Bm * H;
  for (size_t l = 0; l < (size_t)s->m.cfg.nlayers; l++) {
    float *whole = (float *)(to_micro ? src : dst) + (l * s->Bl + (size_t)col) * H;
    float *part = (float *)(to_micro ? dst : src) + l * n;
    if (to_micro) ctx_copy(s->dev, part, whole, sizeof(float) * n);
    else ctx_copy(s->dev, whole, part, sizeof(float) * n);
  }
}

// Rows of batch `batch` (T + 1 of them: inputs and the next tokens) of this rank's columns.
static int batch_rows(const Lm *s, int64_t batch) {
  int64_t row = batch * s->bptt;
  return (int)(s->train.rows - 1 - row < s->bptt ? s->train.rows - 1 - row : s->bptt);
}

// The tokens of `step` (batch `batch` of the epoch) into the stage's slot step % 2 and on
// their way to the device: micro-batch k's columns [k Bm, (k + 1) Bm) as (T + 1, Bm).
static void prefetch(Trainer *t, Lm *s, int64_t step, int64_t batch) {
  int slot = (int)(step % STAGE_SLOTS), T = batch_rows(s, batch);
  int32_t *h = stage_host(&s->tokens, slot);
  const int32_t *x = s->train.data + batch * s->bptt * s->Bl;
  size_t micro = (size_t)(T + 1) * s->Bm;
  for (int k = 0; k < t->accumulate; k++)
    for (int r = 0; r <= T; r++)
      memcpy(h + k * micro + (size_t)r * s->Bm, x + (size_t)r * s->Bl + (size_t)k * s->Bm,
             sizeof(int32_t) * s->Bm);
  stage_send(&s->tokens, slot, sizeof(int32_t) * micro * t->accumulate);
  s->tokens.tag[slot] = step;
}

static void lm_step(Trainer *t, void *task) {
  Lm *s = task;
  Params *P = &s->m.params;
  int T = batch_rows(s, t->batch), slot = (int)(t->step % STAGE_SLOTS);
  // Staged by the step before, unless this is an epoch's first step or the run's.
  if (s->tokens.tag[slot] != t->step) prefetch(t, s, t->step, t->batch);
  const int32_t *tokens = stage_use(&s->tokens, slot);
  trainer_grads_zero(t, 0);
  double loss = 0;
  for (int k = 0; k < t->accumulate; k++) {
    const int32_t *x = tokens + (size_t)k * (T + 1) * s->Bm;
    float *h = s->h, *c = s->c;
    int col = k * s->Bm;
    if (t->accumulate > 1) {  // this micro-batch's carried state, gathered
      state_cols(s, s->hm, s->h, col, 1);
      state_cols(s, s->cm, s->c, col, 1);
      h = s->hm;
      c = s->cm;
    }
    const int32_t *y = x + s->Bm;
    lm_acts_set_columns(&s->a, s->B, s->c0 + col);
    Rng rng;
    rng_init(&rng, t->seed, LM_RNG_STREAM(t->step));
    loss += lm_forward(&t->ctx, &s->m, &s->a, x, y, T, h, c, 1, &rng);
    lm_backward(&t->ctx, &s->m, &s->a, x, y, trainer_grad_ready(t, 0, k));
    if (t->accumulate > 1) {
      state_cols(s, s->h, s->hm, col, 0);
      state_cols(s, s->c, s->cm, col, 0);
    }
  }
  trainer_grads_reduce(t, 0);
  if (s->clip > 0) clip_grad_norm(&t->ctx, P->grad, P->total, s->clip);
  sgd_step(&t->ctx, &s->sgd, P->data, P->grad, &s->sgd_cfg);
  // The next step's tokens, copied while the device runs the update. Not past the epoch's end
  // (the trainer may stop there, and evaluation comes first).
  if (t->batch + 1 < t->steps_per_epoch) prefetch(t, s, t->step + 1, t->batch + 1);
  loss = trainer_mean(t, loss / t->accumulate);
  trainer_loss(t, loss);
  s->log_loss += loss;
  s->log_batches++;
  int64_t i = t->batch;  // the reference's batch index
  if (i % s->log_interval == 0 && i > 0) {
    double cur = s->log_loss / s->log_interval, ms = (now_s() - s->t_log) * 1000.0 / (double)s->log_batches;
    trainer_log(t, "| epoch %3lld | %5lld/%5lld batches | lr %.2f | ms/batch %5.2f | loss %5.2f | ppl %8.2f\n",
                (long long)t->epoch + 1, (long long)i, (long long)t->steps_per_epoch, s->sgd_cfg.lr, ms,
                cur, exp(cur));
    runlog_metric(t, "train/loss", cur);
    runlog_metric(t, "train/ppl", exp(cur));
    runlog_metric(t, "train/lr", s->sgd_cfg.lr);
    runlog_metric(t, "speed/ms_per_step", ms);
    runlog_metric(t, "speed/tokens_per_s", 1e3 * s->B * s->bptt / ms);  // B x bptt tokens a step
    s->log_loss = 0;
    s->log_batches = 0;
    s->t_log = now_s();
  }
}

// ---- evaluation: mean loss per token of a split, columns spread over ranks

static double evaluate(Trainer *t, Lm *s, const TokenGrid *g) {
  const LmConfig *c = &s->m.cfg;
  double sum = 0, count = 0;
  if (g->cols > 0) {
    LmActs a;
    lm_acts_alloc(&a, &s->m, s->bptt, g->cols);
    size_t n = (size_t)c->nlayers * g->cols * c->nhid;
    float *h = ctx_alloc(s->dev, sizeof(float) * n), *cc = ctx_alloc(s->dev, sizeof(float) * n);
    int32_t *xd = s->dev ? ctx_alloc(s->dev, sizeof(int32_t) * (size_t)(s->bptt + 1) * g->cols) : NULL;
    for (int64_t row = 0; row < g->rows - 1; row += s->bptt) {
      int T = (int)(g->rows - 1 - row < s->bptt ? g->rows - 1 - row : s->bptt);
      const int32_t *x = g->data + row * g->cols;
      if (xd) {
        ctx_upload(s->dev, xd, x, sizeof(int32_t) * (size_t)(T + 1) * g->cols);
        x = xd;
      }
      const int32_t *y = x + g->cols;
      double loss = lm_forward(&t->ctx, &s->m, &a, x, y, T, h, cc, 0, NULL);
      sum += loss * T * g->cols;
      count += (double)T * g->cols;
    }
    ctx_release(s->dev, h);
    ctx_release(s->dev, cc);
    ctx_release(s->dev, xd);
    lm_acts_free(&a);
  }
  return comm_sum_double(&t->comm, sum) / comm_sum_double(&t->comm, count);
}

// ---- epochs

static void lm_epoch_begin(Trainer *t, void *task) {
  Lm *s = task;
  s->t_epoch = s->t_log = now_s();
  if (t->batch == 0) {  // a new epoch starts from a zero state and loss sum, as the reference
    s->log_loss = 0;
    s->log_batches = 0;
    ctx_zero(s->dev, s->h, sizeof(float) * (size_t)s->m.cfg.nlayers * s->Bl * s->m.cfg.nhid);
    ctx_zero(s->dev, s->c, sizeof(float) * (size_t)s->m.cfg.nlayers * s->Bl * s->m.cfg.nhid);
  }
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

// Validation; best.h5 when it improves, else lr / lr_decay (the reference's annealing).
static void lm_epoch_end(Trainer *t, void *task) {
  Lm *s = task;
  double val = evaluate(t, s, &s->valid);
  trainer_log(t, "%s\n| end of epoch %3lld | time: %5.2fs | valid loss %5.2f | valid ppl %8.2f\n%s\n",
              rule('-'), (long long)t->epoch + 1, now_s() - s->t_epoch, val, exp(val), rule('-'));
  runlog_metric(t, "val/loss", val);
  runlog_metric(t, "val/ppl", exp(val));
  if (val < s->best_val) {
    s->best_val = val;
    trainer_save_named(t, "best.h5", save_weights, s);
  } else {
    s->sgd_cfg.lr /= s->decay;
  }
}

// The test split with the best validation model, as the reference's last lines.
static void lm_end(Trainer *t, void *task) {
  Lm *s = task;
  Params *P = &s->m.params;
  char best[GENET_PATH_MAX + 64], err[GENET_ERR_MAX];
  snprintf(best, sizeof best, "%s/best.h5", t->ckpt_dir);
  H5File f;
  if (h5safe_open(&f, best, err, sizeof err) || params_read(&f, P, P->data, "params", err, sizeof err))
    trainer_fail(t, "best model: %s", err);
  h5_close(&f, err, sizeof err);
  double test_loss = evaluate(t, s, &s->test);
  trainer_log(t, "%s\n| End of training | test loss %5.2f | test ppl %8.2f\n%s\n", rule('='),
              test_loss, exp(test_loss), rule('='));
  runlog_metric(t, "test/loss", test_loss);
  runlog_metric(t, "test/ppl", exp(test_loss));
}

// ---- checkpoint contents (docs/CHECKPOINTS.md)

// The carried state of every column: each rank fills its columns, a sum gathers them.
static void lm_before_save(Trainer *t, void *task) {
  Lm *s = task;
  const LmConfig *c = &s->m.cfg;
  size_t L = (size_t)c->nlayers, H = (size_t)c->nhid, n = L * (size_t)s->B * H;
  memset(s->gh, 0, sizeof(float) * n);
  memset(s->gc, 0, sizeof(float) * n);
  for (size_t l = 0; l < L; l++) {
    ctx_download(s->dev, s->gh + (l * s->B + (size_t)s->c0) * H, s->h + l * s->Bl * H, sizeof(float) * s->Bl * H);
    ctx_download(s->dev, s->gc + (l * s->B + (size_t)s->c0) * H, s->c + l * s->Bl * H, sizeof(float) * s->Bl * H);
  }
  comm_allreduce_sum(&t->comm, s->gh, n);
  comm_allreduce_sum(&t->comm, s->gc, n);
}

static int lm_save(Trainer *t, void *task, H5File *f) {
  Lm *s = task;
  const LmConfig *c = &s->m.cfg;
  int rc = save_weights(f, s);
  rc |= sgd_save(f, &s->sgd, s->sgd_cfg.lr, &s->m.params, "optim");
  rc |= h5_write_scalar_f64(f, "train/best_val_loss", s->best_val);
  rc |= h5_write_scalar_f64(f, "train/log_loss_sum", s->log_loss);
  rc |= h5_write_scalar_i64(f, "train/log_batches", s->log_batches);
  int64_t dims[3] = {c->nlayers, s->B, c->nhid};
  rc |= h5_write_f32(f, "state/h", s->gh, 3, dims);
  rc |= h5_write_f32(f, "state/c", s->gc, 3, dims);
  return rc ? -1 : 0;
}

static int lm_load(Trainer *t, void *task, H5File *f, int version, char *err, size_t errlen) {
  Lm *s = task;
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
  if ((rc = sgd_load(f, &s->sgd, &s->sgd_cfg.lr, &s->m.params, "optim", err, errlen))) return rc;
  if (h5_read_f32(f, "state/h", s->gh, 3, dims, err, errlen) ||
      h5_read_f32(f, "state/c", s->gc, 3, dims, err, errlen) ||
      h5_read_scalar_f64_in(f, "train/best_val_loss", &s->best_val, 0, INFINITY, err, errlen) ||  // inf: none yet
      h5_read_scalar_f64_in(f, "train/log_loss_sum", &s->log_loss, 0, DBL_MAX, err, errlen) ||
      h5_read_scalar_i64_min(f, "train/log_batches", &s->log_batches, 0, err, errlen))
    return -1;
  if (version == 1) t->epoch -= 1;  // version 1 counted the LM's epochs from 1
  size_t H = (size_t)c->nhid;
  for (size_t l = 0; l < (size_t)c->nlayers; l++) {
    ctx_upload(s->dev, s->h + l * s->Bl * H, s->gh + (l * s->B + (size_t)s->c0) * H, sizeof(float) * s->Bl * H);
    ctx_upload(s->dev, s->c + l * s->Bl * H, s->gc + (l * s->B + (size_t)s->c0) * H, sizeof(float) * s->Bl * H);
  }
  if (trainer_key_changed(t, "lr")) {  // the checkpoint's lr is the annealed one
    trainer_log(t, "| lr = %g from the job replaces the checkpoint's lr %g\n", config_float(&t->cfg, "lr"),
                s->sgd_cfg.lr);
    s->sgd_cfg.lr = config_float(&t->cfg, "lr");
  }
  return 0;
}

static int lm_load_weights(Trainer *t, void *task, H5File *f, char *err, size_t errlen) {
  Lm *s = task;
  return params_read(f, &s->m.params, s->m.params.data, "params", err, errlen);
}

static void lm_free(Trainer *t, void *task) {
  Lm *s = task;
  lm_acts_free(&s->a);
  token_grid_free(&s->train);
  token_grid_free(&s->valid);
  token_grid_free(&s->test);
  float *dev[] = {s->h, s->c, s->hm, s->cm};
  for (size_t i = 0; i < sizeof dev / sizeof *dev; i++) ctx_release(s->dev, dev[i]);
  stage_free(&s->tokens);
  free(s->gh);
  free(s->gc);
  sgd_free(&s->sgd);
  vocab_free(&s->vocab);
  lm_model_free(&s->m);
}

const TaskOps lm_task_ops = {
    .name = "lm",
    .best = "val/ppl",
    .keys = lm_task_keys,
    .nkeys = &lm_task_nkeys,
    .size = sizeof(Lm),
    .rng_scheme = "philox4x32-10; weights: stream 0; dropout of step s: stream 1 + s, drawn for the global batch",
    .accumulates = 1,
    .cuda = 1,
    .setup = lm_setup,
    .init = lm_init,
    .load_weights = lm_load_weights,
    .before_save = lm_before_save,
    .save = lm_save,
    .load = lm_load,
    .epoch_begin = lm_epoch_begin,
    .step = lm_step,
    .epoch_end = lm_epoch_end,
    .end = lm_end,
    .free = lm_free,
};
