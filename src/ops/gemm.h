// gemm.h: every matrix product in genet goes through here. Row-major, as dnnl_sgemm:
//   C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C
// with op(X) = X or X^T as transa/transb are 0 or 1, and leading dimensions in elements.
// CPU: oneDNN's dnnl_sgemm. CUDA: cuBLAS (kernels/gemm.cu) with the row-major trick.
#pragma once
#include "core/ctx.h"

void gemm(Ctx *ctx, int transa, int transb, int M, int N, int K, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc);
