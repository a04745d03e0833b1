// train.c: `genet train`: the job is resolved in two passes (the shared keys find the task,
// then the task's own table checks every key), the task's loop runs, and the services every
// loop shares live here: logging, stop conditions, checkpoints and resume.
#include "train/train.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/ckpt.h"
#include "tasks/dcgan_task.h"
#include "tasks/lm_task.h"
#include "tasks/style_task.h"
#include "core/util.h"

const CfgSpec train_shared_keys[] = {
    {"task", CFG_CHOICE, NULL, 0, -1, "lm|dcgan|style", "the workload", CFG_RESUME_FIXED},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of every random stream", CFG_RESUME_FIXED},
    {"device", CFG_CHOICE, "auto", 0, -1, "auto|cpu|cuda", "where to run (auto: a GPU if the task has CUDA kernels and one is visible)", CFG_RESUME_APPLIES},
    {"threads", CFG_INT, "0", 0, 1024, NULL, "OpenMP threads per rank (0: the node's cores shared among its ranks, or OMP_NUM_THREADS when set)", CFG_RESUME_APPLIES},
    {"checkpoint_dir", CFG_STRING, "checkpoints", 0, -1, NULL, "where checkpoints are written and found", CFG_RESUME_APPLIES},
    {"checkpoint_every", CFG_INT, "1000", 0, 1e12, NULL, "optimizer steps between checkpoints (0: only at the end and on stop)", CFG_RESUME_APPLIES},
    {"keep_checkpoints", CFG_INT, "3", 1, 1e6, NULL, "how many of the newest checkpoints are kept", CFG_RESUME_APPLIES},
    {"resume", CFG_STRING, "auto", 0, -1, NULL, "auto (latest good checkpoint in checkpoint_dir), never, or a checkpoint path", CFG_RESUME_IGNORED},
    {"max_steps", CFG_INT, "0", 0, 1e15, NULL, "stop after this many optimizer steps in all, with a checkpoint (0: no limit)", CFG_RESUME_APPLIES},
    {"out_dir", CFG_STRING, "out", 0, -1, NULL, "images, logs and metrics", CFG_RESUME_APPLIES},
    {"init_weights", CFG_STRING, "", 0, -1, NULL, "start from the params/ of this HDF5 file (e.g. scripts/torch_to_h5.py output)", CFG_RESUME_IGNORED},
    {"log_all_ranks", CFG_BOOL, "false", 0, -1, NULL, "every rank > 0 also logs, to out_dir/rank<R>.log", CFG_RESUME_APPLIES},
    {"bucket_mb", CFG_FLOAT, "25", 0.001, 4096, NULL, "gradient all-reduce bucket size in MiB (PyTorch DDP's bucket_cap_mb)", CFG_RESUME_APPLIES},
};
const int train_nshared_keys = sizeof train_shared_keys / sizeof *train_shared_keys;

typedef struct {
  const char *name;
  const CfgSpec *keys;
  const int *nkeys;
  int (*run)(Trainer *t);
} TaskEntry;

static const TaskEntry tasks[] = {
    {"lm", lm_task_keys, &lm_task_nkeys, lm_task_run},
    {"dcgan", dcgan_task_keys, &dcgan_task_nkeys, dcgan_task_run},
    {"style", style_task_keys, &style_task_nkeys, style_task_run},
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

void trainer_log(Trainer *t, const char *fmt, ...) {
  if (!t->log) return;
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

int trainer_should_stop(Trainer *t) {
  int mine = stop_signal != 0;
  int any = comm_sum_double(&t->comm, mine) > 0;
  if (any) stop_signal = stop_signal ? stop_signal : SIGTERM;
  return any || (t->max_steps > 0 && t->step >= t->max_steps);
}

int trainer_signalled(const Trainer *t) {
  (void)t;
  return stop_signal != 0;
}

int trainer_checkpoint_due(const Trainer *t) {
  return t->checkpoint_every > 0 && t->step > 0 && t->step % t->checkpoint_every == 0;
}

static void save_to(Trainer *t, CkptWriter *w, int ok, const char *err, TrainSaveFn fn,
                    void *arg) {
  if (ok && ckpt_write_meta(&w->f, t->step, t->comm.size, t->job_text) == 0 && fn(&w->f, arg) == 0) {
    char e[GENET_ERR_MAX];
    if (ckpt_commit(w, t->keep, e, sizeof e)) comm_abort(&t->comm, "checkpoint not written: %s", e);
    trainer_log(t, "| checkpoint %s (step %lld)\n", w->final, (long long)t->step);
    return;
  }
  if (ok) ckpt_abort(w);
  comm_abort(&t->comm, "checkpoint not written: %s", ok ? w->tmp : err);
}

void trainer_save(Trainer *t, TrainSaveFn fn, void *arg) {
  if (t->step == t->saved_step) return;
  t->saved_step = t->step;
  if (t->comm.rank == 0) {
    CkptWriter w;
    char err[GENET_ERR_MAX];
    int ok = ckpt_begin(&w, t->ckpt_dir, t->step, err, sizeof err) == 0;
    save_to(t, &w, ok, err, fn, arg);
  }
  comm_barrier(&t->comm);
}

void trainer_save_named(Trainer *t, const char *name, TrainSaveFn fn, void *arg) {
  if (t->comm.rank == 0) {
    CkptWriter w;
    char err[GENET_ERR_MAX];
    int ok = ckpt_begin_named(&w, t->ckpt_dir, name, err, sizeof err) == 0;
    save_to(t, &w, ok, err, fn, arg);
  }
  comm_barrier(&t->comm);
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
    } else if ((t->lock_fd = ckpt_lock_dir(t->ckpt_dir, t->job_path, e, sizeof e)) < 0) {
      snprintf(err, sizeof err, "%s", e);
      bad = 1;
    } else if (dir_check_writable(t->out_dir, e, sizeof e)) {
      snprintf(err, sizeof err, "out_dir: %s", e);
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
// that cannot change in a resumed run (CFG_RESUME_FIXED) differs; 0 otherwise (also when the job is unreadable:
// then nothing is compared).
static int compare_job(Trainer *t, const char *path, const char *job, char *err, size_t errlen) {
  config_free(&t->resumed);
  config_init_like(&t->resumed, &t->cfg);
  t->resumed.ignore_unknown = 1;  // keys of another genet version
  char e[300];
  if (config_load_text(&t->resumed, job, "meta/job", e, sizeof e)) {
    trainer_log(t, "| %s: its job is not comparable (%s); keys are not checked\n", path, e);
    config_free(&t->resumed);
    memset(&t->resumed, 0, sizeof t->resumed);
    return 0;
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

int trainer_nothing_to_do(Trainer *t, const char *finished_why) {
  if (t->max_steps > 0 && t->step >= t->max_steps) {
    trainer_log(t, "| nothing to do: the checkpoint is at step %lld and max_steps = %lld; raise "
                "max_steps (0: no limit) to train further\n", (long long)t->step, (long long)t->max_steps);
    return 1;
  }
  if (finished_why) {
    trainer_log(t, "| nothing to do: the checkpoint at step %lld is the end of this run (%s)\n",
                (long long)t->step, finished_why);
    return 1;
  }
  return 0;
}

// 0 loaded, -1 damaged (err), -2 does not fit the job (err), -3 a key that cannot change did
// (err is the whole line).
static int load_one(Trainer *t, const char *path, TrainLoadFn fn, void *arg, char *err,
                    size_t errlen) {
  H5File f;
  if (ckpt_open(&f, path, err, errlen)) return -1;
  int64_t step;
  int ws;
  char *job = NULL;
  int rc = ckpt_read_meta(&f, &step, &ws, err, errlen) ||
                   h5_read_str(&f, "meta/job", &job, 1 << 20, err, errlen) ? -1 : 0;
  if (!rc) rc = compare_job(t, path, job, err, errlen);
  if (!rc) rc = fn(&f, arg, err, errlen);
  free(job);
  char e2[GENET_ERR_MAX];
  h5_close(&f, e2, sizeof e2);
  if (rc == 0) {
    t->step = step;
    trainer_log(t, "| resumed from %s: step %lld, written by %d rank%s\n", path, (long long)step,
                ws, ws == 1 ? "" : "s");
    report_changed_keys(t);
  }
  return rc;
}

int trainer_resume(Trainer *t, TrainLoadFn fn, void *arg) {
  claim_dirs(t);
  const char *r = config_str(&t->cfg, "resume");
  char err[GENET_ERR_MAX];
  char **paths;
  int n = ckpt_list(t->ckpt_dir, &paths);
  if (!strcmp(r, "never")) {
    ckpt_list_free(paths, n);
    // Starting over among another run's checkpoints would interleave the two runs' files and
    // let the rotation delete the new ones: refuse instead of losing either.
    if (n > 0)
      trainer_fail(t, "resume = never, but checkpoint_dir %s already holds checkpoints (%d): "
                      "choose another checkpoint_dir or move them away", t->ckpt_dir, n);
    return 0;
  }
  if (strcmp(r, "auto") != 0) {
    ckpt_list_free(paths, n);
    int rc = load_one(t, r, fn, arg, err, sizeof err);
    if (rc == -3) trainer_fail(t, "%s", err);
    if (rc) trainer_fail(t, "resume = %s: %s", r, err);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    int rc = load_one(t, paths[i], fn, arg, err, sizeof err);
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

static int usage(void) {
  fprintf(stderr, "genet: usage: genet train JOB [key=value ...]   (genet train --help lists the keys)\n");
  return 2;
}

static void print_keys(const CfgSpec *k, int n) {
  for (int i = 0; i < n; i++) {
    printf("  %-18s %s", k[i].key, k[i].help);
    if (k[i].choices) printf(" (%s)", k[i].choices);
    if (!k[i].def) printf("; required\n");
    else printf("; default %s\n", k[i].def[0] ? k[i].def : "empty");
  }
}

static int help(void) {
  printf("usage: genet train JOB [key=value ...]\n\nThe job file holds `key = value` lines; "
         "key=value arguments override it.\n\nkeys of every task:\n");
  print_keys(train_shared_keys, train_nshared_keys);
  for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++) {
    printf("\ntask = %s:\n", tasks[i].name);
    print_keys(tasks[i].keys, *tasks[i].nkeys);
  }
  return 0;
}

// Resolves the job; returns the task or NULL with err.
static const TaskEntry *resolve(Config *cfg, const char *job, int nover, char **over, char *err,
                                size_t errlen) {
  const CfgSpec *const shared[] = {train_shared_keys};
  const int nshared[] = {train_nshared_keys};
  config_init(cfg, shared, nshared, 1);
  cfg->ignore_unknown = 1;  // first pass: only the task matters
  if (config_load_file(cfg, job, err, errlen) || config_apply_overrides(cfg, nover, over, err, errlen))
    return NULL;
  if (config_check_required(cfg, err, errlen)) {
    snprintf(err, errlen, "%s: no `task = ...` line (one of lm, dcgan, style)", job);
    return NULL;
  }
  const char *name = config_str(cfg, "task");
  const TaskEntry *te = NULL;
  for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++)
    if (!strcmp(tasks[i].name, name)) te = &tasks[i];
  if (!te) {
    snprintf(err, errlen, "%s: task = %s is not in this genet yet (it trains: lm, dcgan, style)", job, name);
    return NULL;
  }
  config_free(cfg);
  const CfgSpec *const both[] = {train_shared_keys, te->keys};
  const int nboth[] = {train_nshared_keys, *te->nkeys};
  config_init(cfg, both, nboth, 2);
  if (config_load_file(cfg, job, err, errlen) || config_apply_overrides(cfg, nover, over, err, errlen) ||
      config_check_required(cfg, err, errlen))
    return NULL;
  return te;
}

int train_main(int argc, char **argv) {
  // argv[0] = "train"
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return help();
  if (argc < 2 || argv[1][0] == '-') return usage();
  Trainer t;
  memset(&t, 0, sizeof t);
  comm_init(&t.comm, &argc, &argv);
  char err[GENET_ERR_MAX];
  const TaskEntry *te = resolve(&t.cfg, argv[1], argc - 2, argv + 2, err, sizeof err);
  if (!te) {
    if (t.comm.rank == 0) fprintf(stderr, "genet: %s\n", err);
    config_free(&t.cfg);
    comm_finalize(&t.comm);
    return 2;
  }
  t.task = te->name;
  t.job_path = argv[1];
  t.lock_fd = -1;
  t.saved_step = -1;
  t.seed = (uint64_t)config_int(&t.cfg, "seed");
  t.max_steps = config_int(&t.cfg, "max_steps");
  t.checkpoint_every = config_int(&t.cfg, "checkpoint_every");
  t.keep = (int)config_int(&t.cfg, "keep_checkpoints");
  t.ckpt_dir = config_str(&t.cfg, "checkpoint_dir");
  t.out_dir = config_str(&t.cfg, "out_dir");
  t.job_text = config_text(&t.cfg);
  if (t.comm.rank == 0) {
    t.log = stdout;
  } else if (config_bool(&t.cfg, "log_all_ranks")) {
    char path[GENET_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/rank%d.log", t.out_dir, t.comm.rank);
    if (make_dirs(t.out_dir, err, sizeof err) || !(t.log = fopen(path, "w")))
      comm_abort(&t.comm, "out_dir = %s: cannot write %s", t.out_dir, path);
  }
  const char *dev = config_str(&t.cfg, "device");
  if (!strcmp(dev, "cuda"))
    trainer_fail(&t, "device = cuda: task %s has no CUDA kernels yet in this genet (the CUDA "
                     "backend is a later issue); use device = cpu or auto", t.task);
  // Ranks on one node share its cores: several ranks each spinning up every core's worth of
  // OpenMP threads wait on each other's barriers (measured: a 6 s test took 60 s).
  int threads = (int)config_int(&t.cfg, "threads");
  if (threads == 0 && !getenv("OMP_NUM_THREADS") && t.comm.local_size > 1) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores / t.comm.local_size > 1 ? (int)(cores / t.comm.local_size) : 1;
  }
  ctx_init(&t.ctx, DEV_CPU, threads);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  // SA_RESTART: a signal landing in a write or fsync of a checkpoint must not fail that call
  // with EINTR; the loop looks at the flag at the next step boundary.
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  trainer_log(&t, "# genet train %s: task %s, %d rank%s, %d threads each, device cpu\n", argv[1],
              t.task, t.comm.size, t.comm.size == 1 ? "" : "s", t.ctx.nthreads);
  trainer_log(&t, "# resolved job:\n%s", t.job_text);
  int rc = te->run(&t);
  if (rc == 0 && trainer_signalled(&t)) rc = GENET_EXIT_STOPPED;
  if (t.lock_fd >= 0) close(t.lock_fd);
  config_free(&t.resumed);
  if (t.log && t.log != stdout) fclose(t.log);
  ctx_free(&t.ctx);
  free(t.job_text);
  config_free(&t.cfg);
  comm_finalize(&t.comm);
  return rc;
}
