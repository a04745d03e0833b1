// ckpt.h: checkpoint files: written atomically, kept in rotation, found again on resume.
// A checkpoint is DIR/ckpt_<step>.h5 (step zero-padded to 10 digits). It is written to
// DIR/.ckpt_<step>.h5.tmp, flushed, fsync'd, closed and renamed, and the directory fsync'd;
// only then is DIR/latest (a one-line file naming it) replaced the same way and old files
// beyond `keep` deleted. A crash at any point leaves the previous checkpoint intact.
// What goes inside is the caller's (docs/CHECKPOINTS.md lists it); ckpt_write_meta writes
// the part every task shares.
//
// Beside each file, FILE.sum holds a 64-bit hash and the size of the bytes written (made
// before the rename). ckpt_open checks it before libhdf5 reads anything: a damaged file is
// then refused by genet instead of being parsed, which matters because libhdf5 can exhaust
// memory on some corrupt files (found by tests/fuzz: a 7 KB file made it allocate 24 GB).
// A file without a .sum (copied by hand, written elsewhere) goes through h5probe.h first.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "data/h5io.h"

typedef struct {
  H5File f;
  char dir[GENET_PATH_MAX], tmp[512], final[512];
  int rotate;  // a ckpt_<step>.h5 of the rotation (not a named file such as best.h5)
} CkptWriter;

int ckpt_begin(CkptWriter *w, const char *dir, int64_t step, char *err, size_t errlen);
// The same atomic write for DIR/NAME (e.g. best.h5): commit renames it into place but neither
// moves `latest` nor counts it in the rotation.
int ckpt_begin_named(CkptWriter *w, const char *dir, const char *name, char *err, size_t errlen);
// Closes, renames into place, updates `latest`, keeps the newest `keep` checkpoints.
int ckpt_commit(CkptWriter *w, int keep, char *err, size_t errlen);
// Closes and deletes the temporary file (after a failed write).
void ckpt_abort(CkptWriter *w);

// The same atomic write (temporary file, fsync, .sum, rename) for any HDF5 file at `path`
// (the datasets `genet prepare` writes), creating its directory. ckpt_finish then commits it
// (write_failed == 0) or deletes it; either way it prints a one-line error naming the file when
// something failed and returns 0 on success, 1 on failure.
int ckpt_begin_path(CkptWriter *w, const char *path, char *err, size_t errlen);
int ckpt_finish(CkptWriter *w, int write_failed);

// meta/: format version, genet version and commit, step, world size, the resolved job text.
int ckpt_write_meta(H5File *f, int64_t step, int world_size, const char *job_text);
// Verifies FILE.sum when there is one, then opens the file for reading. Returns 0 or -1 with a
// one-line message naming the file (checksum mismatch, size, or libhdf5's refusal).
int ckpt_open(H5File *f, const char *path, char *err, size_t errlen);

// Checks meta/format_version (1 to CKPT_FORMAT_VERSION); returns it, the step and the world size.
int ckpt_read_meta(H5File *f, int64_t *step, int *world_size, int *version, char *err,
                   size_t errlen);

// Checkpoint paths in dir, newest step first (the `latest` pointer, when valid, first of
// all). Returns the count; *paths is malloc'd (free with ckpt_list_free).
int ckpt_list(const char *dir, char ***paths);
void ckpt_list_free(char **paths, int n);

// mkdir -p DIR. Returns 0, or -1 with a one-line message naming the part that failed.
int make_dirs(const char *dir, char *err, size_t errlen);
// mkdir -p DIR, then checks that it is a directory this process can create files in (by
// creating one). Returns 0, or -1 with a line saying why not: not a directory, read-only, ...
int dir_check_writable(const char *dir, char *err, size_t errlen);

// Takes DIR/.lock (an advisory flock, released when the process ends, however it ends) so that
// a second run cannot write into the same checkpoint directory; the file then names its holder
// (pid, host, start time, job). Returns the lock's descriptor, or -1 with a line naming the
// directory and the holder.
int ckpt_lock_dir(const char *dir, const char *job, char *err, size_t errlen);
// Deletes the temporary files (.NAME.tmp, NAME.sum.tmp) an interrupted write left in DIR; only
// safe under ckpt_lock_dir. Returns how many.
int ckpt_remove_stale_tmp(const char *dir);

// 2: train/epoch and train/batch, 0-based, in every task's checkpoints (version 1: the LM's
// epoch was 1-based and style had none; both are still read).
#define CKPT_FORMAT_VERSION 2
