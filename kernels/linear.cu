// linear.cu: y = x W^T + b as ops/linear.c does it: the bias broadcast into y, then one GEMM
// (gemm_cuda) adding x W^T; backward two GEMMs and the bias gradient's column sums.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"

// y (N, out): every row = b. blockIdx.y walks the rows, x-threads the columns.
static __global__ void bias_rows_kernel(float *y, const float *b, int N, int out) {
  for (int n = blockIdx.y; n < N; n += gridDim.y)
    for (int o = blockIdx.x * EW_THREADS + threadIdx.x; o < out; o += gridDim.x * EW_THREADS)
      y[(size_t)n * out + o] = b[o];
}

// db[o] += sum_n dy[n, o]: one thread per column sums its rows in the order n = 0, 1, ... into
// a zero-started accumulator and then adds it to db[o], the CPU op's order exactly, so the
// result is the CPU's bit for bit (reads are coalesced: neighbouring threads, neighbouring o).
static __global__ void bias_grad_kernel(float *db, const float *dy, int N, int out) {
  for (int o = blockIdx.x * EW_THREADS + threadIdx.x; o < out; o += gridDim.x * EW_THREADS) {
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += dy[(size_t)n * out + o];
    db[o] += acc;
  }
}

extern "C" void linear_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w,
                                    const float *b, int N, int in, int out) {
  if (b && N > 0 && out > 0) {
    dim3 grid(ew_blocks((size_t)out, 64), (unsigned)(N < 65535 ? N : 65535));
    bias_rows_kernel<<<grid, EW_THREADS, 0, c->stream>>>(y, b, N, out);
    CUDA_CHECK_LAUNCH();
  }
  gemm_cuda(c, 0, 1, N, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
}

extern "C" void linear_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                                     const float *x, const float *w, int N, int in, int out) {
  if (dx) gemm_cuda(c, 0, 0, N, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
  gemm_cuda(c, 1, 0, out, in, N, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db && out > 0) {
    bias_grad_kernel<<<ew_blocks((size_t)out, 65535), EW_THREADS, 0, c->stream>>>(db, dy, N, out);
    CUDA_CHECK_LAUNCH();
  }
}
