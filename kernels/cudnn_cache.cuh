// cudnn_cache.cuh: what the cuDNN-based ops keep between calls, owned by the CudaCtx (.cu files
// only): one convolution plan per (direction, shape, precision) and one scratch buffer the
// context's ops share. The GPU counterpart of src/core/primcache.c and src/ops/convplan.c:
// the first call with a shape makes the descriptors, picks the algorithm and sizes the scratch;
// later calls allocate nothing.
#pragma once
#include <stddef.h>

#include "cuda_internal.cuh"

typedef struct DnnCache DnnCache;

DnnCache *dnncache_new(void);
// Destroys every descriptor and frees the scratch; called by cuda_ctx_free.
void dnncache_free(DnnCache *d);

// A device buffer of at least `bytes`, valid until the next call. Every op of the context runs
// in order on its stream, so one buffer serves them all (cuDNN workspaces, BatchNorm's partial
// sums); it only grows, which happens at most once per new shape (the stream is drained first,
// so a queued kernel never sees its buffer freed).
void *dnncache_scratch(CudaCtx *c, size_t bytes);

// One direction of one cross-correlation (PyTorch's Conv2d, groups 1, dilation 1):
//   x (N, C, H, W)  *  w (K, C, k, k)  ->  y (N, K, Ho, Wo), stride and zero padding `pad`.
// The transposed convolution uses the same plans with its roles swapped (conv_transpose.cu).
typedef enum { CONV_FWD = 1, CONV_BWD_DATA = 2, CONV_BWD_FILTER = 3 } ConvDir;

typedef struct {
  cudnnTensorDescriptor_t x, y;    // (N, C, H, W), (N, K, Ho, Wo)
  cudnnTensorDescriptor_t bx, by;  // (1, C, 1, 1), (1, K, 1, 1): a bias over x's or y's channels
  cudnnFilterDescriptor_t w;       // (K, C, k, k)
  cudnnConvolutionDescriptor_t conv;  // math type: the chosen algorithm's (FMA only in fp32)
  int algo;         // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, as `dir` says
  size_t ws_bytes;  // the workspace that algorithm needs (take it from dnncache_scratch)
} ConvPlan;

// The plan for this direction and shape at the context's current precision (c->tf32); made on
// the first call, then found.
const ConvPlan *conv_plan(CudaCtx *c, ConvDir dir, int N, int C, int H, int W, int K, int k,
                          int stride, int pad);
