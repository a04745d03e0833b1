// synthetic_split.c: the train/test writer of the synthetic image sets (synthetic_split.h).
#include "data/synthetic_split.h"

#include <stdio.h>
#include <stdlib.h>

#include "data/h5io.h"
#include "data/h5safe.h"
#include "core/util.h"

static void draw_split(SynthDraw draw, uint8_t *img, uint8_t *lab, long n, int S, uint64_t seed,
                       uint64_t stream0) {
  size_t per = (size_t)3 * S * S;
#pragma omp parallel for schedule(dynamic, 16)
  for (long i = 0; i < n; i++) lab[i] = draw(img + per * (size_t)i, S, seed, stream0 + (uint64_t)i);
}

int synthetic_split_write(const char *out_path, long long n, int size, unsigned long long seed,
                          SynthDraw draw, const char *what, long *count, int nclass) {
  long ntr = (long)n, nte = (long)(n / 5 > 0 ? n / 5 : 1);
  size_t per = (size_t)3 * size * size;
  uint8_t *img[2] = {xmalloc(per * ntr), xmalloc(per * nte)}, *lab[2] = {xmalloc(ntr), xmalloc(nte)};
  draw_split(draw, img[0], lab[0], ntr, size, seed, 0);
  draw_split(draw, img[1], lab[1], nte, size, seed, 1ull << 40);  // test streams never meet train's
  H5SafeWriter cw;
  char err[600];
  int rc = 0;
  if (h5safe_begin_path(&cw, out_path, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    rc = 1;
  } else {
    int w = 0;
    const char *groups[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
      char name[64];
      int64_t dims[4] = {s ? nte : ntr, 3, size, size};
      snprintf(name, sizeof name, "%s/images", groups[s]);
      w |= h5_write_u8(&cw.f, name, img[s], 4, dims);
      snprintf(name, sizeof name, "%s/labels", groups[s]);
      w |= h5_write_u8(&cw.f, name, lab[s], 1, dims);
    }
    if (h5safe_finish(&cw, w)) {
      rc = 1;
    } else {
      printf("wrote %s: train %ld images, test %ld images%s, uint8 (N, 3, %d, %d) + labels (seed %llu)\n",
             out_path, ntr, nte, what, size, size, seed);
      if (count) {
        for (int c = 0; c < nclass; c++) count[c] = 0;
        for (long i = 0; i < ntr; i++) count[lab[0][i]]++;
      }
    }
  }
  for (int k = 0; k < 2; k++) {
    free(img[k]);
    free(lab[k]);
  }
  return rc;
}
