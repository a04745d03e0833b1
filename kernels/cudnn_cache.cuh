// cudnn_cache.cuh: what the cuDNN-based ops keep between calls, owned by the CudaCtx (.cu files
// only): one convolution plan per (direction, shape, precision) and one scratch buffer the
// context's ops share. The GPU counterpart of src/core/primcache.c and src/ops/convplan.c:
// the first call with a shape makes the descriptors, picks the algorithm and sizes the scratch;
// later calls allocate nothing.
#pragma once
#include <stddef.h>

#include "kernels/cuda_internal.cuh"

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

enum {
  CONV_KEY_LEN = 10,   // dir, N, C, H, W, K, k, stride, pad, tf32
  CONV_MAX_CANDS = 16  // more than cuDNN 9 ranks for any direction (8 at most)
};

typedef struct {
  ConvDir dir;
  int key[CONV_KEY_LEN];
  struct {
    int algo;              // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, as `dir` says
    cudnnMathType_t math;  // the math type cuDNN ranked it with
  } cand[CONV_MAX_CANDS];  // the usable algorithms, best first (cudnn_cache.cu, conv_rank)
  int ncand, cur;          // how many; the one in use
  cudnnTensorDescriptor_t x, y;    // (N, C, H, W), (N, K, Ho, Wo)
  cudnnTensorDescriptor_t bx, by;  // (1, C, 1, 1), (1, K, 1, 1): a bias over x's or y's channels
  cudnnFilterDescriptor_t w;       // (K, C, k, k)
  cudnnConvolutionDescriptor_t conv;  // math type: the chosen algorithm's (FMA only in fp32)
  int algo;         // cand[cur].algo
  size_t ws_bytes;  // the workspace that algorithm needs (conv_run takes it from dnncache_scratch)
} ConvPlan;

// The plan for this direction and shape at the context's current precision (c->tf32); made on
// the first call, then found.
ConvPlan *conv_plan(CudaCtx *c, ConvDir dir, int N, int C, int H, int W, int K, int k,
                    int stride, int pad);

// Runs the plan's direction on c's stream, out = conv(in0, in1) + beta * out, with the inputs in
// the order cuDNN's call takes them: forward (x, w) -> y, backward data (w, dy) -> dx, backward
// filter (x, dy) -> dw, in the plan's descriptors' roles. When the call fails with the
// algorithm in use, the plan moves to the next candidate (one line on stderr) and tries again,
// as PyTorch does; it dies when none is left.
void conv_run(CudaCtx *c, ConvPlan *p, const void *in0, const void *in1, float beta, void *out);
