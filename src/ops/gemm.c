// gemm.c: dispatch of the one GEMM to oneDNN (CPU) or cuBLAS (CUDA).
#include "ops/gemm.h"

#include "core/util.h"
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_ops.h"
#endif

void gemm(Ctx *ctx, int transa, int transb, int M, int N, int K, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  if (ctx->dev == DEV_CUDA) {
#ifdef GENET_HAVE_CUDA
    gemm_cuda(ctx->cuda, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
#else
    genet_die("gemm: CUDA context in a build without CUDA");
#endif
  }
  DNNL_CHECK(dnnl_sgemm(transa ? 'T' : 'N', transb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                        beta, C, ldc));
}
