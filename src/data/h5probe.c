// h5probe.c: the child walks the file with libhdf5 only (no MPI, no OpenMP, no stdio of the
// parent's) and leaves with _exit, so neither the parent's buffers nor libhdf5's atexit close
// of the parent's open files run twice. The parent polls the child's resident size rather
// than setting RLIMIT_AS: under AddressSanitizer small allocations come from address space
// reserved at start-up, which RLIMIT_AS does not see (measured: 2 GB of 32-byte blocks
// allocated under a limit of VmSize + 256 MB), and libhdf5 turns a failed malloc into an
// ordinary error, which the parent could not tell apart from damage it reports itself.
#include "data/h5probe.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

// ---- the child

static herr_t attr_cb(hid_t obj, const char *name, const H5A_info_t *ainfo, void *op) {
  (void)ainfo;
  (void)op;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return 0;
  hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  H5Aget_storage_size(a);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  H5Aclose(a);
  return 0;
}

// Layout, filters, chunk index and storage; then the whole of a small dataset (what inspect
// prints) or the first element of a larger one, so libhdf5 decodes its read path without
// reading bulk data.
static void walk_dataset(hid_t ds) {
  hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  if (dcpl >= 0) {
    H5Pget_layout(dcpl);
    int nf = H5Pget_nfilters(dcpl);
    for (int i = 0; i < nf; i++) {
      unsigned flags, cd[8], filter_config;
      size_t ncd = 8;
      char fname[64];
      H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, &filter_config);
    }
    H5Pclose(dcpl);
  }
  H5Dget_storage_size(ds);
  H5Dget_offset(ds);
  H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  size_t tsize = t >= 0 ? H5Tget_size(t) : 0;
  hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  int plain = c == H5T_INTEGER || c == H5T_FLOAT || (c == H5T_STRING && H5Tis_variable_str(t) == 0);
  if (plain && tsize > 0 && n > 0 && nd >= 0 && nd <= 32) {
    int whole = (size_t)n <= 65536 / tsize;
    hsize_t one = 1, start[32] = {0}, count[32];
    for (int i = 0; i < nd; i++) count[i] = 1;
    hid_t ms = whole ? H5S_ALL : H5Screate_simple(1, &one, NULL);
    if (!whole) H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
    void *buf = malloc(whole ? (size_t)n * tsize : tsize);
    if (buf) H5Dread(ds, t, ms, whole ? H5S_ALL : sp, H5P_DEFAULT, buf);
    free(buf);
    if (!whole) H5Sclose(ms);
  }
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
}

// Every link (soft and external ones resolved as a read by name would), every object header.
static herr_t link_cb(hid_t group, const char *name, const H5L_info_t *linfo, void *op) {
  (void)linfo;
  (void)op;
  hid_t o = H5Oopen(group, name, H5P_DEFAULT);
  if (o < 0) return 0;
  H5O_info_t info;
  if (H5Oget_info2(o, &info, H5O_INFO_ALL) >= 0) {
    if (info.type == H5O_TYPE_DATASET) walk_dataset(o);
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, NULL);
  }
  H5Oclose(o);
  return 0;
}

static void child(const char *path, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // nobody would stop it once the parent is gone
  if (getppid() != parent) _exit(1);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {  // libhdf5's or the sanitizer's messages would add lines to genet's one
    dup2(null, 1);
    dup2(null, 2);
  }
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f >= 0) {
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, NULL);
    H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, link_cb, NULL);
  }
  _exit(0);  // not H5Fclose: its flush and free are no part of what genet's reads need
}

// ---- the parent

static long resident_pages(const char *statm) {
  long size = 0, rss = 0;
  FILE *f = fopen(statm, "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
  fclose(f);
  return rss;
}

static int fail(char *err, size_t errlen, const char *path, const char *why) {
  return genet_err(err, errlen, "%s: unreadable HDF5 file (%s while reading it); it is damaged or not written by genet",
                   path, why);
}

int h5probe_file(const char *path, int max_mb, double max_s, char *err, size_t errlen) {
  // A child's pages start shared with the parent's and count in both, so its budget is the
  // parent's resident size now plus max_mb.
  long limit = resident_pages("/proc/self/statm") + ((long)max_mb << 20) / sysconf(_SC_PAGESIZE);
  pid_t parent = getpid(), pid = fork();
  if (pid < 0)
    return genet_err(err, errlen, "%s: cannot check the HDF5 file before reading it (fork: %s)", path,
                     strerror(errno));
  if (pid == 0) child(path, parent);
  char statm[64], why[96] = "";
  snprintf(statm, sizeof statm, "/proc/%d/statm", (int)pid);
  double t0 = now_s();
  int st = 0;
  for (long us = 100;; us = us < 5000 ? 2 * us : 5000) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      return genet_err(err, errlen, "%s: cannot check the HDF5 file before reading it (waitpid: %s)", path,
                       strerror(errno));
    if (resident_pages(statm) > limit)
      snprintf(why, sizeof why, "libhdf5 needed more than %d MB", max_mb);
    else if (now_s() - t0 > max_s)
      snprintf(why, sizeof why, "libhdf5 did not finish in %g s", max_s);
    if (why[0]) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      return fail(err, errlen, path, why);
    }
    struct timespec d = {0, us * 1000};
    nanosleep(&d, NULL);
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFSIGNALED(st))
    snprintf(why, sizeof why, "libhdf5 crashed with signal %d", WTERMSIG(st));
  else
    snprintf(why, sizeof why, "libhdf5 stopped with exit status %d", WEXITSTATUS(st));
  return fail(err, errlen, path, why);
}
