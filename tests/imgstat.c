// imgstat: measurements of images for the style tests, decoded by genet's own reader.
//   imgstat tv A.png
//       prints the total variation of A on the [0, 255] scale: the sum of squared differences
//       of vertical and horizontal neighbours over the three channels (ops/tv.h's tv).
//   imgstat chroma RESULT.png CONTENT SIZE
//       CONTENT resized as the style task resizes it (short side SIZE) against RESULT (the same
//       size): the worst |U| and |V| difference (YUV, image_rgb_to_yuv) over the pixels none of
//       whose channels RESULT clipped (0 or 255), in units of 1/255, and how many pixels that
//       is. Exits 0 when both are within what the 8-bit truncation of RESULT allows (each
//       channel down by less than 1/255: |U| by sum |U row| = 0.87199, |V| by 1.23000, both
//       in 1/255) and at least half the pixels were checked, else 1; 2 on a bad file.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

static int tv(const char *path) {
  Image a;
  char err[8800];
  if (image_read(&a, path, err, sizeof err)) {
    fprintf(stderr, "imgstat: %s\n", err);
    return 2;
  }
  double s = 0;
  for (int i = 0; i < a.h; i++)
    for (int j = 0; j < a.w; j++)
      for (int c = 0; c < 3; c++) {
        double v = a.px[((size_t)i * a.w + j) * 3 + c];
        if (i + 1 < a.h) {
          double d = a.px[((size_t)(i + 1) * a.w + j) * 3 + c] - v;
          s += d * d;
        }
        if (j + 1 < a.w) {
          double d = a.px[((size_t)i * a.w + j + 1) * 3 + c] - v;
          s += d * d;
        }
      }
  printf("%.1f\n", s);
  image_free(&a);
  return 0;
}

static int chroma(const char *rpath, const char *cpath, int size) {
  Image r, c0, c;
  char err[8800];
  if (image_read(&r, rpath, err, sizeof err) || image_read(&c0, cpath, err, sizeof err) ||
      image_resize_short(&c, &c0, size, cpath, err, sizeof err)) {
    fprintf(stderr, "imgstat: %s\n", err);
    return 2;
  }
  if (r.h != c.h || r.w != c.w) {
    fprintf(stderr, "imgstat: %s is %dx%d, the resized content %dx%d\n", rpath, r.w, r.h, c.w, c.h);
    return 2;
  }
  size_t hw = (size_t)r.h * r.w, checked = 0;
  double worst[3] = {0, 0, 0};
  for (size_t i = 0; i < hw; i++) {
    const uint8_t *p = r.px + i * 3, *q = c.px + i * 3;
    int clipped = 0;
    for (int k = 0; k < 3; k++) clipped |= p[k] == 0 || p[k] == 255;
    if (clipped) continue;
    double a[3] = {p[0], p[1], p[2]}, b[3] = {q[0], q[1], q[2]}, ya[3], yb[3];
    image_rgb_to_yuv(ya, a);
    image_rgb_to_yuv(yb, b);
    for (int k = 1; k < 3; k++) worst[k] = fmax(worst[k], fabs(ya[k] - yb[k]));
    checked++;
  }
  const double bound[3] = {0, 0.87199 + 1e-4, 1.23 + 1e-4};
  int ok = worst[1] <= bound[1] && worst[2] <= bound[2] && 2 * checked >= hw;
  printf("chroma: worst |dU| %.4f (bound %.4f), |dV| %.4f (bound %.4f) /255 over %zu of %zu pixels\n",
         worst[1], bound[1], worst[2], bound[2], checked, hw);
  image_free(&r);
  image_free(&c0);
  image_free(&c);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "tv")) return tv(argv[2]);
  if (argc == 5 && !strcmp(argv[1], "chroma")) return chroma(argv[2], argv[3], atoi(argv[4]));
  fprintf(stderr, "usage: imgstat tv A.png | imgstat chroma RESULT.png CONTENT SIZE\n");
  return 2;
}
