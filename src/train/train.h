// train.h: `genet train JOB [key=value ...]` and what every task's training loop shares: the
// resolved job, the communicator and the device context, the stop conditions (max_steps,
// SIGTERM/SIGINT), and checkpoints (periodic, on stop, resume = auto|never|PATH with fallback
// past damaged files). Each task owns its loop (src/tasks/lm_task.c, ...) and calls these.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "comm/comm.h"
#include "train/config.h"
#include "core/ctx.h"
#include "data/h5io.h"

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
  const char *job_path;
  int lock_fd;      // rank 0's lock on ckpt_dir (-1: not taken yet)
  Config resumed;   // the job the resumed checkpoint was trained with (nspec 0: not resumed)
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

// Exit status of a run stopped by SIGTERM/SIGINT after writing its checkpoint: "stopped,
// resumable" (sysexits' EX_TEMPFAIL), as opposed to 0 (finished, or stopped at max_steps as
// asked), 1 (an error) and 2 (a bad job or command line). A Slurm script requeues on it.
#define GENET_EXIT_STOPPED 75

// Reads a checkpoint into the task's state. Returns 0, -1 with err when the file is damaged
// (then resume tries the previous one), or -2 with err when it does not fit the job (fatal).
typedef int (*TrainLoadFn)(H5File *f, void *arg, char *err, size_t errlen);
// resume = auto: the newest good checkpoint in checkpoint_dir, if any; never: none; PATH: that
// file (an error if it cannot be used). Sets t->step. Returns 1 when a checkpoint was loaded.
// Before reading anything, rank 0 checks that checkpoint_dir and out_dir can be written, takes
// checkpoint_dir's lock (a second run on it is refused, naming the holder) and deletes the
// temporary files an interrupted write left there. On resume, each key whose value differs from
// the checkpoint's job is printed with what happens to it; a change of seed or of a shape
// (CFG_RESUME_FIXED) is refused.
int trainer_resume(Trainer *t, TrainLoadFn fn, void *arg);
// After trainer_resume: whether `key` differs from the resumed checkpoint's job (0 when the run
// did not resume). For state a task keeps that a key starts (the LM's annealed lr).
int trainer_key_changed(const Trainer *t, const char *key);
// After trainer_resume: 1 when the checkpoint already is the end of this run — at or past
// max_steps, or finished_why != NULL (the task's own end, e.g. "all 6 epochs done"). Says so;
// the task then returns without training or writing anything.
int trainer_nothing_to_do(Trainer *t, const char *finished_why);
