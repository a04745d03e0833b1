// synthetic_images.c: coloured shapes on plain or gradient backgrounds, one class per shape,
// written in exactly the CIFAR-10 layout (train/test groups, uint8 N x 3 x S x S images and
// uint8 labels), so whatever trains on `genet prepare cifar10` output trains on this too.
// Image i of a split is drawn from its own RNG stream, so the data depend only on the seed
// (and the loop may run in parallel).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/prepare.h"
#include "data/synthetic_split.h"
#include "core/rng.h"
#include "core/util.h"

#define NSHAPES 5
static const char *shape_names[NSHAPES] = {"circle", "square", "triangle", "cross", "ring"};

// Whether (u, v), in the shape's own frame scaled by its radius, lies inside shape s.
static int inside(int s, float u, float v) {
  float au = fabsf(u), av = fabsf(v);
  switch (s) {
    case 0: return u * u + v * v <= 1.0f;
    case 1: return au <= 0.8f && av <= 0.8f;
    case 2: return v <= 0.5f && 1.7320508f * u - v <= 1.0f && -1.7320508f * u - v <= 1.0f;  // vertices on the unit circle
    case 3: return (au <= 0.3f && av <= 1.0f) || (av <= 0.3f && au <= 1.0f);
    default: return u * u + v * v <= 1.0f && u * u + v * v >= 0.3f;
  }
}

static void random_colour(Rng *r, float c[3]) {
  for (int k = 0; k < 3; k++) c[k] = 255.0f * rng_uniform(r);
}

// One image (3, S, S) and its label from stream `stream` of the seed.
static uint8_t draw(uint8_t *chw, int S, uint64_t seed, uint64_t stream) {
  Rng r;
  rng_init(&r, seed, stream);
  int shape = (int)(rng_u32(&r) % NSHAPES);
  int gradient = rng_uniform(&r) < 0.5f;
  float bg0[3], bg1[3], fg[3], mid[3];
  random_colour(&r, bg0);
  random_colour(&r, bg1);
  if (!gradient) memcpy(bg1, bg0, sizeof bg0);
  for (int k = 0; k < 3; k++) mid[k] = 0.5f * (bg0[k] + bg1[k]);
  for (int tries = 0; tries < 16; tries++) {  // a shape that stands out from its background
    random_colour(&r, fg);
    float d = 0;
    for (int k = 0; k < 3; k++) d += (fg[k] - mid[k]) * (fg[k] - mid[k]);
    if (d > 120.0f * 120.0f) break;
  }
  float gangle = 6.2831853f * rng_uniform(&r), gx = cosf(gangle), gy = sinf(gangle);
  float rad = S * (0.18f + 0.17f * rng_uniform(&r));
  float cx = rad + (S - 2 * rad) * rng_uniform(&r), cy = rad + (S - 2 * rad) * rng_uniform(&r);
  float theta = 6.2831853f * rng_uniform(&r), ct = cosf(theta), st = sinf(theta);
  size_t hw = (size_t)S * S;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      // Background: a linear ramp from bg0 to bg1 along the gradient direction.
      float t = 0.5f + ((x + 0.5f) / S - 0.5f) * gx + ((y + 0.5f) / S - 0.5f) * gy;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      int cover = 0;  // 4x4 samples a pixel: antialiased edges
      for (int sy = 0; sy < 4; sy++)
        for (int sx = 0; sx < 4; sx++) {
          float px = x + (sx + 0.5f) / 4 - cx, py = y + (sy + 0.5f) / 4 - cy;
          cover += inside(shape, (ct * px + st * py) / rad, (-st * px + ct * py) / rad);
        }
      float a = cover / 16.0f;
      for (int k = 0; k < 3; k++) {
        float b = bg0[k] + (bg1[k] - bg0[k]) * t, v = b + (fg[k] - b) * a;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        chw[k * hw + (size_t)y * S + x] = (uint8_t)(v + 0.5f);
      }
    }
  return (uint8_t)shape;
}

int prepare_synthetic_images(const char *out_path, long long n, int size, unsigned long long seed) {
  long count[NSHAPES];
  if (synthetic_split_write(out_path, n, size, seed, draw, "", count, NSHAPES)) return 1;
  printf("classes (train count):");
  for (int k = 0; k < NSHAPES; k++) printf(" %d %s (%ld)", k, shape_names[k], count[k]);
  printf("\n");
  return 0;
}
