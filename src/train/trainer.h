// trainer.h: the training loop every task runs (trainer_run) and the services a task's
// callbacks use. The trainer owns the run: resume or fresh start (and init_weights), one
// GradSync per registered parameter set with its broadcast and statistics, the step counter and
// the epoch position (0-based), gradient accumulation, stopping on max_steps or a signal, and
// the periodic, stop and final checkpoints. A task (src/tasks/) supplies a TaskOps: its keys,
// setup, one step() that reads top to bottom (forward, backward, optimizer), its epoch end, and
// the save/load of what only it has. docs/ARCHITECTURE.md walks through one step and one
// checkpoint.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "comm/comm.h"
#include "comm/ddp.h"
#include "core/ctx.h"
#include "core/params.h"
#include "data/h5io.h"
#include "train/config.h"
#include "train/runlog.h"

#define TRAINER_MAX_SETS 4

typedef struct Trainer {
  Config cfg;
  char *job_text;   // resolved `key = value` lines, printed once, stored in checkpoints
  const char *task;
  Comm comm;
  Ctx ctx;
  uint64_t seed;
  int64_t step;     // optimizer steps taken (restored on resume)
  int64_t epoch;    // 0-based epoch of the next step (train/epoch)
  int64_t batch;    // steps of this epoch already taken (train/batch)
  int64_t steps_per_epoch;  // set by the task's setup; 0: the run has no epochs (style)
  int64_t epochs;           // set by the task's setup when it has epochs
  int accumulate;   // micro-batches per optimizer step (accumulate = k)
  int64_t max_steps, checkpoint_every;
  int64_t saved_step, saved_epoch, saved_batch;  // the position last written (-1: none yet)
  int keep;
  const char *ckpt_dir, *out_dir;
  const char *job_path;
  int lock_fd;      // rank 0's lock on ckpt_dir (-1: not taken yet)
  int out_lock_fd;  // and on out_dir, when it is another directory (-1: none)
  Config resumed;   // the job the resumed checkpoint was trained with (nspec 0: not resumed)
  FILE *log;        // this rank's log: stdout on rank 0, a file or /dev/null elsewhere
  // Registered parameter sets (trainer_add_params): gradients averaged over ranks.
  int nsets;
  Params *set[TRAINER_MAX_SETS];
  GradSync *sync[TRAINER_MAX_SETS];
  GradReady ready[TRAINER_MAX_SETS];
  double sync_wait_s;             // all-reduce statistics since the last epoch report
  int64_t sync_buckets, sync_early, sync_steps;
  // A task whose steps do not measure its progress counts its own unit for the progress line
  // (style: evaluations of max_evals); work_unit NULL: steps of epochs x steps_per_epoch.
  const char *work_unit;
  int64_t work_done, work_total;
  RunLog *runlog;   // rank 0: metrics.jsonl, the TensorBoard file, the progress line (runlog.h)
  double loss;      // the last step's loss (trainer_loss), the same on every rank
} Trainer;

// What a task gives the trainer. Every callback gets the task's own state (`size` bytes,
// zeroed, owned by the trainer). The loop, in order:
//   setup; resume (load) or fresh start (init, then init_weights = FILE through load_weights);
//   GradSync per registered set, rank 0's parameters broadcast;
//   until finished: epoch_begin when an epoch starts in this process, step, checkpoint when
//   due or stopping, epoch_end after the epoch's last step;
//   when not stopped: the final checkpoint and end.
// How `genet train` resolves a job (train_cmd.c): cfg zeroed and initialized with the shared
// keys and the task's; returns the task, or NULL with err. A task's run_instead resolves the
// jobs it derives from the job (style's pairs) with it.
typedef const struct TaskOps *(*TaskResolve)(Config *cfg, const char *job, int nover, char **over,
                                             char *err, size_t errlen);

typedef struct TaskOps {
  const char *name;
  const CfgSpec *keys;
  const int *nkeys;
  size_t size;
  const char *best;        // the tag whose lowest value is the run's best (metrics.jsonl's end), or NULL
  const char *rng_scheme;  // how the task's random streams derive from the seed (rng/scheme)
  int accumulates;         // its step runs t->accumulate micro-batches (else accumulate must be 1)
  int cuda;                // its step runs on a CUDA context (device = cuda | auto may pick a GPU)
  // Reads the data and builds the models; registers each parameter set (trainer_add_params);
  // sets t->steps_per_epoch and t->epochs. A bad job or file: trainer_fail.
  void (*setup)(Trainer *t, void *task);
  void (*init)(Trainer *t, void *task);  // fresh start: initial weights from the seed
  // init_weights = FILE (the params/ of another run or of scripts/torch_to_h5.py): 0 or -1/-2.
  int (*load_weights)(Trainer *t, void *task, H5File *f, char *err, size_t errlen);
  // Checkpoints: what only the task has (weights, optimizer state, carried state). The
  // trainer writes meta/, train/ and rng/. load returns 0, -1 (damaged: the previous checkpoint
  // is tried) or -2 (does not fit this job: fatal), with err.
  void (*before_save)(Trainer *t, void *task);  // may be NULL: every rank, before each checkpoint
  int (*save)(Trainer *t, void *task, H5File *f);  // rank 0
  int (*load)(Trainer *t, void *task, H5File *f, int format_version, char *err, size_t errlen);
  void (*epoch_begin)(Trainer *t, void *task);  // may be NULL; t->batch > 0 when resumed mid-epoch
  void (*step)(Trainer *t, void *task);         // one optimizer step at (t->epoch, t->batch)
  void (*epoch_end)(Trainer *t, void *task);    // may be NULL
  // NULL, or why the run is over although epochs remain (style: max_evals reached).
  const char *(*finished)(Trainer *t, void *task);
  void (*on_checkpoint)(Trainer *t, void *task); // may be NULL: after each checkpoint (style: the image)
  void (*end)(Trainer *t, void *task);           // may be NULL: after the final checkpoint
  void (*free)(Trainer *t, void *task);
  // May be NULL. Called on the resolved job before any Trainer exists: runs the job some other way
  // than one Trainer when the job asks for it and returns the process's exit status (style: pairs =
  // FILE, one Trainer per pair over the ranks), or -1: one Trainer runs the job, as usual.
  int (*run_instead)(Comm *comm, const Config *cfg, const char *job, int nover, char **over,
                     TaskResolve resolve);
} TaskOps;

// Runs the task; returns the process's exit status (0, or GENET_EXIT_STOPPED after a signal).
int trainer_run(Trainer *t, const TaskOps *ops);

// Blocks SIGTERM, SIGINT and SIGUSR1 in the calling thread and the threads it makes later: the
// loop takes them between steps and stops with a checkpoint. Call it first thing, before MPI
// and OpenMP start threads (train_main does).
void trainer_block_stop_signals(void);

// Exit status of a run stopped by SIGTERM/SIGINT/SIGUSR1 after writing its checkpoint: "stopped,
// resumable" (sysexits' EX_TEMPFAIL), as opposed to 0 (finished, or stopped at max_steps as
// asked), 1 (an error) and 2 (a bad job or command line). A Slurm script requeues on it.
#define GENET_EXIT_STOPPED 75

// The keys every task shares (seed, device, checkpoint_dir, ...), for `genet train --help`.
extern const CfgSpec train_shared_keys[];
extern const int train_nshared_keys;

// Fills t from its resolved job (t->cfg, t->comm set): stop conditions, directories, log,
// the device and its context, signal handlers. trainer_close frees what it made.
void trainer_open(Trainer *t, const char *job_path, const TaskOps *ops);
void trainer_close(Trainer *t);

// printf to this rank's log (rank 0: stdout), flushed.
void trainer_log(Trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A one-line error naming what is wrong, on every rank, and a non-zero exit of the whole job.
void trainer_fail(Trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

// Metrics: runlog_metric (train/runlog.h).

// ---- for the task's setup
// Registers a parameter set whose gradients are averaged over ranks; returns its index.
int trainer_add_params(Trainer *t, Params *p);
// This rank's share of a global batch of `batch` samples (columns, images) and the size of one
// micro-batch of it: fails with a line saying what divides when batch is not a multiple of
// ranks x accumulate.
int trainer_micro_batch(Trainer *t, int batch, const char *what);

// ---- for the task's step: gradient accumulation over t->accumulate micro-batches (DDP's
// no_sync): zero the set's gradients, run every micro-batch's backward passing it
// trainer_grad_ready(t, set, micro), then trainer_grads_reduce: the gradient is then the mean
// over micro-batches and ranks.
void trainer_grads_zero(Trainer *t, int set);
// The listener for backward: bound to the set's GradSync on the last micro-batch only (earlier
// micro-batches' gradients are not final, so their buckets must not start); NULL otherwise.
const GradReady *trainer_grad_ready(Trainer *t, int set, int micro);
void trainer_grads_reduce(Trainer *t, int set);
// The mean of one number over ranks (a loss for the log).
double trainer_mean(Trainer *t, double v);
// The step's loss (a mean over ranks, so every rank stops alike): after the step the trainer
// stops the run with one line when it is NaN or inf, before any checkpoint of that state.
void trainer_loss(Trainer *t, double loss);

// ---- where comm/ meets the model side (also for tests and benchmarks)
// A GradSync over p's gradient buffer, its buckets along p's tensors.
GradSync *trainer_gradsync_create(Comm *c, Params *p, size_t bucket_bytes);
// A listener that marks ranges ready in s.
GradReady trainer_ready_for(GradSync *s);
// ctx->reduce sums over c's ranks (synchronized BatchNorm): host buffers over MPI, device
// buffers over NCCL once comm_use_nccl was called (else through the host).
void trainer_bind_reduce(Ctx *ctx, Comm *c);

// ---- checkpoints outside the loop's own
// Writes DIR/NAME (e.g. best.h5) atomically, not rotated and not pointed to by `latest`, with
// meta/ and what fn writes. A failed write takes the job down, naming the file.
typedef int (*TrainSaveFn)(H5File *f, void *arg);
void trainer_save_named(Trainer *t, const char *name, TrainSaveFn fn, void *arg);
// A stop asked by a signal (as opposed to max_steps): process-wide, as signals are.
int trainer_signalled(void);
// After resume: whether `key` differs from the resumed checkpoint's job (0 when the run did not
// resume). For state a task keeps that a key starts (the LM's annealed lr).
int trainer_key_changed(const Trainer *t, const char *key);
