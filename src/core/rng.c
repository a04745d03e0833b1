// rng.c: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011).
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]) {
  philox4x32_10(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
}

void rng_init(Rng *r, uint64_t seed, uint64_t stream) {
  uint64_t k = splitmix64(seed ^ splitmix64(stream + 0x632BE59BD9B4E019ull));
  r->key[0] = (uint32_t)k;
  r->key[1] = (uint32_t)(k >> 32);
  r->counter = 0;
  r->pos = 4;
}

uint32_t rng_u32(Rng *r) {
  if (r->pos == 4) {
    uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0, 0};
    philox4x32(r->block, ctr, r->key);
    r->counter++;
    r->pos = 0;
  }
  return r->block[r->pos++];
}

float rng_uniform(Rng *r) { return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float rng_normal(Rng *r) {
  float u1 = rng_uniform(r), u2 = rng_uniform(r);
  // 1 - u1 lies in (0, 1], so the log is finite.
  return sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.28318530717958647692f * u2);
}

void rng_fill_uniform(Rng *r, float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(r);
}

void rng_fill_normal(Rng *r, float *x, size_t n, float mean, float std) {
  for (size_t i = 0; i < n; i++) x[i] = mean + std * rng_normal(r);
}
