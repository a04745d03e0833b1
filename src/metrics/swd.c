// swd.c: the sliced Wasserstein distance (swd.h has the steps and the rules on sizes).
#include "metrics/swd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"

static const double binom5[5] = {1 / 16.0, 4 / 16.0, 6 / 16.0, 4 / 16.0, 1 / 16.0};

int swd_levels(int H, int W, char *err, size_t errlen) {
  if (H < SWD_MIN_RES || W < SWD_MIN_RES)
    return genet_err(err, errlen, "swd: images of %dx%d are smaller than %d px", H, W,
                     SWD_MIN_RES);
  int levels = 1, h = H, w = W;
  while (h / 2 >= SWD_MIN_RES && w / 2 >= SWD_MIN_RES && levels < SWD_MAX_LEVELS) {
    if (h % 2 || w % 2)
      return genet_err(err, errlen,
                       "swd: level %d is %dx%d, odd sides cannot be halved for the pyramid", levels - 1,
                       h, w);
    h /= 2;
    w /= 2;
    levels++;
  }
  return levels;
}

// scipy.ndimage mode 'mirror': reflection about the edge pixel (d c b | a b c d | c b a).
static int mirror(int i, int n) {
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

// pyr_down, one plane: the binomial filter, then every second pixel; out is (h/2, w/2).
static void pyr_down(double *out, const double *in, int h, int w) {
  for (int y = 0; y < h / 2; y++)
    for (int x = 0; x < w / 2; x++) {
      double s = 0;
      for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
          s += binom5[i] * binom5[j] * in[mirror(2 * y + i - 2, h) * w + mirror(2 * x + j - 2, w)];
      out[y * (w / 2) + x] = s;
    }
}

// in -= pyr_up(low), one plane: low (h/2, w/2) spread on every second pixel of an (h, w)
// plane of zeros, then the binomial filter x 4.
static void sub_pyr_up(double *in, const double *low, int h, int w) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double s = 0;
      for (int i = 0; i < 5; i++) {
        int yy = mirror(y + i - 2, h);
        if (yy % 2) continue;
        for (int j = 0; j < 5; j++) {
          int xx = mirror(x + j - 2, w);
          if (xx % 2) continue;
          s += binom5[i] * binom5[j] * low[(yy / 2) * (w / 2) + xx / 2];
        }
      }
      in[y * w + x] -= 4 * s;
    }
}

// Step 1 for one set: lev[l] is (n, 3, H >> l, W >> l), malloc'd.
static void laplacian_pyramid(double **lev, const float *img, int n, int H, int W, int L) {
  size_t np = (size_t)n * 3;
  lev[0] = xmalloc(np * H * W * sizeof(double));
  for (size_t i = 0; i < np * H * W; i++) lev[0][i] = img[i];
  for (int l = 1; l < L; l++) {
    int h = H >> (l - 1), w = W >> (l - 1);
    lev[l] = xmalloc(np * (h / 2) * (w / 2) * sizeof(double));
    for (size_t p = 0; p < np; p++) {
      double *hi = lev[l - 1] + p * h * w, *lo = lev[l] + p * (h / 2) * (w / 2);
      pyr_down(lo, hi, h, w);
      sub_pyr_up(hi, lo, h, w);
    }
  }
}

// Steps 2 and 3: desc (n * SWD_PATCHES, SWD_DESC) from one level (n, 3, h, w).
static void descriptors(double *desc, const double *lev, int n, int h, int w, const int *yx,
                        int flags) {
  const int r = SWD_PATCH / 2;
  size_t m = (size_t)n * SWD_PATCHES;
  for (size_t q = 0; q < m; q++) {
    const double *img = lev + (q / SWD_PATCHES) * 3 * h * w;
    int y0 = yx[2 * q] - r, x0 = yx[2 * q + 1] - r;
    double *d = desc + q * SWD_DESC;
    for (int c = 0; c < 3; c++)
      for (int dy = 0; dy < SWD_PATCH; dy++)
        for (int dx = 0; dx < SWD_PATCH; dx++)
          *d++ = img[((size_t)c * h + y0 + dy) * w + x0 + dx];
  }
  if (flags & SWD_PLANT_NO_NORMALIZE) return;
  const int pc = SWD_PATCH * SWD_PATCH;
  for (int c = 0; c < 3; c++) {
    double sum = 0, sq = 0;
    for (size_t q = 0; q < m; q++)
      for (int k = 0; k < pc; k++) sum += desc[q * SWD_DESC + c * pc + k];
    double mean = sum / (double)(m * pc);
    for (size_t q = 0; q < m; q++)
      for (int k = 0; k < pc; k++) {
        double v = desc[q * SWD_DESC + c * pc + k] - mean;
        sq += v * v;
      }
    double sd = sqrt(sq / (double)(m * pc)), inv = sd > 0 ? 1 / sd : 0;
    for (size_t q = 0; q < m; q++)
      for (int k = 0; k < pc; k++) {
        double *v = &desc[q * SWD_DESC + c * pc + k];
        *v = (*v - mean) * inv;
      }
  }
}

// Sorts x[0..n) ascending by LSD radix on the doubles' bits (sign flipped, negatives
// inverted, so unsigned order is numeric order): 6 passes of 11, 11, 11, 11, 10, 10 bits
// through tmp, the counts of all taken in one read first, a pass skipped when every key has the
// same digit there (the exponent's bits often do). A few times faster than qsort, which
// dominated the metric's time; any correct sort gives the same array.
#define SORT_PASSES 6
static void sort_doubles(double *x, uint64_t *key, uint64_t *tmp, size_t n) {
  static const int shift[SORT_PASSES] = {0, 11, 22, 33, 44, 54},
                   bits[SORT_PASSES] = {11, 11, 11, 11, 10, 10};
  size_t (*count)[(1 << 11) + 1] = xcalloc(SORT_PASSES, sizeof *count);  // 96 KB: not on a thread's stack
  for (size_t i = 0; i < n; i++) {
    uint64_t u;
    memcpy(&u, &x[i], sizeof u);
    u = (u >> 63) ? ~u : u | 0x8000000000000000ull;
    key[i] = u;
    for (int p = 0; p < SORT_PASSES; p++) count[p][((u >> shift[p]) & ((1u << bits[p]) - 1)) + 1]++;
  }
  for (int p = 0; p < SORT_PASSES; p++) {
    size_t *c = count[p];
    int nb = 1 << bits[p], uniform = 0;
    for (int b = 0; b < nb; b++) uniform |= c[b + 1] == n;
    if (uniform) continue;
    for (int b = 0; b < nb; b++) c[b + 1] += c[b];
    uint64_t mask = nb - 1;
    for (size_t i = 0; i < n; i++) tmp[c[(key[i] >> shift[p]) & mask]++] = key[i];
    uint64_t *swap = key;
    key = tmp;
    tmp = swap;
  }
  for (size_t i = 0; i < n; i++) {  // the sorted keys are in `key` (swapped with each pass)
    uint64_t u = key[i];
    u = (u >> 63) ? u & 0x7fffffffffffffffull : ~u;
    memcpy(&x[i], &u, sizeof u);
  }
  free(count);
}

// Step 4: the mean over directions and neighbourhoods of |sorted proj A - sorted proj B|.
#define SWD_BLOCK 16  // directions projected together (the inner loop runs over them)
#define SWD_QBLOCK 2   // neighbourhoods projected together
typedef double swd_v4 __attribute__((vector_size(32)));  // 4 doubles (GCC, Clang)
// The same read straight from a double array (unaligned, aliasing it): a memcpy into swd_v4
// went through the stack in halves and stalled each full-width load.
typedef double swd_v4u __attribute__((vector_size(32), aligned(8), may_alias));
static double sliced_wasserstein(const double *da, const double *db, size_t m, const float *raw) {
  double *dirs = xmalloc((size_t)SWD_DIRS * SWD_DESC * sizeof(double));
  for (int d = 0; d < SWD_DIRS; d++) {
    double nn = 0;
    for (int k = 0; k < SWD_DESC; k++) nn += (double)raw[d * SWD_DESC + k] * raw[d * SWD_DESC + k];
    double inv = 1 / sqrt(nn);
    for (int k = 0; k < SWD_DESC; k++)
      // (SWD_DIRS / SWD_BLOCK, SWD_DESC, SWD_BLOCK): a block's directions contiguous, so its
      // rows k are not 4 KB apart (one L1 set for all of them)
      dirs[((size_t)(d / SWD_BLOCK) * SWD_DESC + k) * SWD_BLOCK + d % SWD_BLOCK] = raw[d * SWD_DESC + k] * inv;
  }
  // Blocks of directions are independent: threads take blocks, each with its own projection
  // buffers; the per-direction sums are added in direction order afterwards, so the result does
  // not depend on the number of threads.
  double *per_dir = xmalloc((size_t)SWD_DIRS * sizeof(double));
#pragma omp parallel
  {
    double *pa = xmalloc(m * SWD_BLOCK * sizeof(double)), *pb = xmalloc(m * SWD_BLOCK * sizeof(double));
    uint64_t *key = xmalloc(m * sizeof(uint64_t)), *tmp = xmalloc(m * sizeof(uint64_t));
#pragma omp for schedule(dynamic)
    for (int d0 = 0; d0 < SWD_DIRS; d0 += SWD_BLOCK) {
      const double *dblk = dirs + (size_t)d0 * SWD_DESC;
      for (int s = 0; s < 2; s++) {
        const double *desc = s ? db : da;
        double *p = s ? pb : pa;
        // SWD_QBLOCK neighbourhoods at once, the block's directions in 4-wide vectors (GCC
        // left the plain loop scalar, its sums spilled to the stack): each sum still adds
        // v * dir for k = 0, 1, ... in order, lane by lane, so the values are the same to the bit.
        size_t q = 0;
        for (; q + SWD_QBLOCK <= m; q += SWD_QBLOCK) {
          swd_v4 acc[SWD_QBLOCK][SWD_BLOCK / 4];
          memset(acc, 0, sizeof acc);
          const double *dq = desc + q * SWD_DESC;
          for (int k = 0; k < SWD_DESC; k++) {
            const swd_v4u *dk = (const swd_v4u *)(dblk + (size_t)k * SWD_BLOCK);
            for (int i = 0; i < SWD_QBLOCK; i++) {
              double v = dq[(size_t)i * SWD_DESC + k];
              for (int h = 0; h < SWD_BLOCK / 4; h++) acc[i][h] += v * dk[h];
            }
          }
          for (int i = 0; i < SWD_QBLOCK; i++)
            for (int j = 0; j < SWD_BLOCK; j++) p[j * m + q + i] = acc[i][j / 4][j % 4];
        }
        for (; q < m; q++) {
          double acc[SWD_BLOCK] = {0};
          for (int k = 0; k < SWD_DESC; k++) {
            double v = desc[q * SWD_DESC + k];
            const double *dk = dblk + (size_t)k * SWD_BLOCK;
            for (int j = 0; j < SWD_BLOCK; j++) acc[j] += v * dk[j];
          }
          for (int j = 0; j < SWD_BLOCK; j++) p[j * m + q] = acc[j];
        }
      }
      for (int j = 0; j < SWD_BLOCK; j++) {
        sort_doubles(pa + j * m, key, tmp, m);
        sort_doubles(pb + j * m, key, tmp, m);
        double sum = 0;
        for (size_t q = 0; q < m; q++) sum += fabs(pa[j * m + q] - pb[j * m + q]);
        per_dir[d0 + j] = sum;
      }
    }
    free(pa);
    free(pb);
    free(key);
    free(tmp);
  }
  double total = 0;
  for (int d = 0; d < SWD_DIRS; d++) total += per_dir[d];
  free(per_dir);
  free(dirs);
  return total / ((double)m * SWD_DIRS);
}

int swd_compute_with(double *per_level, double *mean, const float *a, const float *b, int n,
                     int H, int W, const int *const *patches, const float *const *dirs,
                     int flags, char *err, size_t errlen) {
  int L = swd_levels(H, W, err, errlen);
  if (L < 0) return -1;
  if (n < 1) return genet_err(err, errlen, "swd: %d images per set (need at least 1)", n);
  double *la[SWD_MAX_LEVELS], *lb[SWD_MAX_LEVELS];
  laplacian_pyramid(la, a, n, H, W, L);
  laplacian_pyramid(lb, b, n, H, W, L);
  size_t m = (size_t)n * SWD_PATCHES;
  double *da = xmalloc(m * SWD_DESC * sizeof(double)), *db = xmalloc(m * SWD_DESC * sizeof(double));
  *mean = 0;
  for (int l = 0; l < L; l++) {
    int h = H >> l, w = W >> l;
    for (size_t q = 0; q < m; q++)  // centres from outside: a broken invariant if out of range
      GENET_ASSERT(patches[l][2 * q] >= SWD_PATCH / 2 && patches[l][2 * q] < h - SWD_PATCH / 2 &&
                   patches[l][2 * q + 1] >= SWD_PATCH / 2 &&
                   patches[l][2 * q + 1] < w - SWD_PATCH / 2);
    descriptors(da, la[l], n, h, w, patches[l], flags);
    descriptors(db, lb[l], n, h, w, patches[l], flags);
    per_level[l] = 1e3 * sliced_wasserstein(da, db, m, dirs[l]);
    *mean += per_level[l] / L;
    free(la[l]);
    free(lb[l]);
  }
  free(da);
  free(db);
  return L;
}

void swd_draw_patches(int *yx, int n, int h, int w, uint64_t seed, int level) {
  const int r = SWD_PATCH / 2;
  Rng g;
  rng_init(&g, seed, SWD_STREAM(level, 0));
  for (size_t q = 0; q < (size_t)n * SWD_PATCHES; q++) {
    yx[2 * q] = r + (int)(rng_u32(&g) % (uint32_t)(h - 2 * r));
    yx[2 * q + 1] = r + (int)(rng_u32(&g) % (uint32_t)(w - 2 * r));
  }
}

void swd_draw_dirs(float *dirs, uint64_t seed, int level) {
  Rng g;
  rng_init(&g, seed, SWD_STREAM(level, 1));
  rng_fill_normal(&g, dirs, (size_t)SWD_DIRS * SWD_DESC, 0, 1);
}

int swd_compute(double *per_level, double *mean, const float *a, const float *b, int n, int H,
                int W, uint64_t seed, char *err, size_t errlen) {
  int L = swd_levels(H, W, err, errlen);
  if (L < 0) return -1;
  if (n < 1) return genet_err(err, errlen, "swd: %d images per set (need at least 1)", n);
  int *patches[SWD_MAX_LEVELS] = {0};
  float *dirs[SWD_MAX_LEVELS] = {0};
  for (int l = 0; l < L; l++) {
    patches[l] = xmalloc((size_t)n * SWD_PATCHES * 2 * sizeof(int));
    swd_draw_patches(patches[l], n, H >> l, W >> l, seed, l);
    dirs[l] = xmalloc((size_t)SWD_DIRS * SWD_DESC * sizeof(float));
    swd_draw_dirs(dirs[l], seed, l);
  }
  int rc = swd_compute_with(per_level, mean, a, b, n, H, W, (const int *const *)patches,
                            (const float *const *)dirs, 0, err, errlen);
  for (int l = 0; l < L; l++) {
    free(patches[l]);
    free(dirs[l]);
  }
  return rc;
}
