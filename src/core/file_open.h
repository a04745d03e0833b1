// file_open.h: the one way genet opens a file by name, because a run directory, a dataset
// directory or /tmp may be writable by someone else, who can put a symbolic link, a FIFO or a
// device where genet expects its own file.
//
// Reading: only a regular file is opened, without blocking (O_NONBLOCK until fstat says it is
// regular), so a FIFO or /dev/zero is refused instead of hanging a run that SIGTERM cannot end.
// Writing: a link at the name is never followed, and a file genet did not create is never
// truncated: outputs are new files (O_EXCL), appended files must be regular with one link.
// Every failure is -1 or NULL with "PATH: what was found, expected what" in err; errno is kept
// (ENOENT: nothing there).
#pragma once
#include <stddef.h>
#include <stdio.h>

// A regular file for reading. nofollow: a symbolic link at PATH is refused as well (for files
// whose content is shown to others: report's embedded files).
int file_open_read(const char *path, int nofollow, char *err, size_t errlen);
FILE *file_fopen_read(const char *path, int nofollow, char *err, size_t errlen);
// PATH opened read-write (rdwr) or for appending (readable too: a log recovers its end), created
// (mode) when missing; a link, a file
// that is not regular, or one with other hard links is refused. For locks and metrics.jsonl.
int file_open_keep(const char *path, int rdwr, int mode, char *err, size_t errlen);
FILE *file_fopen_append(const char *path, char *err, size_t errlen);
// A new file at PATH: a regular file there is removed first (replaced, never truncated in
// place); a link or anything else there is refused. For outputs written in place.
FILE *file_fopen_new(const char *path, char *err, size_t errlen);
// A temporary of a fixed name genet owns: whatever non-directory is there (a stale
// temporary, a link) is removed, then the name is created exclusively. mode as for open.
int file_create_tmp(const char *path, int mode, char *err, size_t errlen);
// Removes a stale PATH (not a directory) so that an exclusive create can follow.
int file_clear_tmp(const char *path, char *err, size_t errlen);
