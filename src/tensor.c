// tensor.c: views, allocation on either device, copies between them.
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#ifdef GENET_HAVE_CUDA
#include "cuda_mem.h"
#endif

Tensor tensor_view(float *data, Device dev, int ndim, const int *shape) {
  GENET_ASSERT(ndim >= 1 && ndim <= TENSOR_MAX_DIMS);
  Tensor t = {data, ndim, {1, 1, 1, 1}, dev};
  for (int i = 0; i < ndim; i++) {
    GENET_ASSERT(shape[i] > 0);
    t.shape[i] = shape[i];
  }
  return t;
}

size_t tensor_numel(const Tensor *t) {
  size_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
  return n;
}

Tensor tensor_alloc(Device dev, int ndim, const int *shape) {
  Tensor t = tensor_view(NULL, dev, ndim, shape);
  size_t bytes = tensor_numel(&t) * sizeof(float);
  if (dev == DEV_CUDA) {
#ifdef GENET_HAVE_CUDA
    t.data = cuda_alloc_zeroed(bytes);
#else
    genet_die("tensor_alloc: CUDA tensor in a build without CUDA");
#endif
  } else {
    t.data = xmalloc_floats(tensor_numel(&t));
    memset(t.data, 0, bytes);
  }
  return t;
}

void tensor_free(Tensor *t) {
  if (t->dev == DEV_CUDA) {
#ifdef GENET_HAVE_CUDA
    cuda_free(t->data);
#endif
  } else {
    free(t->data);
  }
  t->data = NULL;
}

void tensor_copy(Tensor *dst, const Tensor *src) {
  size_t n = tensor_numel(src);
  GENET_ASSERT(tensor_numel(dst) == n);
  if (dst->dev == DEV_CPU && src->dev == DEV_CPU) {
    memcpy(dst->data, src->data, n * sizeof(float));
    return;
  }
#ifdef GENET_HAVE_CUDA
  cuda_copy(dst->data, dst->dev == DEV_CUDA, src->data, src->dev == DEV_CUDA, n * sizeof(float));
#else
  genet_die("tensor_copy: CUDA tensor in a build without CUDA");
#endif
}
