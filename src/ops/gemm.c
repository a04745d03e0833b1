// gemm.c: the one GEMM, on oneDNN (CPU) or cuBLAS (CUDA, kernels/gemm.cu).
#include "ops/gemm.h"

#include "core/dispatch.h"
#include "core/util.h"

static void gemm_cpu(Ctx *ctx, int transa, int transb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc) {
  DNNL_CHECK(dnnl_sgemm(transa ? 'T' : 'N', transb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                        beta, C, ldc));
}

// ---- entry (core/dispatch.h)

void gemm(Ctx *ctx, int transa, int transb, int M, int N, int K, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  DISPATCH(ctx, gemm_cpu(ctx, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc),
           gemm_cuda(ctx->cuda, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
}
