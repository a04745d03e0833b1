// dir.c: the directories genet makes (see dir.h).
#include "core/dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

int dir_make(const char *dir, char *err, size_t errlen) {
  char p[GENET_PATH_MAX];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return genet_err(err, errlen, "%s: path too long", dir);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == 0) {
      char c = *s;
      *s = 0;
      if (mkdir(p, 0775) != 0 && errno != EEXIST)
        return genet_err(err, errlen, "%s: cannot create directory: %s", p, strerror(errno));
      *s = c;
      if (!c) break;
    }
  }
  return 0;
}

int dir_check_writable(const char *dir, char *err, size_t errlen) {
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) return genet_err(err, errlen, "%s: not a directory", dir);
  if (dir_make(dir, err, errlen)) return -1;
  size_t n = strlen(dir) + 32;
  char *probe = xmalloc(n);
  snprintf(probe, n, "%s/.genet-write-test-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    free(probe);
    return genet_err(err, errlen, "%s: cannot create files there: %s", dir, strerror(errno));
  }
  close(fd);
  unlink(probe);
  free(probe);
  return 0;
}
