// fuzz_cifar.c: any bytes as CIFAR-10 batch files. The first six bytes give each file's
// length: 0-3 whole 3073-byte records, plus a ragged tail when bit 2 is set, so the parser
// sees valid files, short ones and bad labels alike.
#include <stdint.h>

#include "fuzz_util.h"
#include "data/prepare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  static const char *names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                 "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  size_t off = n >= 6 ? 6 : n;
  for (int k = 0; k < 6; k++) {
    size_t len = k < (int)off ? (size_t)(data[k] & 3) * 3073 + ((data[k] & 4) ? data[k] >> 3 : 0) : 0;
    if (off + len > n || k == 5) len = n - off;
    fuzz_write(names[k], data + off, len);
    off += len;
  }
  char out[256];
  snprintf(out, sizeof out, "%s/cifar.h5", fuzz_dir());
  prepare_cifar10(fuzz_dir(), out);
  return 0;
}
