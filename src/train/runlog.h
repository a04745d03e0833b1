// runlog.h: what rank 0 records of a run besides its log lines: out_dir/metrics.jsonl (start,
// scalar and end records), out_dir/job.txt, a TensorBoard event file, the progress line and the
// exit summary (docs/METRICS.md). Tasks give their numbers with runlog_metric; the trainer calls
// the rest. Every function does nothing where t->runlog is NULL (ranks > 0).
// A failed write of a record costs one warning line and that file; training goes on.
#pragma once
#include <stdint.h>

struct Trainer;
typedef struct RunLog RunLog;

// ---- metrics (docs/METRICS.md): a task gives its numbers next to its log lines; rank 0
// gathers those of one step into one record of out_dir/metrics.jsonl and one TensorBoard Event
// each. Tags are `group/name` (train/loss, val/ppl, swd/mean); a non-finite value is written as
// null. Inside the task's step the record is that of step t->step + 1, elsewhere of t->step.
void runlog_metric(struct Trainer *t, const char *tag, double v);
// Writes the gathered record now (the trainer does after each step and at the end).
void runlog_metrics_flush(struct Trainer *t);
// Wall-clock ms per step since the previous call, counting only the time inside steps (device
// work waited for), not epoch ends or checkpoints between them (rank 0; NaN elsewhere or before
// a step).
double runlog_step_ms(struct Trainer *t);

// Rank 0, after resume or the fresh start: job.txt, the start record, the event file.
// best_tag: the tag whose lowest value is the run's best (NULL: none); resumed: from a checkpoint.
void runlog_start(struct Trainer *t, const char *best_tag, int resumed);
// Around the task's step: metrics given inside it belong to step t->step + 1.
void runlog_step_begin(struct Trainer *t);
// After t->step advanced: writes the step's record (unless the epoch's end adds to it) and
// redraws the progress line.
void runlog_step_end(struct Trainer *t);
// A checkpoint of the rotation was written (or resumed from) at path.
void runlog_checkpoint(struct Trainer *t, const char *path);
// Writes what is pending, the end record and the exit summary, and closes the files.
// status: "finished", "max_steps" or "stopped".
void runlog_end(struct Trainer *t, const char *status);
// An output the task writes (a sample grid) failed: one warning line, training goes on, as for
// metrics.jsonl and the event file (a full out_dir must not cost the run its checkpoint).
void runlog_warn_output(struct Trainer *t, const char *what, const char *err);
// Erases the progress line before another line is printed (trainer_log).
void runlog_clear_line(RunLog *r);
