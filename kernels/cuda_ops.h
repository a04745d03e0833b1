// cuda_ops.h: the CUDA implementations of genet's ops. Same signatures as the CPU ops in src/,
// with the CudaCtx (stream, handles) in place of Ctx. Pointers are device memory.
#pragma once
#include <stddef.h>

#include "cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

void gemm_cuda(CudaCtx *c, int transa, int transb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void act_forward_cuda(CudaCtx *c, int kind, float slope, float *y, const float *x, size_t n);
void act_backward_cuda(CudaCtx *c, int kind, float slope, float *dx, const float *dy,
                       const float *y, size_t n);

// x *= s (src/ops/scale.h)
void scale_inplace_cuda(CudaCtx *c, float *x, size_t n, float s);

#ifdef __cplusplus
}
#endif
