// gemm.cu: genet's row-major GEMM on cuBLAS. A row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T, so swap the operands and the M/N roles; no data moves.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"

extern "C" void gemm_cuda(CudaCtx *c, int transa, int transb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta, float *C,
                          int ldc) {
  CUBLAS_CHECK(cublasSgemm(c->cublas, transb ? CUBLAS_OP_T : CUBLAS_OP_N,
                           transa ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A, lda,
                           &beta, C, ldc));
}
