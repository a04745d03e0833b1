// atomic_file.h: a file written whole or not at all, as every small output of genet needs (PNG
// grids, the report, job.txt, a checkpoint's .sum and `latest`): it is written to a temporary
// beside the target, flushed and fsync'd, renamed over the target, and the directory fsync'd.
// On any failure the temporary is removed and whatever was at the target is untouched.
//
//   AtomicFile a;
//   if (atomic_open(&a, path, NULL, err, errlen)) return -1;
//   fprintf(a.f, ...);                       // or png_init_io(png, a.f), ...
//   return atomic_commit(&a, err, errlen);   // or atomic_abort(&a) to give up
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "core/util.h"

typedef struct {
  FILE *f;  // write the contents here
  char path[GENET_PATH_MAX + 64];
  char tmp[GENET_PATH_MAX + 96];
} AtomicFile;

// tmp NULL: a new unique temporary "PATH.tmpXXXXXX" (mkstemp), given the mode a plain fopen
// would (0666 less the umask); else that name (a fixed one that a directory's clean-up knows),
// a stale file or link there removed and the name created exclusively (file_open.h). A link at
// PATH itself is replaced by the rename, never written through. -1 with "PATH: cannot create a temporary file: reason".
int atomic_open(AtomicFile *a, const char *path, const char *tmp, char *err, size_t errlen);
// Flushes, fsyncs and closes the temporary, renames it to the path and fsyncs the directory
// (best effort: some file systems refuse). -1 with "PATH: write failed: reason".
int atomic_commit(AtomicFile *a, char *err, size_t errlen);
// Closes and removes the temporary.
void atomic_abort(AtomicFile *a);
// fsync of a file, or of a directory's entries (is_dir: a rename into it). 0, or -1 and errno.
int fsync_path(const char *path, int is_dir);
