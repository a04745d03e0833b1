// trainer.c: the one training loop (trainer_run) and what it is made of: logging, stop
// conditions, gradient sets and accumulation, checkpoints and resume. `genet train` (src/cmd/
// train_cmd.c) resolves the job, opens a Trainer and runs the task's TaskOps here.
#include "train/trainer.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "comm/comm_nccl.h"
#include "core/dir.h"
#include "core/file_open.h"
#include "core/util.h"
#include "ops/scale.h"
#include "train/ckpt.h"

const CfgSpec train_shared_keys[] = {
    // task's choices are the registry's names, set by tasks/registry.c (task_shared_keys): one list.
    {"task", CFG_CHOICE, NULL, 0, -1, NULL, "the workload", CFG_RESUME_FIXED},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of every random stream", CFG_RESUME_FIXED},
    {"device", CFG_CHOICE, "auto", 0, -1, "auto|cpu|cuda", "where to run (auto: a GPU if the task has CUDA kernels and one is visible)", CFG_RESUME_APPLIES},
    {"precision", CFG_CHOICE, "tf32", 0, -1, "tf32|fp32", "on a GPU, as PyTorch's defaults: tf32 lets cuDNN convolutions use TF32 tensor cores, GEMMs (cuBLAS) stay FP32; fp32: no TF32 anywhere", CFG_RESUME_APPLIES},
    {"threads", CFG_INT, "0", 0, 1024, NULL, "OpenMP threads per rank (0: the node's cores shared among its ranks, or OMP_NUM_THREADS when set)", CFG_RESUME_APPLIES},
    {"checkpoint_dir", CFG_STRING, "checkpoints", 0, -1, NULL, "where checkpoints are written and found", CFG_RESUME_APPLIES},
    {"checkpoint_every", CFG_INT, "1000", 0, 1e12, NULL, "optimizer steps between checkpoints (0: only at the end and on stop)", CFG_RESUME_APPLIES},
    {"keep_checkpoints", CFG_INT, "3", 1, 1e6, NULL, "how many of the newest checkpoints are kept", CFG_RESUME_APPLIES},
    {"resume", CFG_STRING, "auto", 0, -1, NULL, "auto (latest good checkpoint in checkpoint_dir), never, or a checkpoint path", CFG_RESUME_IGNORED},
    {"max_steps", CFG_INT, "0", 0, 1e15, NULL, "stop after this many optimizer steps in all, with a checkpoint (0: no limit)", CFG_RESUME_APPLIES},
    {"out_dir", CFG_STRING, "out", 0, -1, NULL, "images, logs and metrics", CFG_RESUME_APPLIES},
    {"init_weights", CFG_STRING, "", 0, -1, NULL, "start from the params/ of this HDF5 file (e.g. scripts/torch_to_h5.py output)", CFG_RESUME_IGNORED},
    {"log_all_ranks", CFG_BOOL, "false", 0, -1, NULL, "every rank > 0 also logs, to out_dir/rank<R>.log", CFG_RESUME_APPLIES},
    {"accumulate", CFG_INT, "1", 1, 1 << 16, NULL, "micro-batches per optimizer step (gradient accumulation): each rank runs batch/(ranks x accumulate) samples at a time", CFG_RESUME_APPLIES},
    {"progress_every", CFG_INT, "60", 0, 1e9, NULL, "seconds between plain progress lines when stdout is not a terminal (0: none; on a terminal one line is redrawn in place)", CFG_RESUME_APPLIES},
    {"bucket_mb", CFG_FLOAT, "25", 0.001, 4096, NULL, "gradient all-reduce bucket size in MiB (PyTorch DDP's bucket_cap_mb)", CFG_RESUME_APPLIES},
    {"collective_timeout", CFG_FLOAT, "600", 0, 1e9, NULL, "seconds a rank waits for the others in a collective before the job is ended with an error naming it (0: forever; as torch.distributed's timeout)", CFG_RESUME_APPLIES},
};
const int train_nshared_keys = sizeof train_shared_keys / sizeof *train_shared_keys;

// The stop signals: SIGTERM (a scheduler's stop), SIGINT (Ctrl-C) and SIGUSR1 (Slurm's warning
// before a time limit or preemption: sbatch --signal=USR1@N, or forwarded by the batch script of
// --signal=B:USR1@N, scripts/slurm/). They are blocked in every thread from the start and taken
// between steps (take_stop_signal), never delivered in the middle of a computation: no handler
// runs inside oneDNN, OpenMP, MPI or HDF5, and no system call fails with EINTR. (A handler that
// only set a flag was seen to leave the heap corrupted, 1 run in 6 under load, when the signal
// landed inside an AVX-512 GEMM in this project's VMs.)
static int stop_signal;  // the stop signal taken, 0 while none

static void stop_signal_set(sigset_t *s) {
  sigemptyset(s);
  sigaddset(s, SIGTERM);
  sigaddset(s, SIGINT);
  sigaddset(s, SIGUSR1);
}

void trainer_block_stop_signals(void) {
  sigset_t s;
  stop_signal_set(&s);
  pthread_sigmask(SIG_BLOCK, &s, NULL);  // threads made later (MPI, OpenMP) inherit the mask
}

// Takes a stop signal that is waiting for this process, if any, and remembers the first.
static void take_stop_signal(void) {
  sigset_t all, pending;
  stop_signal_set(&all);
  if (sigpending(&pending) != 0) return;
  const int sigs[] = {SIGTERM, SIGINT, SIGUSR1};
  for (int i = 0; i < 3; i++) {
    if (!sigismember(&pending, sigs[i])) continue;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sigs[i]);
    struct timespec now = {0, 0};
    if (sigtimedwait(&one, NULL, &now) == sigs[i] && !stop_signal) stop_signal = sigs[i];
  }
}

void trainer_log(Trainer *t, const char *fmt, ...) {
  if (!t->log) return;
  runlog_clear_line(t->runlog);  // a line never joins the progress line
  va_list ap;
  va_start(ap, fmt);
  vfprintf(t->log, fmt, ap);
  va_end(ap);
  fflush(t->log);
}

void trainer_fail(Trainer *t, const char *fmt, ...) {
  char msg[GENET_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (t->comm.rank == 0) fprintf(stderr, "genet: %s\n", msg);
  // Every rank found the same problem (the checks before work are deterministic), so each
  // leaves on its own; after work has started comm_abort takes the others down.
  comm_finalize(&t->comm);
  exit(1);
}

int trainer_signalled(void) {
  return stop_signal != 0;
}

// After each optimizer step, on every rank: 1 when the run must stop now (max_steps, or
// SIGTERM/SIGINT on any rank, e.g. Slurm preemption). All ranks agree, so they all write the
// checkpoint and leave at the same step.
static int should_stop(Trainer *t) {
  take_stop_signal();
  int mine = stop_signal != 0;
  int any = comm_sum_double(&t->comm, mine) > 0;
  if (any) stop_signal = stop_signal ? stop_signal : SIGTERM;
  return any || (t->max_steps > 0 && t->step >= t->max_steps);
}

static int checkpoint_due(const Trainer *t) {
  return t->checkpoint_every > 0 && t->step > 0 && t->step % t->checkpoint_every == 0;
}

// ---- gradient sets

GradSync *trainer_gradsync_create(Comm *c, Params *p, size_t bucket_bytes) {
  size_t *off = xmalloc(sizeof(size_t) * (size_t)(p->n ? p->n : 1));
  size_t *num = xmalloc(sizeof(size_t) * (size_t)(p->n ? p->n : 1));
  for (int i = 0; i < p->n; i++) {
    off[i] = p->info[i].offset;
    num[i] = p->info[i].numel;
  }
  // On a GPU, the stream backward runs on: buckets start after its kernels (comm/ddp.h).
  GradBuffer b = {.data = p->data, .grad = p->grad, .total = p->total, .ntensors = p->n,
                  .offset = off, .numel = num, .stream = ctx_stream(p->ctx)};
  GradSync *s = gradsync_create(c, &b, bucket_bytes);
  free(off);
  free(num);
  return s;
}

static void ready_in_sync(void *arg, size_t offset, size_t n) { gradsync_ready_offset(arg, offset, n); }

GradReady trainer_ready_for(GradSync *s) { return (GradReady){ready_in_sync, s}; }

static void sum_over_comm(void *arg, double *buf, size_t n) { comm_allreduce_sum_double(arg, buf, n); }

static void sum_over_nccl(void *arg, double *dev_buf, size_t n, void *stream) {
  comm_nccl_sum_double(arg, dev_buf, n, stream);
}

// Host sums over MPI always (counts); device sums over NCCL where the ranks have it (GPU
// ranks), else ctx_sum_double_device stages them through the host.
void trainer_bind_reduce(Ctx *ctx, Comm *c) {
  int many = c->size > 1, nccl = many && c->kind == COMM_NCCL && c->nccl;
  ctx->reduce = (CtxReduce){.sum_double = many ? sum_over_comm : NULL,
                            .sum_double_device = nccl ? sum_over_nccl : NULL,
                            .arg = c,
                            .ranks = c->size};
}

int trainer_add_params(Trainer *t, Params *p) {
  GENET_ASSERT(t->nsets < TRAINER_MAX_SETS);
  t->set[t->nsets] = p;
  return t->nsets++;
}

int trainer_micro_batch(Trainer *t, int batch, const char *what) {
  int parts = t->comm.size * t->accumulate;
  if (batch % parts && t->accumulate == 1)
    trainer_fail(t, "batch = %d does not divide among %d ranks: use a multiple of %d (%s)", batch,
                 t->comm.size, parts, what);
  if (batch % parts)
    trainer_fail(t, "batch = %d does not divide among %d ranks x accumulate = %d micro-batches: use "
                    "a multiple of %d (%s)", batch, t->comm.size, t->accumulate, parts, what);
  return batch / parts;
}

void trainer_grads_zero(Trainer *t, int set) {
  params_zero_grad(t->set[set]);
  gradsync_begin(t->sync[set]);
}

const GradReady *trainer_grad_ready(Trainer *t, int set, int micro) {
  return micro == t->accumulate - 1 ? &t->ready[set] : NULL;
}

void trainer_grads_reduce(Trainer *t, int set) {
  gradsync_finish(t->sync[set]);
  GradSyncStats st = gradsync_stats(t->sync[set]);
  t->sync_wait_s += st.wait_s;
  t->sync_buckets += st.buckets;
  t->sync_early += st.buckets_early;
  if (set == 0) t->sync_steps++;
  if (t->accumulate > 1)  // the sum of k micro-batch means -> the mean over the batch
    scale_inplace(&t->ctx, t->set[set]->grad, t->set[set]->total, 1.0f / (float)t->accumulate);
}

double trainer_mean(Trainer *t, double v) { return comm_sum_double(&t->comm, v) / t->comm.size; }

static void report_sync(Trainer *t) {
  if (t->comm.size > 1 && t->sync_buckets)
    trainer_log(t, "| all-reduce: %.2f ms waited per step, %lld of %lld buckets started during backward\n",
                1e3 * t->sync_wait_s / (double)(t->sync_steps ? t->sync_steps : 1),
                (long long)t->sync_early, (long long)t->sync_buckets);
  t->sync_wait_s = 0;
  t->sync_buckets = t->sync_early = t->sync_steps = 0;
}

// ---- checkpoints

// Writes meta/ and fn's datasets into w (begun when ok, else err says why not), then commits it
// into the rotation (cw, whose writer w is) or as a file of its own (cw NULL).
static void save_to(Trainer *t, H5SafeWriter *w, CkptWriter *cw, int ok, const char *err,
                    TrainSaveFn fn, void *arg) {
  if (ok && ckpt_write_meta(&w->f, t->step, t->comm.size, t->job_text) == 0 && fn(&w->f, arg) == 0) {
    char e[GENET_ERR_MAX];
    if (cw ? ckpt_commit(cw, t->keep, e, sizeof e) : h5safe_commit(w, e, sizeof e))
      comm_abort(&t->comm, "checkpoint not written: %s", e);
    trainer_log(t, "| checkpoint %s (step %lld)\n", w->final, (long long)t->step);
    if (cw) runlog_checkpoint(t, w->final);
    return;
  }
  if (ok) h5safe_abort(w);
  const char *werr = h5_write_error(&w->f);  // the dataset and HDF5's reason, when a write failed
  comm_abort(&t->comm, "checkpoint not written: %s", !ok ? err : werr ? werr : w->tmp);
}

static void check_finite_params(Trainer *t);

void trainer_save_named(Trainer *t, const char *name, TrainSaveFn fn, void *arg) {
  check_finite_params(t);
  if (t->comm.rank == 0) {
    H5SafeWriter w;
    char err[GENET_ERR_MAX];
    int ok = h5safe_begin(&w, t->ckpt_dir, name, err, sizeof err) == 0;
    save_to(t, &w, NULL, ok, err, fn, arg);
  }
  comm_barrier(&t->comm);
}

typedef struct {
  Trainer *t;
  const TaskOps *ops;
  void *task;
} Run;

// What every checkpoint holds besides meta/: the position, the seed, and the task's part.
static int save_run(H5File *f, void *arg) {
  Run *r = arg;
  Trainer *t = r->t;
  int rc = h5_write_scalar_i64(f, "train/epoch", t->epoch);
  rc |= h5_write_scalar_i64(f, "train/batch", t->batch);
  rc |= h5_write_scalar_i64(f, "rng/seed", (int64_t)t->seed);
  rc |= h5_write_str(f, "rng/scheme", r->ops->rng_scheme);
  rc |= r->ops->save(t, r->task, f);
  return rc ? -1 : 0;
}

void trainer_loss(Trainer *t, double loss) { t->loss = loss; }

// A diverged run (a NaN or inf loss or parameter) stops: its state is worthless, and a
// checkpoint of it would replace the last good one in the rotation (or in best.h5).
static void stop_nonfinite(Trainer *t, const char *what) {
  trainer_fail(t, "step %lld: %s; training stopped, the checkpoints in %s are kept as they were "
                  "(a lower lr may help)", (long long)t->step, what, t->ckpt_dir);
}

static void check_finite_params(Trainer *t) {
  char what[160];
  for (int i = 0; i < t->nsets; i++) {
    const char *bad = params_nonfinite(t->set[i]);
    if (!bad) continue;
    snprintf(what, sizeof what, "parameter %s became non-finite (NaN or inf)", bad);
    stop_nonfinite(t, what);
  }
}

// Rank 0 writes DIR/ckpt_<step>.h5 atomically and rotates; every rank waits for it, so no rank
// exits before the checkpoint is whole. Nothing is written when this position is saved already
// (a periodic checkpoint that falls on the last step).
static void checkpoint(Run *r) {
  Trainer *t = r->t;
  if (t->step == t->saved_step && t->epoch == t->saved_epoch && t->batch == t->saved_batch) return;
  t->saved_step = t->step;
  t->saved_epoch = t->epoch;
  t->saved_batch = t->batch;
  check_finite_params(t);  // every rank holds the same parameters, so every rank stops alike
  if (r->ops->before_save) r->ops->before_save(t, r->task);  // gathers what ranks hold apart
  if (t->comm.rank == 0) {
    CkptWriter w;
    char err[GENET_ERR_MAX];
    int ok = ckpt_begin(&w, t->ckpt_dir, t->step, err, sizeof err) == 0;
    save_to(t, &w.s, &w, ok, err, save_run, r);
  }
  comm_barrier(&t->comm);
  if (r->ops->on_checkpoint) r->ops->on_checkpoint(t, r->task);
}

// Whether a and b name one directory (then one lock covers both: a second flock on it by this
// process would fail).
static int same_dir(const char *a, const char *b) {
  struct stat x, y;
  return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

// Rank 0 owns checkpoint_dir and out_dir; every rank learns whether they are usable, before any
// checkpoint is read (so before up to checkpoint_every steps are lost to a directory that
// cannot be written).
static void claim_dirs(Trainer *t) {
  char err[GENET_ERR_MAX] = "", e[GENET_ERR_MAX - 64];  // err = a short prefix + e
  int bad = 0;
  if (t->comm.rank == 0) {
    if (dir_check_writable(t->ckpt_dir, e, sizeof e)) {
      snprintf(err, sizeof err, "checkpoint_dir: %s", e);
      bad = 1;
    } else if ((t->lock_fd = ckpt_lock_dir(t->ckpt_dir, "checkpoint_dir", t->job_path, e, sizeof e)) < 0) {
      snprintf(err, sizeof err, "%s", e);
      bad = 1;
    } else if (dir_check_writable(t->out_dir, e, sizeof e)) {
      snprintf(err, sizeof err, "out_dir: %s", e);
      bad = 1;
    } else if (!same_dir(t->ckpt_dir, t->out_dir) &&  // two runs must not interleave metrics
               (t->out_lock_fd = ckpt_lock_dir(t->out_dir, "out_dir", t->job_path, e, sizeof e)) < 0) {
      snprintf(err, sizeof err, "%s", e);
      bad = 1;
    } else {
      int n = ckpt_remove_stale_tmp(t->ckpt_dir);
      if (n) trainer_log(t, "| removed %d temporary file%s of an interrupted write from %s\n", n,
                         n == 1 ? "" : "s", t->ckpt_dir);
    }
  }
  if (comm_sum_double(&t->comm, bad) > 0) trainer_fail(t, "%s", err);
}

// Reads the checkpoint's job into t->resumed. Returns -3 with err (the whole line) when a key
// that cannot change in a resumed run (CFG_RESUME_FIXED) differs, or when the job cannot be read
// or names no task (its keys could not be checked); 0 otherwise.
static int compare_job(Trainer *t, const char *path, const char *job, char *err, size_t errlen) {
  config_free(&t->resumed);
  config_init_like(&t->resumed, &t->cfg);
  t->resumed.ignore_unknown = 1;  // keys of another genet version
  char e[300] = "it has no 'task' line";  // every job genet writes has one
  int bad = config_load_text(&t->resumed, job, "meta/job", e, sizeof e);
  for (int i = 0; i < t->cfg.nspec && !bad; i++)
    if (!strcmp(t->cfg.spec[i]->key, "task") && !t->resumed.value[i]) bad = 1;
  if (bad) {
    snprintf(err, errlen, "cannot resume from %s: its meta/job cannot be read (%s), so the keys that "
             "cannot change in a resumed run cannot be checked; use another checkpoint_dir", path, e);
    config_free(&t->resumed);
    memset(&t->resumed, 0, sizeof t->resumed);
    return -3;
  }
  char diff[GENET_ERR_MAX] = "";
  size_t k = 0;
  int first = -1;
  for (int i = 0; i < t->cfg.nspec; i++) {
    const char *was = t->resumed.value[i], *now = t->cfg.value[i];
    if (t->cfg.spec[i]->on_resume != CFG_RESUME_FIXED || !was || config_same_value(&t->cfg, i, was, now))
      continue;
    if (first < 0) first = i;
    if (k < sizeof diff)
      k += (size_t)snprintf(diff + k, sizeof diff - k, "%s%s = %s (checkpoint: %s)", k ? ", " : "",
                            t->cfg.spec[i]->key, now, was);
  }
  if (first < 0) return 0;
  snprintf(err, errlen, "cannot resume from %s: %s; these keys cannot change in a resumed run. "
           "To start afresh with %s = %s, use another checkpoint_dir (or move its checkpoints away)",
           path, diff, t->cfg.spec[first]->key, t->cfg.value[first]);
  return -3;
}

// One line per key that differs from the resumed checkpoint's job, saying what happens to it.
static void report_changed_keys(Trainer *t) {
  for (int i = 0; i < t->resumed.nspec; i++) {
    const CfgSpec *sp = t->cfg.spec[i];
    const char *was = t->resumed.value[i], *now = t->cfg.value[i];
    if (!strcmp(sp->key, "resume") || !was || config_same_value(&t->cfg, i, was, now)) continue;
    if (sp->on_resume == CFG_RESUME_IGNORED)
      trainer_log(t, "| changed since the checkpoint: %s = %s (was %s): not used when resuming\n",
                  sp->key, now[0] ? now : "''", was[0] ? was : "''");
    else
      trainer_log(t, "| changed since the checkpoint: %s = %s (was %s): used from step %lld on\n",
                  sp->key, now[0] ? now : "''", was[0] ? was : "''", (long long)t->step + 1);
  }
}

int trainer_key_changed(const Trainer *t, const char *key) {
  for (int i = 0; i < t->resumed.nspec; i++)
    if (!strcmp(t->resumed.spec[i]->key, key))
      return t->resumed.value[i] && !config_same_value(&t->cfg, i, t->resumed.value[i], t->cfg.value[i]);
  return 0;
}

// NULL while the run has steps left; else why it is over.
static const char *finished(Trainer *t, const TaskOps *ops, void *task) {
  if (t->steps_per_epoch > 0 && t->batch >= t->steps_per_epoch) return NULL;  // its end is due
  if (t->steps_per_epoch > 0 && t->epoch >= t->epochs) return "all epochs are done; raise epochs to train further";
  return ops->finished ? ops->finished(t, task) : NULL;
}

// 0 loaded, -1 damaged (err), -2 does not fit the job (err), -3 a key that cannot change did
// (err is the whole line).
static int load_one(Run *r, const char *path, char *err, size_t errlen) {
  Trainer *t = r->t;
  H5File f;
  if (h5safe_open(&f, path, err, errlen)) return -1;
  int64_t step, seed = 0, epoch = 0, batch = 0;
  int ws, version;
  char *job = NULL;
  int rc = ckpt_read_meta(&f, &step, &ws, &version, err, errlen);  // -3: a newer genet's
  if (!rc && h5_read_str(&f, "meta/job", &job, 1 << 20, err, errlen)) rc = -1;
  if (!rc) rc = compare_job(t, path, job, err, errlen);
  if (!rc && h5_read_scalar_i64(&f, "rng/seed", &seed, err, errlen)) rc = -1;
  if (!rc && (uint64_t)seed != t->seed) {
    snprintf(err, errlen, "cannot resume from %s: seed = %llu (checkpoint: %lld); the seed cannot "
             "change in a resumed run. To start afresh with seed = %llu, use another checkpoint_dir "
             "(or move its checkpoints away)", path, (unsigned long long)t->seed, (long long)seed,
             (unsigned long long)t->seed);
    rc = -3;
  }
  // Version 1 style checkpoints have no epoch position: one endless epoch, batch = step.
  if (!rc && version == 1 && !h5_exists(&f, "train/epoch")) {
    epoch = 0;
    batch = step;
  } else if (!rc && (h5_read_scalar_i64(&f, "train/epoch", &epoch, err, errlen) ||
                     h5_read_scalar_i64(&f, "train/batch", &batch, err, errlen))) {
    rc = -1;
  }
  if (!rc) {
    t->step = step;
    t->epoch = epoch;
    t->batch = batch;
    rc = r->ops->load(t, r->task, &f, version, err, errlen);
  }
  free(job);
  char e2[GENET_ERR_MAX];
  h5_close(&f, e2, sizeof e2);
  if (rc == 0) {
    runlog_checkpoint(t, path);  // the last checkpoint until this run writes one
    if (t->epoch < 0 || t->batch < 0 || (t->steps_per_epoch && t->batch > t->steps_per_epoch)) {
      snprintf(err, errlen, "%s: train/epoch %lld, train/batch %lld out of range (%lld steps an "
               "epoch)", path, (long long)t->epoch, (long long)t->batch, (long long)t->steps_per_epoch);
      return -2;
    }
    trainer_log(t, "| resumed from %s: step %lld, written by %d rank%s (epoch %lld, batch %lld)\n",
                path, (long long)step, ws, ws == 1 ? "" : "s", (long long)t->epoch, (long long)t->batch);
    report_changed_keys(t);
  }
  return rc;
}

// resume = auto: the newest good checkpoint in checkpoint_dir, if any; never: none; PATH: that
// file (an error if it cannot be used). Returns 1 when a checkpoint was loaded. Before reading
// anything, rank 0 checks the directories and takes checkpoint_dir's lock (claim_dirs).
static int resume(Run *r) {
  Trainer *t = r->t;
  claim_dirs(t);
  const char *how = config_str(&t->cfg, "resume");
  char err[GENET_ERR_MAX];
  char **paths;
  int n = ckpt_list(t->ckpt_dir, &paths);
  if (!strcmp(how, "never")) {
    ckpt_list_free(paths, n);
    // Starting over among another run's checkpoints would interleave the two runs' files and
    // let the rotation delete the new ones: refuse instead of losing either.
    if (n > 0)
      trainer_fail(t, "resume = never, but checkpoint_dir %s already holds checkpoints (%d): "
                      "choose another checkpoint_dir or move them away", t->ckpt_dir, n);
    return 0;
  }
  if (strcmp(how, "auto") != 0) {
    ckpt_list_free(paths, n);
    int rc = load_one(r, how, err, sizeof err);
    if (rc == -3) trainer_fail(t, "%s", err);
    if (rc) trainer_fail(t, "resume = %s: %s", how, err);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    int rc = load_one(r, paths[i], err, sizeof err);
    if (rc == 0) {
      ckpt_list_free(paths, n);
      return 1;
    }
    if (rc == -3) {
      ckpt_list_free(paths, n);
      trainer_fail(t, "%s", err);
    }
    if (rc == -2) {
      ckpt_list_free(paths, n);
      trainer_fail(t, "cannot resume: %s (a checkpoint of another job? use another "
                      "checkpoint_dir or resume = never there)", err);
    }
    trainer_log(t, "| skipping damaged checkpoint: %s\n", err);
  }
  ckpt_list_free(paths, n);
  if (n > 0)
    trainer_fail(t, "no usable checkpoint among the %d in %s (all damaged, see above): move them "
                    "away to start over", n, t->ckpt_dir);
  return 0;
}

static void load_init_weights(Run *r, const char *path) {
  Trainer *t = r->t;
  H5File f;
  char err[GENET_ERR_MAX], e2[GENET_ERR_MAX];
  int rc = h5safe_open(&f, path, err, sizeof err);
  if (!rc) rc = r->ops->load_weights(t, r->task, &f, err, sizeof err);
  if (f.id >= 0) h5_close(&f, e2, sizeof e2);
  if (rc) trainer_fail(t, "init_weights = %s: %s", path, err);
  trainer_log(t, "| initial weights from %s\n", path);
}

// ---- the time the steps take: ops->step only (no checkpoints, epoch ends or validation),
// waiting for the device at both ends, so a GPU's queued work is counted in the step that
// queued it. One line at the end of a run or stop (scripts/bench/gpu_bench.py reads it).

enum { TIMING_WARMUP = 2 };  // steps left out of the mean (first primitives, autotuning)

typedef struct {
  long long n;                  // steps timed in this run
  double total;                 // their seconds
  double first[TIMING_WARMUP];  // the first steps' seconds
} StepTimes;

static void timing_add(StepTimes *st, double s) {
  if (st->n < TIMING_WARMUP) st->first[st->n] = s;
  st->n++;
  st->total += s;
}

static void timing_report(Trainer *t, const StepTimes *st) {
  if (st->n == 0) return;
  int w = st->n > TIMING_WARMUP ? TIMING_WARMUP : (int)st->n - 1;
  double warm = 0;
  for (int i = 0; i < w; i++) warm += st->first[i];
  trainer_log(t, "| timing: %lld steps in %.3f s, %.3f ms/step after the first %d (warm-up)\n", st->n,
              st->total, 1e3 * (st->total - warm) / (double)(st->n - w), w);
}

// ---- the loop

int trainer_run(Trainer *t, const TaskOps *ops) {
  Run r = {t, ops, xcalloc(1, ops->size)};
  if (t->accumulate > 1 && !ops->accumulates)
    trainer_fail(t, "accumulate = %d: task = %s has no batch to split into micro-batches; use "
                    "accumulate = 1", t->accumulate, t->task);
  ops->setup(t, r.task);
  int resumed = resume(&r);
  if (!resumed) {
    ops->init(t, r.task);
    const char *iw = config_str(&t->cfg, "init_weights");
    if (iw[0]) {
      if (!ops->load_weights) trainer_fail(t, "init_weights: task = %s has no weights to load", t->task);
      load_init_weights(&r, iw);
    }
  }
  const char *why = finished(t, ops, r.task);
  int stopped = 0;
  const char *status = "finished";
  runlog_start(t, ops->best, resumed);
  if (t->max_steps > 0 && t->step >= t->max_steps) {
    status = "max_steps";
    trainer_log(t, "| nothing to do: the checkpoint is at step %lld and max_steps = %lld; raise "
                "max_steps (0: no limit) to train further\n", (long long)t->step, (long long)t->max_steps);
    goto done;
  }
  if (why) {
    trainer_log(t, "| nothing to do: the checkpoint at step %lld is the end of this run (%s)\n",
                (long long)t->step, why);
    goto done;
  }
  // Every rank starts from rank 0's parameters (they agree already; this makes it so).
  size_t bucket = (size_t)(config_float(&t->cfg, "bucket_mb") * (1 << 20));
  for (int i = 0; i < t->nsets; i++) {
    t->sync[i] = trainer_gradsync_create(&t->comm, t->set[i], bucket);
    t->ready[i] = trainer_ready_for(t->sync[i]);
    gradsync_broadcast_params(t->sync[i]);
  }
  int epoch_started = 0;
  StepTimes times = {0};
  for (;;) {
    if (t->steps_per_epoch > 0 && t->batch >= t->steps_per_epoch) {
      report_sync(t);
      if (ops->epoch_end) ops->epoch_end(t, r.task);
      t->epoch++;
      t->batch = 0;
      epoch_started = 0;
    }
    if (finished(t, ops, r.task)) break;
    if (!epoch_started && ops->epoch_begin) ops->epoch_begin(t, r.task);
    epoch_started = 1;
    ctx_sync(&t->ctx);
    double t0 = now_s();
    runlog_step_begin(t);
    t->loss = 0;
    ops->step(t, r.task);
    ctx_sync(&t->ctx);
    timing_add(&times, now_s() - t0);
    t->step++;
    t->batch++;
    if (!isfinite(t->loss)) {
      char what[80];
      snprintf(what, sizeof what, "the loss is %g", t->loss);
      stop_nonfinite(t, what);
    }
    runlog_step_end(t);
    int stop = should_stop(t);
    if (stop || checkpoint_due(t)) checkpoint(&r);
    if (stop) {
      trainer_log(t, "| stopped at step %lld (%s): resume with the same job\n", (long long)t->step,
                  trainer_signalled() ? "signal" : "max_steps");
      stopped = 1;
      status = trainer_signalled() ? "stopped" : "max_steps";
      break;
    }
  }
  timing_report(t, &times);
  if (!stopped) {
    checkpoint(&r);  // the end state, so a later run with more epochs continues from here
    if (ops->end) ops->end(t, r.task);
  }
done:
  runlog_end(t, status);
  for (int i = 0; i < t->nsets; i++) gradsync_free(t->sync[i]);
  ops->free(t, r.task);
  free(r.task);
  return stopped && trainer_signalled() ? GENET_EXIT_STOPPED : 0;
}

// ---- the Trainer of a resolved job

// device = cpu | cuda | auto (CUDA when genet has it, a GPU is visible and the task has a CUDA
// step). On CUDA the local rank picks its GPU (comm_pick_device: per-rank devices under Slurm's
// --gpus-per-task, else the node's GPUs shared in rank order). Returns the device and its index.
static Device pick_device(Trainer *t, const TaskOps *ops, int *index) {
  const char *want = config_str(&t->cfg, "device");
  *index = 0;
  if (!strcmp(want, "cpu")) return DEV_CPU;
  char why[256] = "", e[200] = "";
  int n = ctx_cuda_devices(e, sizeof e);
  if (n == 0) snprintf(why, sizeof why, "no usable CUDA device (%s)", e);
  if (n > 0 && !ops->cuda)
    snprintf(why, sizeof why, "task %s has no CUDA step yet in this genet (the CUDA backend's ops "
             "are arriving op by op)", ops->name);
  if (n == 0 || !ops->cuda) {
    if (!strcmp(want, "auto")) return DEV_CPU;
    trainer_fail(t, "device = cuda: %s; use device = cpu or auto", why);
  }
  *index = comm_pick_device(&t->comm, n);
  return DEV_CUDA;
}

void trainer_open(Trainer *t, const char *job_path, const TaskOps *ops) {
  const char *task = ops->name;
  t->task = task;
  t->job_path = job_path;
  t->lock_fd = t->out_lock_fd = -1;
  t->saved_step = t->saved_epoch = t->saved_batch = -1;
  t->seed = (uint64_t)config_int(&t->cfg, "seed");
  t->max_steps = config_int(&t->cfg, "max_steps");
  t->checkpoint_every = config_int(&t->cfg, "checkpoint_every");
  t->keep = (int)config_int(&t->cfg, "keep_checkpoints");
  t->accumulate = (int)config_int(&t->cfg, "accumulate");
  t->ckpt_dir = config_str(&t->cfg, "checkpoint_dir");
  t->out_dir = config_str(&t->cfg, "out_dir");
  t->job_text = config_text(&t->cfg);
  comm_set_timeout(&t->comm, config_float(&t->cfg, "collective_timeout"));
  if (t->comm.rank == 0) {
    t->log = stdout;
  } else if (config_bool(&t->cfg, "log_all_ranks")) {
    char path[GENET_PATH_MAX + 64], err[GENET_ERR_MAX];
    snprintf(path, sizeof path, "%s/rank%d.log", t->out_dir, t->comm.rank);
    if (dir_make(t->out_dir, err, sizeof err) || !(t->log = file_fopen_new(path, err, sizeof err)))
      comm_abort(&t->comm, "out_dir = %s: %s", t->out_dir, err);
  }
  int cuda_index;
  Device dev = pick_device(t, ops, &cuda_index);
  // Ranks on one node share its cores: several ranks each spinning up every core's worth of
  // OpenMP threads wait on each other's barriers (measured: a 6 s test took 60 s).
  int threads = (int)config_int(&t->cfg, "threads");
  if (threads == 0 && !getenv("OMP_NUM_THREADS") && t->comm.local_size > 1) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores / t->comm.local_size > 1 ? (int)(cores / t->comm.local_size) : 1;
  }
  ctx_init_on(&t->ctx, dev, cuda_index, threads);
  ctx_set_tf32(&t->ctx, !strcmp(config_str(&t->cfg, "precision"), "tf32"));
  ctx_set_timeout(&t->ctx, config_float(&t->cfg, "collective_timeout"));
  // GPU ranks average their gradients over NCCL (one GPU needs no communicator).
  if (dev == DEV_CUDA && t->comm.size > 1) comm_use_nccl(&t->comm, cuda_index);
  trainer_bind_reduce(&t->ctx, &t->comm);
  trainer_block_stop_signals();  // train_main blocked them already; a caller of its own may not
  char where[64];
  if (dev == DEV_CUDA) snprintf(where, sizeof where, "cuda:%d, %s", cuda_index, config_str(&t->cfg, "precision"));
  else snprintf(where, sizeof where, "cpu");
  trainer_log(t, "# genet train %s: task %s, %d rank%s, %d threads each, device %s\n", job_path,
              t->task, t->comm.size, t->comm.size == 1 ? "" : "s", t->ctx.nthreads, where);
  // Under Slurm, which job this is and how often it was requeued (unset on the first run).
  const char *job = getenv("SLURM_JOB_ID"), *restarts = getenv("SLURM_RESTART_COUNT");
  if (job)
    trainer_log(t, "# slurm: SLURM_JOB_ID=%s%s%s\n", job, restarts ? " SLURM_RESTART_COUNT=" : "",
                restarts ? restarts : " (not requeued)");
  trainer_log(t, "# resolved job:\n%s", t->job_text);
}

void trainer_close(Trainer *t) {
  if (t->lock_fd >= 0) close(t->lock_fd);
  if (t->out_lock_fd >= 0) close(t->out_lock_fd);
  config_free(&t->resumed);
  if (t->log && t->log != stdout) fclose(t->log);
  ctx_free(&t->ctx);
  free(t->job_text);
}
