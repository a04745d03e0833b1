// tensor.h: a shaped view of float32 memory that someone else owns (a model's activation
// buffer, the flat parameter buffer, a dataset batch). No reference counting: the owner frees.
// Ops take raw pointers and sizes (outputs first); Tensor is how models and tests carry shapes.
#pragma once
#include <stddef.h>

#include "ctx.h"

#define TENSOR_MAX_DIMS 4

typedef struct {
  float *data;
  int ndim;
  int shape[TENSOR_MAX_DIMS];  // NCHW for images, (T, B, C) for sequences
  Device dev;
} Tensor;

Tensor tensor_view(float *data, Device dev, int ndim, const int *shape);
size_t tensor_numel(const Tensor *t);
// Allocates storage on dev (host: 64-byte aligned; CUDA: cudaMalloc) and zeroes it.
Tensor tensor_alloc(Device dev, int ndim, const int *shape);
void tensor_free(Tensor *t);
// Copies between any two devices; shapes must hold the same number of elements.
void tensor_copy(Tensor *dst, const Tensor *src);
