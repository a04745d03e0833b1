// swd.h: the sliced Wasserstein distance between two sets of images, a GAN quality number that
// needs no downloaded network (Karras et al., "Progressive Growing of GANs", 2018, appendix D
// and their metrics/sliced_wasserstein.py). On the host, in double.
//
// The steps, named as in the paper:
//   1. Laplacian pyramid: level 0 is the image, each next level pyr_down (the 5x5 binomial
//      filter [1 4 6 4 1]^2 / 256, mirrored borders as scipy's mode='mirror', every second
//      pixel), the level above keeps image - pyr_up(next) (zeros between the pixels, the
//      filter x 4); the last level is the low-pass image. Levels down to 16 px: H, 1/2 H, ...
//      while the size is >= 16 (64x64: 64, 32, 16; 32x32: 32, 16; 48x48: 48, 24).
//   2. Descriptors: 128 random 7x7 neighbourhoods per image per level (centres at least 3
//      pixels from every border), 3 x 7 x 7 = 147 values each.
//   3. Normalization: each channel of a set's descriptors minus its mean, divided by its
//      standard deviation, over all neighbourhoods and pixels of that set (population std;
//      a channel with std 0 is left at 0). Real and generated sets are normalized apart, so
//      [-1, 1] and [0, 255] images give the same distance.
//   4. Sliced Wasserstein: 512 random unit directions (Gaussian draws, normalized) per level;
//      both sets projected, each direction's projections sorted, the mean absolute difference
//      over neighbourhoods and directions (the original's 4 repeats of 128 directions
//      averaged is the same mean).
//   5. Reported x 1e3 per level (finest first) and their mean.
//
// Images are (n, 3, H, W) floats (genet's DCGAN holds them in [-1, 1]). Both sets have the
// same n (the original compares equal numbers of descriptors) and use the SAME neighbourhood
// centres for image i of each set, so SWD(a, a) is exactly 0. Sizes: H and W must be >= 16;
// every level that is downsampled must have even sides (64, 48, 40 work; 33 or 50x50 with a
// third level of 12.5 px do not): anything else is refused with a message, never guessed.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SWD_MIN_RES 16         // the coarsest level is at least this many pixels
#define SWD_PATCH 7            // neighbourhood side
#define SWD_PATCHES 128        // neighbourhoods per image per level
#define SWD_DIRS 512           // random projections per level
#define SWD_DESC (3 * SWD_PATCH * SWD_PATCH)  // 147 values per descriptor
#define SWD_MAX_LEVELS 12

// Number of levels for H x W images, or -1 with a message when the size is refused.
int swd_levels(int H, int W, char *err, size_t errlen);

// The distance with draws from genet's Philox streams of `seed` (streams SWD_STREAM(level, k),
// so any seed, the training seed included, gives streams no other part of genet draws).
// per_level[SWD_MAX_LEVELS] gets x1e3 values, finest level first, *mean their mean. Returns the
// number of levels, or -1 with a message (bad size, n < 1).
int swd_compute(double *per_level, double *mean, const float *a, const float *b, int n, int H,
                int W, uint64_t seed, char *err, size_t errlen);

// What swd_compute draws, for one level of h x w pixels (tests and the NumPy fixture):
// centres (n * SWD_PATCHES, 2) as (y, x); raw Gaussian directions (SWD_DIRS, SWD_DESC).
#define SWD_STREAM(level, k) ((0x535744ull << 32) + 2 * (uint64_t)(level) + (k))
void swd_draw_patches(int *yx, int n, int h, int w, uint64_t seed, int level);
void swd_draw_dirs(float *dirs, uint64_t seed, int level);

// The same with explicit draws per level: patches[l] as swd_draw_patches gives, dirs[l] raw
// (normalized here). flags: 0, or SWD_PLANT_NO_NORMALIZE (a planted bug the test must catch:
// step 3 skipped).
#define SWD_PLANT_NO_NORMALIZE 1
int swd_compute_with(double *per_level, double *mean, const float *a, const float *b, int n,
                     int H, int W, const int *const *patches, const float *const *dirs,
                     int flags, char *err, size_t errlen);
