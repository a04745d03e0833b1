// pngcmp A.png AX AY B.png BX BY W H: compares the W x H region of A at (AX, AY) with that of
// B at (BX, BY), decoded by genet's own reader (image_read). Prints how many distinct byte
// values the region of A holds (so a script can tell a flat region from an image) and exits 0
// when the regions are equal byte for byte, 1 when they differ, 2 on a bad file or region.
// Used by test_dcgan_train.sh to find one image of a `genet sample` grid in another.
#include <stdio.h>
#include <stdlib.h>

#include "data/image.h"

static int region_ok(const Image *m, int x, int y, int w, int h) {
  return x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= m->w && y + h <= m->h;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: pngcmp A.png AX AY B.png BX BY W H\n");
    return 2;
  }
  Image a, b;
  char err[8800];
  if (image_read(&a, argv[1], err, sizeof err) || image_read(&b, argv[4], err, sizeof err)) {
    fprintf(stderr, "pngcmp: %s\n", err);
    return 2;
  }
  int ax = atoi(argv[2]), ay = atoi(argv[3]), bx = atoi(argv[5]), by = atoi(argv[6]);
  int w = atoi(argv[7]), h = atoi(argv[8]);
  if (!region_ok(&a, ax, ay, w, h) || !region_ok(&b, bx, by, w, h)) {
    fprintf(stderr, "pngcmp: the region lies outside %dx%d or %dx%d\n", a.w, a.h, b.w, b.h);
    return 2;
  }
  int seen[256] = {0}, distinct = 0, diff = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w * 3; x++) {
      uint8_t pa = a.px[((size_t)(ay + y) * a.w + ax) * 3 + x];
      uint8_t pb = b.px[((size_t)(by + y) * b.w + bx) * 3 + x];
      distinct += !seen[pa]++;
      diff += pa != pb;
    }
  printf("%d distinct values, %d bytes differ\n", distinct, diff);
  image_free(&a);
  image_free(&b);
  return diff ? 1 : 0;
}
