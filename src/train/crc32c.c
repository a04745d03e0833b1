// crc32c.c: CRC-32C bit by bit, reflected polynomial 0x82F63B78. The records it checks are a few
// dozen bytes each, written at log lines only, so a table buys nothing.
#include "train/crc32c.h"

uint32_t crc32c(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t crc32c_masked(const void *data, size_t n) {
  uint32_t crc = crc32c(0, data, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
