// synthetic_glyphs.c: hand-drawn-looking digits 0-9, white strokes on black, each with its own
// size, position, stroke width, slant and rotation; label = the digit. Written in the CIFAR-10
// layout (as synthetic_images.c) so the DCGAN reads it unchanged. A small GAN learns these in
// minutes on a CPU, where the coloured shapes on random backgrounds need far longer.
// Image i of a split is drawn from its own RNG stream: the data depend only on the seed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/prepare.h"
#include "data/synthetic_split.h"
#include "core/rng.h"
#include "core/util.h"

// Each digit: polylines in a unit box (x right, y down), points as x*10, y*10; -1 ends a
// polyline, -2 ends the digit.
static const signed char digits[10][40] = {
    {3, 0, 7, 0, 10, 3, 10, 7, 7, 10, 3, 10, 0, 7, 0, 3, 3, 0, -2},
    {2, 2, 6, 0, 6, 10, -1, 3, 10, 9, 10, -2},
    {0, 2, 3, 0, 7, 0, 10, 2, 10, 4, 0, 10, 10, 10, -2},
    {0, 0, 10, 0, 5, 4, 8, 5, 10, 7, 8, 10, 2, 10, 0, 8, -2},
    {7, 10, 7, 0, 0, 7, 10, 7, -2},
    {10, 0, 1, 0, 0, 4, 7, 4, 10, 7, 7, 10, 0, 10, -2},
    {9, 0, 3, 2, 0, 6, 0, 8, 3, 10, 7, 10, 10, 8, 10, 6, 7, 4, 3, 4, 0, 6, -2},
    {0, 0, 10, 0, 4, 10, -2},
    {5, 4, 2, 3, 2, 1, 4, 0, 6, 0, 8, 1, 8, 3, 5, 4, 1, 6, 1, 9, 3, 10, 7, 10, 9, 9, 9, 6, 5, 4, -2},
    {1, 10, 7, 8, 10, 4, 10, 2, 7, 0, 3, 0, 0, 2, 0, 4, 3, 6, 10, 4, -2},
};

// Squared distance from (px, py) to the segment a-b.
static float seg_d2(float px, float py, float ax, float ay, float bx, float by) {
  float dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
  float t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  float ex = px - ax - t * dx, ey = py - ay - t * dy;
  return ex * ex + ey * ey;
}

// One image (3, S, S), grey replicated in the channels, from stream `stream`; returns the digit.
static uint8_t draw(uint8_t *chw, int S, uint64_t seed, uint64_t stream) {
  Rng r;
  rng_init(&r, seed, stream);
  int d = (int)(rng_u32(&r) % 10);
  float h = S * (0.45f + 0.2f * rng_uniform(&r)), w = h * (0.45f + 0.2f * rng_uniform(&r));
  float cx = S * (0.5f + 0.08f * (rng_uniform(&r) - 0.5f)), cy = S * (0.5f + 0.08f * (rng_uniform(&r) - 0.5f));
  float rot = 0.35f * (rng_uniform(&r) - 0.5f), slant = 0.4f * (rng_uniform(&r) - 0.5f);
  float half = 0.5f * S * (0.07f + 0.05f * rng_uniform(&r));  // half the stroke width
  float cr = cosf(rot), sr = sinf(rot);
  // The digit's points in pixels: scaled to w x h, slanted, rotated about the centre, moved.
  float pt[20][2];
  int brk[20] = {0}, np = 0;
  for (const signed char *p = digits[d]; *p != -2; p += 2) {
    if (*p == -1) {
      brk[np - 1] = 1;  // no segment from this point to the next
      p--;
      continue;
    }
    float u = (p[0] / 10.0f - 0.5f) * w, v = (p[1] / 10.0f - 0.5f) * h;
    u -= slant * v;
    pt[np][0] = cx + cr * u - sr * v;
    pt[np][1] = cy + sr * u + cr * v;
    np++;
  }
  size_t hw = (size_t)S * S;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      int cover = 0;  // 4x4 samples a pixel: antialiased strokes
      for (int sy = 0; sy < 4; sy++)
        for (int sx = 0; sx < 4; sx++) {
          float px = x + (sx + 0.5f) / 4, py = y + (sy + 0.5f) / 4;
          for (int i = 0; i + 1 < np; i++)
            if (!brk[i] && seg_d2(px, py, pt[i][0], pt[i][1], pt[i + 1][0], pt[i + 1][1]) <= half * half) {
              cover++;
              break;
            }
        }
      uint8_t v = (uint8_t)(255.0f * cover / 16.0f + 0.5f);
      for (int k = 0; k < 3; k++) chw[k * hw + (size_t)y * S + x] = v;
    }
  return (uint8_t)d;
}

int prepare_synthetic_glyphs(const char *out_path, long long n, int size, unsigned long long seed) {
  return synthetic_split_write(out_path, n, size, seed, draw, " of digits 0-9", NULL, 0);
}
