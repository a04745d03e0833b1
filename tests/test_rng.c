// test_rng.c: Philox (the exported function and the inline one the CUDA kernels compile) against
// the published Random123 known-answer vectors; reservations against sequential draws; stream
// independence; moments of the uniform and normal draws.
#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "testlib.h"

static void kat(const char *name, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                uint32_t k1, uint32_t e0, uint32_t e1, uint32_t e2, uint32_t e3) {
  uint32_t ctr[4] = {c0, c1, c2, c3}, key[2] = {k0, k1}, out[4];
  philox4x32(out, ctr, key);
  test_check(out[0] == e0 && out[1] == e1 && out[2] == e2 && out[3] == e3,
             "philox4x32-10 known answer %s: %08x %08x %08x %08x", name, out[0], out[1], out[2], out[3]);
  // The inline form the CUDA kernels compile (core/rng.h), on the same vectors.
  uint32_t in[4];
  philox4x32_10(in, c0, c1, c2, c3, k0, k1);
  test_check(in[0] == e0 && in[1] == e1 && in[2] == e2 && in[3] == e3,
             "inline philox4x32_10 known answer %s: %08x %08x %08x %08x", name, in[0], in[1], in[2], in[3]);
}

// Word i of a reservation (rng_word_at, rng_key_word_at: what dropout's loop and kernel draw)
// is word i of a sequential draw from the same stream position, across block and 2^32 counter
// boundaries; the stream continues after the reservation as if the words had been drawn.
static void reservation(uint64_t start) {
  Rng r, seq;
  rng_init(&r, 1234, 5);
  r.counter = start;  // a stream far along: the counter's high word is used
  seq = r;
  const size_t n = 4099;  // not a multiple of 4: the last block is partly used
  uint64_t first = rng_reserve(&r, n);
  int same = first == start, same_key = 1;
  for (size_t i = 0; i < n; i++) {
    uint32_t w = rng_u32(&seq);
    same &= rng_word_at(&r, first, i) == w;
    same_key &= rng_key_word_at(r.key[0], r.key[1], first, i) == w;
  }
  test_check(same && same_key, "reservation of %zu words at block %llu equals the sequential draw", n,
             (unsigned long long)start);
  // A sequential draw after the reservation starts at the next unused block.
  for (size_t i = n; i % 4; i++) rng_u32(&seq);
  test_check(rng_u32(&r) == rng_u32(&seq) && r.counter == seq.counter,
             "the stream continues after the reservation at block %llu", (unsigned long long)r.counter - 1);
}

int main(void) {
  // Random123 kat_vectors, philox4x32 with 10 rounds.
  kat("zeros", 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
  kat("ones", 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
      0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
  kat("pi", 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
      0x94fdcceb, 0x5001e420, 0x24126ea1);

  reservation(0);
  reservation(0xFFFFFF00ull);  // crosses 2^32: the high counter word changes inside
  Rng a, b, a2;
  rng_init(&a, 42, 0);
  rng_init(&b, 42, 1);
  rng_init(&a2, 42, 0);
  int same_ab = 0, same_aa = 1;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = rng_u32(&a), y = rng_u32(&b), z = rng_u32(&a2);
    same_ab += x == y;
    same_aa &= x == z;
  }
  test_check(same_aa, "same (seed, stream) repeats its sequence");
  test_check(same_ab < 3, "streams 0 and 1 of one seed differ (%d equal words of 1000)", same_ab);

  // A copied state continues identically: what a checkpoint relies on.
  Rng c = a;
  int cont = 1;
  for (int i = 0; i < 10; i++) cont &= rng_u32(&c) == rng_u32(&a);
  test_check(cont, "a saved state continues the same sequence");

  const int n = 200000;
  float *u = malloc(sizeof(float) * n);
  Rng r;
  rng_init(&r, 7, 3);
  rng_fill_uniform(&r, u, n, 0.0f, 1.0f);
  double m = 0, v = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; i++) { m += u[i]; lo = fmin(lo, u[i]); hi = fmax(hi, u[i]); }
  m /= n;
  for (int i = 0; i < n; i++) v += (u[i] - m) * (u[i] - m);
  v /= n;
  // 5 standard errors: sd of the mean is sqrt(1/12/n) = 6.5e-4
  test_check(fabs(m - 0.5) < 3.3e-3 && fabs(v - 1.0 / 12) < 2e-3 && lo >= 0 && hi < 1,
             "uniform mean %.4f var %.4f range [%.5f, %.5f)", m, v, lo, hi);
  rng_fill_normal(&r, u, n, 0.0f, 1.0f);
  m = 0; v = 0;
  double k4 = 0;
  for (int i = 0; i < n; i++) m += u[i];
  m /= n;
  for (int i = 0; i < n; i++) { double d = u[i] - m; v += d * d; k4 += d * d * d * d; }
  v /= n; k4 /= n;
  test_check(fabs(m) < 0.012 && fabs(v - 1) < 0.02 && fabs(k4 / (v * v) - 3) < 0.1,
             "normal mean %.4f var %.4f kurtosis %.3f", m, v, k4 / (v * v));
  free(u);
  return test_finish("rng");
}
