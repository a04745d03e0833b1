// rng.h: seeded random numbers in independent streams (Philox4x32-10, the counter-based
// generator cuRAND also offers, so a GPU kernel can reproduce a stream from its key and
// counter). A stream is (seed, stream id); its whole state is four integers, saved in
// checkpoints so a resumed run draws the same numbers it would have drawn.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t key[2];   // from (seed, stream id)
  uint64_t counter;  // Philox block index
  uint32_t pos;      // next word of the current block, 0..4 (4: block used up)
  uint32_t block[4]; // the current block, derived from key and counter - 1
} Rng;

void rng_init(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
float rng_uniform(Rng *r);                       // [0, 1), 24 random bits
float rng_normal(Rng *r);                        // N(0, 1), Box-Muller, two uniforms a draw
void rng_fill_uniform(Rng *r, float *x, size_t n, float lo, float hi);
void rng_fill_normal(Rng *r, float *x, size_t n, float mean, float std);
// Philox4x32-10 of one counter block; exposed for tests against the published vectors.
void philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]);
// Reserves ceil(n / 4) Philox blocks of the stream for n words, so word i of the reservation is
// word i % 4 of block (first + i / 4): a parallel loop (or a GPU kernel) can draw its words in
// any order and get what a sequential draw would. Returns `first`; the stream moves past.
uint64_t rng_reserve(Rng *r, size_t n);
// Word i of a reservation that started at block `first`.
static inline uint32_t rng_word_at(const Rng *r, uint64_t first, size_t i) {
  uint64_t b = first + i / 4;
  uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0}, out[4];
  philox4x32(out, ctr, r->key);
  return out[i % 4];
}
