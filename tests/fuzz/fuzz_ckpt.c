// fuzz_ckpt.c: any bytes as a checkpoint file: open, meta, a dataset of a fixed shape, the
// job string — what resume reads before it trusts a file.
#include <stdint.h>

#include "train/ckpt.h"
#include "fuzz_util.h"

#include <hdf5.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_write("ckpt.h5", data, n);
  char path[256], err[600];
  snprintf(path, sizeof path, "%s/ckpt.h5", fuzz_dir());
  H5File f;
  if (h5_open_read(&f, path, err, sizeof err)) {
    H5close();
    return 0;
  }
  int64_t step;
  int ws, version;
  float w[15];
  const int64_t dims[2] = {3, 5};
  char *job = NULL;
  if (ckpt_read_meta(&f, &step, &ws, &version, err, sizeof err) == 0) {
    h5_read_f32(&f, "model/encoder.weight", w, 2, dims, err, sizeof err);
    if (h5_read_str(&f, "meta/job", &job, 1 << 16, err, sizeof err) == 0) free(job);
  }
  h5_close(&f, err, sizeof err);
  H5close();  // libhdf5 keeps state from failed opens of corrupt files; start each input clean
  return 0;
}
