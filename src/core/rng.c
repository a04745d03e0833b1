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
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
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
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
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

uint64_t rng_reserve(Rng *r, size_t n) {
  uint64_t first = r->counter;
  r->counter += (n + 3) / 4;
  r->pos = 4;  // the next sequential draw starts a fresh block after the reservation
  return first;
}
