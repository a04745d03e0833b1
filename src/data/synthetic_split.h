// synthetic_split.h: what the synthetic image sets (synthetic_images.c, synthetic_glyphs.c)
// share: drawing a train and a test split image by image and writing them in the CIFAR-10
// layout (train/images, train/labels, test/...), atomically.
#pragma once
#include <stdint.h>

// Draws one S x S image (3, S, S) from the RNG stream (seed, stream); returns its label.
typedef uint8_t (*SynthDraw)(uint8_t *chw, int S, uint64_t seed, uint64_t stream);

// n training images and n / 5 (at least 1) test images, image i of a split from stream
// stream0 + i (train 0, test 2^40: the two never meet), written to out_path; prints the
// "wrote ..." line (`what` after "test N images", e.g. " of digits 0-9"). When count is not
// NULL, count[c] gets the training images with label c (labels < nclass). 0, or 1 with the
// message on stderr.
int synthetic_split_write(const char *out_path, long long n, int size, unsigned long long seed,
                          SynthDraw draw, const char *what, long *count, int nclass);
