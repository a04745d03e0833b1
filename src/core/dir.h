// dir.h: the directories genet makes: checkpoint_dir, out_dir and the outputs of the prepare
// commands.
#pragma once
#include <stddef.h>

// mkdir -p DIR. Returns 0, or -1 with a one-line message naming the part that failed.
int dir_make(const char *dir, char *err, size_t errlen);
// mkdir -p DIR, then checks that it is a directory this process can create files in (by
// creating one). Returns 0, or -1 with a line saying why not: not a directory, read-only, ...
int dir_check_writable(const char *dir, char *err, size_t errlen);
