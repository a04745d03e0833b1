// h5probe.h: reads an untrusted HDF5 file in a child process before genet opens it.
// libhdf5 can allocate without bound or loop on some corrupt files (a 7 KB one,
// tests/fixtures/hdf5_oom.h5, takes 15 GB while its groups are listed). A child opens the file
// and walks what genet reads (every link, object header, attribute and dataset layout, small
// datasets' values, one element of each larger one); the parent kills it past a memory or
// time budget. Every file genet reads goes through it, also one whose .sum verified (a .sum
// can be forged; the probe costs a few ms).
#pragma once
#include <stddef.h>

#define H5PROBE_MAX_MB 256  // resident memory the child may add to the parent's
#define H5PROBE_MAX_S 20.0  // seconds

// 0: the child read the whole file within the budget (libhdf5 may still have refused parts
// of it; the caller's own reads report those). -1: a one-line message in err naming the file
// (too much memory, too slow, crashed, or the child could not be started).
int h5probe_file(const char *path, int max_mb, double max_s, char *err, size_t errlen);
