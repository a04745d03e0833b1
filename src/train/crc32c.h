// crc32c.h: CRC-32C (Castagnoli), the checksum of TensorBoard's record framing (tb_events.c).
#pragma once
#include <stddef.h>
#include <stdint.h>

// The CRC-32C of n bytes, continuing from crc (0 to start): crc32c(0, "123456789", 9) == 0xE3069283.
uint32_t crc32c(uint32_t crc, const void *data, size_t n);
// TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c_masked(const void *data, size_t n);
