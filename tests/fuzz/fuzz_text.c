// fuzz_text.c: any bytes as the training text of `genet prepare text`.
#include <stdint.h>

#include "fuzz_util.h"
#include "data/prepare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_write("train.txt", data, n);
  fuzz_write("valid.txt", "a b\n", 4);
  fuzz_write("test.txt", "", 0);
  char out[256];
  snprintf(out, sizeof out, "%s/text.h5", fuzz_dir());
  prepare_text(fuzz_dir(), out);
  return 0;
}
