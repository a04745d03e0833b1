// ckpt.h: checkpoints kept in rotation and found again on resume. A checkpoint is
// DIR/ckpt_<step>.h5 (step zero-padded to 10 digits), written atomically with its .sum
// (data/h5safe.h); only then is DIR/latest (a one-line file naming it) replaced the same way
// and old files beyond `keep` deleted. A crash at any point leaves the previous checkpoint
// intact. What goes inside is the caller's (docs/CHECKPOINTS.md lists it); ckpt_write_meta
// writes the part every task shares.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "data/h5io.h"
#include "data/h5safe.h"

typedef struct {
  H5SafeWriter s;
  int rotate;  // a ckpt_<step>.h5 of the rotation (not a named file such as best.h5)
} CkptWriter;

int ckpt_begin(CkptWriter *w, const char *dir, int64_t step, char *err, size_t errlen);
// Closes, renames into place, updates `latest`, keeps the newest `keep` checkpoints.
int ckpt_commit(CkptWriter *w, int keep, char *err, size_t errlen);

// meta/: format version, genet version and commit, step, world size, the resolved job text.
int ckpt_write_meta(H5File *f, int64_t step, int world_size, const char *job_text);

// Checks meta/format_version (1 to CKPT_FORMAT_VERSION); returns it, the step and the world size.
// Returns 0, -1 with err (damaged), or -3 with err when a newer genet wrote the file (to be
// refused, never skipped as damaged and later overwritten).
int ckpt_read_meta(H5File *f, int64_t *step, int *world_size, int *version, char *err,
                   size_t errlen);

// Checkpoint paths in dir, newest step first (the `latest` pointer, when valid, first of
// all). Returns the count; *paths is malloc'd (free with ckpt_list_free).
int ckpt_list(const char *dir, char ***paths);
void ckpt_list_free(char **paths, int n);

// Takes DIR/.lock (an advisory flock, released when the process ends, however it ends) so that
// a second run cannot write into the same directory (checkpoint_dir, and out_dir: `what` names
// which in the message); the file then names its holder (pid, host, start time, job). A link or
// a file with other hard links at DIR/.lock is refused, never written through. Returns the
// lock's descriptor, or -1 with a line naming the directory and the holder.
int ckpt_lock_dir(const char *dir, const char *what, const char *job, char *err, size_t errlen);
// Deletes the temporary files (.NAME.tmp, NAME.sum.tmp) an interrupted write left in DIR; only
// safe under ckpt_lock_dir. Returns how many.
int ckpt_remove_stale_tmp(const char *dir);

// 2: train/epoch and train/batch, 0-based, in every task's checkpoints (version 1: the LM's
// epoch was 1-based and style had none; both are still read).
#define CKPT_FORMAT_VERSION 2
