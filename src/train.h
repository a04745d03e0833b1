// train.h: `genet train JOB [key=value ...]` and what every task's training loop shares: the
// resolved job, the communicator and the device context, the stop conditions (max_steps,
// SIGTERM/SIGINT), and checkpoints (periodic, on stop, resume = auto|never|PATH with fallback
// past damaged files). Each task owns its loop (src/lm_task.c, ...) and calls these.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "../comm/comm.h"
#include "config.h"
#include "ctx.h"
#include "h5io.h"

typedef struct {
  Config cfg;
  char *job_text;   // resolved `key = value` lines, printed once, stored in checkpoints
  const char *task;
  Comm comm;
  Ctx ctx;
  uint64_t seed;
  int64_t step;     // optimizer steps taken (restored on resume)
  int64_t max_steps, checkpoint_every;
  int64_t saved_step; // step of the last checkpoint written (-1: none yet)
  int keep;
  const char *ckpt_dir, *out_dir;
  FILE *log;        // this rank's log: stdout on rank 0, a file or /dev/null elsewhere
} Trainer;

// The keys every task shares (seed, device, checkpoint_dir, ...), for `genet train --help`.
extern const CfgSpec train_shared_keys[];
extern const int train_nshared_keys;

int train_main(int argc, char **argv);

// printf to this rank's log (rank 0: stdout), flushed.
void trainer_log(Trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A one-line error naming what is wrong, on every rank, and a non-zero exit of the whole job.
void trainer_fail(Trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

// Called by every rank after each optimizer step (t->step already counted). Returns 1 when
// the run must stop now: max_steps reached, or SIGTERM/SIGINT on any rank (Slurm preemption):
// all ranks agree, so they all write the checkpoint and leave at the same step.
int trainer_should_stop(Trainer *t);
// A stop asked by a signal (as opposed to max_steps).
int trainer_signalled(const Trainer *t);
// t->step is a multiple of checkpoint_every (0: never periodic).
int trainer_checkpoint_due(const Trainer *t);

// Writes what the task saves into an open checkpoint (meta/ is written by the trainer).
typedef int (*TrainSaveFn)(H5File *f, void *arg);
// Rank 0 writes DIR/ckpt_<step>.h5 atomically and rotates; every rank waits for it, so no rank
// exits before the checkpoint is whole. A failed write is fatal (named) and leaves the
// previous checkpoints as they were. Does nothing when this step's checkpoint is written
// already (a periodic one that falls on the last step).
void trainer_save(Trainer *t, TrainSaveFn fn, void *arg);
// The same into DIR/NAME (e.g. best.h5), not rotated and not pointed to by `latest`.
void trainer_save_named(Trainer *t, const char *name, TrainSaveFn fn, void *arg);

// Reads a checkpoint into the task's state. Returns 0, -1 with err when the file is damaged
// (then resume tries the previous one), or -2 with err when it does not fit the job (fatal).
typedef int (*TrainLoadFn)(H5File *f, void *arg, char *err, size_t errlen);
// resume = auto: the newest good checkpoint in checkpoint_dir, if any; never: none; PATH: that
// file (an error if it cannot be used). Sets t->step. Returns 1 when a checkpoint was loaded.
int trainer_resume(Trainer *t, TrainLoadFn fn, void *arg);
