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

// ---- cuDNN convolutions (conv.cu, conv_transpose.cu), BatchNorm and max pooling (batchnorm.cu,
// pool.cu): the ops of src/ops/{conv,conv_transpose,batchnorm,pool}.h, same arguments and
// semantics (parameter gradients +=, input gradients =). maxpool2d's workspace on CUDA is one
// int32 argmax per output element.
void conv2d_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w, const float *b,
                         int N, int Cin, int H, int W, int Cout, int K, int stride, int pad);
void conv2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, int N, int Cin, int H, int W, int Cout,
                          int K, int stride, int pad);
void conv_transpose2d_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w,
                                   const float *b, int N, int Cin, int H, int W, int Cout, int K,
                                   int stride, int pad);
void conv_transpose2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                                    const float *x, const float *w, int N, int Cin, int H, int W,
                                    int Cout, int K, int stride, int pad);
void batchnorm_forward_cuda(CudaCtx *c, float *y, float *save_mean, float *save_var,
                            float *running_mean, float *running_var, const float *x,
                            const float *weight, const float *bias, int N, int C, int H, int W,
                            int training, float momentum, float eps);
void batchnorm_backward_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias, const float *dy,
                             const float *x, const float *save_mean, const float *save_var,
                             const float *weight, int N, int C, int H, int W, int training,
                             float eps);
size_t maxpool2d_workspace_size_cuda(CudaCtx *c, int N, int C, int H, int W, int K, int stride);
void maxpool2d_forward_cuda(CudaCtx *c, float *y, void *ws, const float *x, int N, int C, int H,
                            int W, int K, int stride);
void maxpool2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, const void *ws, int N, int C,
                             int H, int W, int K, int stride);

#ifdef __cplusplus
}
#endif
