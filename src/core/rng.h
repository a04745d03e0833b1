// rng.h: seeded random numbers in independent streams (Philox4x32-10, the counter-based
// generator cuRAND also offers, so a GPU kernel can reproduce a stream from its key and
// counter). A stream is (seed, stream id); its whole state is four integers, saved in
// checkpoints so a resumed run draws the same numbers it would have drawn.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/philox.h"  // Rng, Philox and word i of a reservation: kernels run them too

#ifdef __cplusplus
extern "C" {
#endif

void rng_init(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
float rng_uniform(Rng *r);                       // [0, 1), 24 random bits
float rng_normal(Rng *r);                        // N(0, 1), Box-Muller, two uniforms a draw
void rng_fill_uniform(Rng *r, float *x, size_t n, float lo, float hi);
void rng_fill_normal(Rng *r, float *x, size_t n, float mean, float std);
// philox4x32_10 (base/philox.h) as a function of arrays; kept for callers and the known-answer
// tests.
void philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]);

#ifdef __cplusplus
}
#endif
