// file_open.c: opening files by name without trusting what is there (file_open.h).
#include "core/file_open.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

static const char *kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symbolic link";
  return "not a regular file";
}

// The open's failure as one line; ELOOP under O_NOFOLLOW means the name is a link.
static int open_failed(const char *path, const char *expected, char *err, size_t errlen) {
  int e = errno;
  if (e == ELOOP) genet_err(err, errlen, "%s: a symbolic link, not followed (expected %s)", path, expected);
  else genet_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
  errno = e;
  return -1;
}

// fd is the file itself: regular (and with one link when single), then made blocking again.
static int check_fd(int fd, const char *path, int single, const char *expected, char *err, size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return genet_err(err, errlen, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode) || (single && st.st_nlink != 1)) {
    close(fd);
    if (!S_ISREG(st.st_mode)) genet_err(err, errlen, "%s: %s, expected %s", path, kind(st.st_mode), expected);
    else genet_err(err, errlen, "%s: has %lu hard links, expected %s with one", path, (unsigned long)st.st_nlink, expected);
    errno = EINVAL;  // not ENOENT: callers tell "nothing there" from "something else there"
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return genet_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
  }
  return fd;
}

static FILE *to_file(int fd, const char *path, const char *how, char *err, size_t errlen) {
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, how);
  if (!f) {
    int e = errno;
    close(fd);
    errno = e;
    genet_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
  }
  return f;
}

int file_open_read(const char *path, int nofollow, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
  if (fd < 0) return open_failed(path, "a regular file", err, errlen);
  return check_fd(fd, path, 0, "a regular file", err, errlen);
}

FILE *file_fopen_read(const char *path, int nofollow, char *err, size_t errlen) {
  return to_file(file_open_read(path, nofollow, err, errlen), path, "rb", err, errlen);
}

int file_open_keep(const char *path, int rdwr, int mode, char *err, size_t errlen) {
  int how = rdwr ? O_RDWR : O_RDWR | O_APPEND;  // appending: readable too, to recover its end
  int fd = open(path, how | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) return open_failed(path, "a regular file", err, errlen);
  return check_fd(fd, path, 1, "a regular file", err, errlen);
}

FILE *file_fopen_append(const char *path, char *err, size_t errlen) {
  return to_file(file_open_keep(path, 0, 0666, err, errlen), path, "a+b", err, errlen);
}

FILE *file_fopen_new(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return genet_err(err, errlen, "%s: %s, expected a regular file or nothing (not replaced)", path,
                       kind(st.st_mode)), NULL;
    if (unlink(path) != 0 && errno != ENOENT)
      return genet_err(err, errlen, "%s: cannot replace: %s", path, strerror(errno)), NULL;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) {
    // EEXIST: something was put there since the lstat; it is not written to.
    genet_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    return NULL;
  }
  return to_file(fd, path, "wb", err, errlen);
}

int file_clear_tmp(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (S_ISDIR(st.st_mode)) return genet_err(err, errlen, "%s: a directory, expected a temporary file or nothing", path);
  if (unlink(path) != 0 && errno != ENOENT)
    return genet_err(err, errlen, "%s: cannot remove a stale temporary: %s", path, strerror(errno));
  return 0;
}

int file_create_tmp(const char *path, int mode, char *err, size_t errlen) {
  if (file_clear_tmp(path, err, errlen)) return -1;
  // O_EXCL: a link or file put there since is never written through (open fails instead).
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return genet_err(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
  return fd;
}
