// atomic_file.c: temporary, fsync, rename (atomic_file.h).
#include "core/atomic_file.h"

#include "core/file_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_open(AtomicFile *a, const char *path, const char *tmp, char *err, size_t errlen) {
  a->f = NULL;
  snprintf(a->path, sizeof a->path, "%s", path);
  int fd;
  if (tmp) {
    snprintf(a->tmp, sizeof a->tmp, "%s", tmp);
    // Created exclusively: a link or file put at the fixed name is never written through.
    if ((fd = file_create_tmp(a->tmp, 0666, err, errlen)) < 0) return -1;
  } else {
    snprintf(a->tmp, sizeof a->tmp, "%s.tmpXXXXXX", path);
    fd = mkstemp(a->tmp);  // O_EXCL as well
    if (fd >= 0) {  // mkstemp makes 0600; the file gets the usual permissions
      mode_t mask = umask(0);
      umask(mask);
      fchmod(fd, 0666 & ~mask);
    }
  }
  if (fd < 0) return genet_err(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
  if (!(a->f = fdopen(fd, "wb"))) {
    int e = errno;
    close(fd);
    unlink(a->tmp);
    return genet_err(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(e));
  }
  return 0;
}

int atomic_commit(AtomicFile *a, char *err, size_t errlen) {
  int bad = ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
  int e = bad ? (errno ? errno : EIO) : 0;
  if (fclose(a->f) != 0 && !bad) bad = 1, e = errno;
  a->f = NULL;
  if (!bad && rename(a->tmp, a->path) != 0) bad = 1, e = errno;
  if (bad) {
    unlink(a->tmp);
    return genet_err(err, errlen, "%s: write failed: %s", a->path, strerror(e));
  }
  char dir[sizeof a->path];
  snprintf(dir, sizeof dir, "%s", a->path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = 0;
  fsync_path(slash ? dir : ".", 1);  // best effort: some file systems refuse directory syncs
  return 0;
}

void atomic_abort(AtomicFile *a) {
  if (a->f) fclose(a->f);
  a->f = NULL;
  unlink(a->tmp);
}

int fsync_path(const char *path, int is_dir) {
  int fd = open(path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}
