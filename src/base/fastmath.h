// fastmath.h: exp, sigmoid and tanh in float without branches or library calls, so loops
// over them vectorize (glibc's expf/tanhf are scalar calls) and a CUDA kernel can run the
// same arithmetic. Accuracy: a few float ulps (tests sweep them against double libm).
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/hd.h"  // GENET_HD

// exp(x): x = n ln2 + r with |r| <= ln2/2, a degree-7 polynomial for exp(r) (Cephes' expf
// coefficients, evaluated with fmaf so every backend rounds alike), times 2^(n-1) * 2 built in
// the exponent bits. x is clamped so n stays in [-126, 128]: below -86.99 the result is 0
// (expf gives under 2^-125 there), above 88.72 it overflows to +inf, as expf; NaN stays NaN.
// Clamps and one NaN select only: the vectorized loop has few blends.
GENET_HD static inline float fastmath_expf(float x) {
  float xc = x > -87.0f ? x : -87.0f;  // NaN becomes -87 here (no float-to-int of NaN) ...
  xc = xc > 89.0f ? 89.0f : xc;
  float n = floorf(fmaf(xc, 1.44269504088896341f, 0.5f));
  float r = fmaf(n, -0.693359375f, xc);
  r = fmaf(n, 2.12194440e-4f, r);
  float p = fmaf(1.9875691500e-4f, r, 1.3981999507e-3f);
  p = fmaf(p, r, 8.3334519073e-3f);
  p = fmaf(p, r, 4.1665795894e-2f);
  p = fmaf(p, r, 1.6666665459e-1f);
  p = fmaf(p, r, 5.0000001201e-1f);
  p = fmaf(p, r * r, r) + 1.0f;
  uint32_t bits = (uint32_t)((int32_t)n + 126) << 23;  // 2^(n-1); +0.0f when n = -126
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  float y = 2.0f * (p * scale);
  return x != x ? x : y;  // ... and is given back here
}

// 1 / (1 + exp(-x)) from exp(-|x|), which never overflows.
GENET_HD static inline float fastmath_sigmoid(float x) {
  float e = fastmath_expf(-fabsf(x));
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|); near 0 that cancels, so a Taylor
// polynomial takes over below |x| = 1/8 (its first omitted term is below 4e-9 of tanh there).
GENET_HD static inline float fastmath_tanh(float x) {
  float a = fabsf(x);
  float e = fastmath_expf(-2.0f * a);
  float t = (1.0f - e) / (1.0f + e);
  float x2 = x * x;
  float s = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.053968254f)));
  return a < 0.125f ? s : copysignf(t, x);
}
