// philox.h: the counter-based half of genet's random streams (core/rng.h), which host and device
// code both compile: the Rng state, Philox4x32-10 itself and word i of a reservation. A CUDA
// kernel (kernels/dropout.cu) reproduces the words the CPU draws from its key and counter.
// Plain C, no genet type beyond this file: kernels/ includes it.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/hd.h"  // GENET_HD

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t key[2];   // from (seed, stream id)
  uint64_t counter;  // Philox block index
  uint32_t pos;      // next word of the current block, 0..4 (4: block used up)
  uint32_t block[4]; // the current block, derived from key and counter - 1
} Rng;

// Philox4x32-10 of one counter block (ctr[0..3]) under key (k0, k1): ten rounds of two 32x32
// -> 64-bit multiplies, the key bumped by the Weyl constants between rounds. Inline for the
// host and the device alike, so a kernel draws the very words the CPU draws.
GENET_HD static inline void philox4x32_10(uint32_t out[4], uint32_t c0, uint32_t c1, uint32_t c2,
                                          uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;  // low words become the odd lanes
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    // order of lanes after a round: (hi(p1)^c1^k0, lo(p1), hi(p0)^c3^k1, lo(p0))
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}
// Reserves ceil(n / 4) Philox blocks of the stream for n words, so word i of the reservation is
// word i % 4 of block (first + i / 4): a parallel loop (or a GPU kernel) can draw its words in
// any order and get what a sequential draw would. Returns `first`; the stream moves past.
// Inline so that CUDA host code (kernels/dropout.cu) reserves exactly as the CPU op does.
static inline uint64_t rng_reserve(Rng *r, size_t n) {
  uint64_t first = r->counter;
  r->counter += (n + 3) / 4;
  r->pos = 4;  // the next sequential draw starts a fresh block after the reservation
  return first;
}
// Word i of a reservation that started at block `first` of the stream with key (k0, k1): what
// a kernel calls with the key it was given by value.
GENET_HD static inline uint32_t rng_key_word_at(uint32_t k0, uint32_t k1, uint64_t first,
                                                uint64_t i) {
  uint64_t b = first + i / 4;
  uint32_t out[4];
  philox4x32_10(out, (uint32_t)b, (uint32_t)(b >> 32), 0, 0, k0, k1);
  return out[i % 4];
}
// Word i of a reservation that started at block `first`.
static inline uint32_t rng_word_at(const Rng *r, uint64_t first, size_t i) {
  return rng_key_word_at(r->key[0], r->key[1], first, i);
}

#ifdef __cplusplus
}
#endif
