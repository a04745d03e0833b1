// h5safe.h: HDF5 files genet writes atomically and reads verified: checkpoints, best.h5 and
// the datasets `genet prepare` makes. A file is written to DIR/.NAME.tmp, closed, fsync'd,
// hashed into NAME.sum, renamed into place, and the directory fsync'd: a crash at any point
// leaves the previous file intact.
//
// FILE.sum holds a 64-bit hash and the size of the bytes written, one line; while a file is
// replaced, two lines (the new and the old file's), so that a crash on either side of the
// rename leaves a file that verifies (h5safe.c, replace). Read: regular files only.
// h5safe_open checks it before libhdf5 reads anything: a damaged file is then refused by genet
// instead of being parsed, which matters because libhdf5 can exhaust memory on some corrupt
// files (found by tests/fuzz: a 7 KB file made it allocate 24 GB). The .sum is a checksum, not a
// signature: anyone can write one for a hostile file, so every file, with or without a .sum,
// then goes through h5probe.h before genet's own libhdf5 reads it.
#pragma once
#include <stddef.h>

#include "core/util.h"
#include "data/h5io.h"

typedef struct {
  H5File f;
  char dir[GENET_PATH_MAX], tmp[512], final[512];
} H5SafeWriter;

// Starts DIR/NAME (creating DIR): the caller writes into w->f, then commits or aborts.
int h5safe_begin(H5SafeWriter *w, const char *dir, const char *name, char *err, size_t errlen);
// The same for a path (its directory created).
int h5safe_begin_path(H5SafeWriter *w, const char *path, char *err, size_t errlen);
// Closes, fsyncs, writes the .sum, renames into place. Returns 0, or -1 with err (the
// temporary file deleted).
int h5safe_commit(H5SafeWriter *w, char *err, size_t errlen);
// Closes and deletes the temporary file (after a failed write).
void h5safe_abort(H5SafeWriter *w);
// Commits (write_failed == 0) or aborts; prints a one-line error naming the file (and the
// dataset that failed) when something failed. Returns 0 on success, 1 on failure.
int h5safe_finish(H5SafeWriter *w, int write_failed);
// Verifies FILE.sum when there is one, then opens the file for reading. Returns 0 or -1 with a
// one-line message naming the file (checksum mismatch, size, or libhdf5's refusal).
int h5safe_open(H5File *f, const char *path, char *err, size_t errlen);

