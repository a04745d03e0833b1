// test_crc32c.c: the CRC-32C of TensorBoard's record framing (src/train/crc32c.c) on the
// standard check value, in pieces, and its masked form written out from the TFRecord formula;
// a one-bit change must change it.
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "train/crc32c.h"

int main(void) {
  const char *v = "123456789";
  uint32_t c = crc32c(0, v, 9);
  test_check(c == 0xE3069283u, "crc32c(\"123456789\") = 0x%08X (want 0xE3069283)", c);
  uint32_t p = crc32c(crc32c(0, v, 4), v + 4, 5);
  test_check(p == c, "in two pieces: 0x%08X", p);
  uint32_t m = (((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u) & 0xFFFFFFFFu;
  test_check(crc32c_masked(v, 9) == m, "masked: 0x%08X (want 0x%08X)", crc32c_masked(v, 9), m);
  test_check(crc32c(0, "", 0) == 0, "empty input: 0");
  char w[10];
  memcpy(w, v, 10);
  w[4] ^= 1;
  test_check(crc32c(0, w, 9) != c, "one flipped bit changes it");
  return test_finish("crc32c");
}
