// prepare.h: the datasets `genet prepare KIND ...` writes into HDF5 (src/cmd/prepare.c reads
// the command line): official downloads and generated data. Each returns a process exit code
// after printing what it wrote (or one error line).
#pragma once
#include <stddef.h>

// The most bytes the vocabulary text (words joined by '\n') may take: `prepare text` refuses
// to write more, `train` and `generate` to read more, so a written file is always readable.
#define LM_VOCAB_MAX_BYTES ((size_t)64 << 20)

// WikiText-2 layout: SRC_DIR/{train,valid,test}.txt into OUT.h5 (docs/DATASETS.md).
int prepare_text(const char *src_dir, const char *out_path);
// CIFAR-10 binary batches: SRC_DIR/data_batch_{1..5}.bin, test_batch.bin into OUT.h5.
int prepare_cifar10(const char *src_dir, const char *out_path);
// Text from a fixed Markov chain with a known entropy rate: OUT_DIR/{train,valid,test}.txt.
// entropy_out (may be NULL) receives the entropy rate in nats per token.
int prepare_synthetic_text(const char *out_dir, long long train_tokens, unsigned long long seed,
                           double *entropy_out);
// A folder of .png/.jpg/.jpeg files (sorted by name) into OUT.h5: `images` (N, 3, size,
// size) uint8, each resized as torchvision Resize(size) + CenterCrop(size), and `names`.
int prepare_images(const char *src_dir, const char *out_path, int size);
// Coloured shapes (a class per shape) on plain or gradient backgrounds, n train and n / 5
// test images of size x size, in exactly the CIFAR-10 layout; the same seed, the same data.
int prepare_synthetic_images(const char *out_path, long long n, int size, unsigned long long seed);
// Digits 0-9 as white strokes on black (size, position, stroke width, slant and rotation
// jittered; label = the digit), n train and n / 5 test images, in the CIFAR-10 layout.
int prepare_synthetic_glyphs(const char *out_path, long long n, int size, unsigned long long seed);
