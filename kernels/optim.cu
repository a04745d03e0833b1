// optim.cu: the optimizers' element loops and the gradient norm's sum of squares on the GPU.
// The step counts, bias corrections and clipping decisions stay on the host (src/optim/sgd.c,
// adam.c, reduce.c, written once for both devices; the clipping's scale is ops/scale.h's); the
// kernels call optim_elem.h's functions, the ones the CPU loops call. Pointers are device
// memory; everything runs on c->stream.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "base/optim_elem.h"

// ---- SGD and Adam: one thread per element (grid-stride)

static __global__ void sgd_kernel(float *param, float *buf, const float *grad, size_t n, float lr,
                                  float momentum, float omd, float wd, int use_mom, int first,
                                  int nesterov) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    sgd_elem(&param[i], use_mom ? &buf[i] : NULL, grad[i], lr, momentum, omd, wd, use_mom, first,
             nesterov);
}

extern "C" void sgd_update_cuda(CudaCtx *c, float *param, float *buf, const float *grad, size_t n,
                                float lr, float momentum, float omd, float wd, int use_mom,
                                int first, int nesterov) {
  if (n == 0) return;
  sgd_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(
      param, buf, grad, n, lr, momentum, omd, wd, use_mom, first, nesterov);
  CUDA_CHECK_LAUNCH();
}

static __global__ void adam_kernel(float *param, float *m, float *v, const float *grad, size_t n,
                                   float beta1, float omb1, float beta2, float omb2, float eps,
                                   float wd, float step_size, float bc2_sqrt) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    adam_elem(&param[i], &m[i], &v[i], grad[i], beta1, omb1, beta2, omb2, eps, wd, step_size,
              bc2_sqrt);
}

extern "C" void adam_update_cuda(CudaCtx *c, float *param, float *m, float *v, const float *grad,
                                 size_t n, float beta1, float omb1, float beta2, float omb2,
                                 float eps, float wd, float step_size, float bc2_sqrt) {
  if (n == 0) return;
  adam_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(
      param, m, v, grad, n, beta1, omb1, beta2, omb2, eps, wd, step_size, bc2_sqrt);
  CUDA_CHECK_LAUNCH();
}

// ---- the sum of squares in double: each of up to RED_BLOCKS blocks a grid-stride share (each
// square exact in double), folded in cuda_reduce.cuh's fixed tree; then sum_partials, and one
// copy back. The shape depends on n only, so the same gradient gives the same bits.

static __global__ void sumsq_kernel(double *partials, const float *x, size_t n) {
  double acc = 0.0;
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n;
       i += (size_t)gridDim.x * EW_THREADS) {
    double v = (double)x[i];
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

extern "C" double optim_sumsq_cuda(CudaCtx *c, const float *x, size_t n) {
  if (n == 0) return 0.0;
  CudaScalars *s = cuda_scalars(c);
  unsigned blocks = ew_blocks(n, RED_BLOCKS);
  sumsq_kernel<<<blocks, EW_THREADS, 0, c->stream>>>(cuda_partials(c), x, n);
  CUDA_CHECK_LAUNCH();
  sum_partials(c, s, (int)blocks);
  return cuda_scalars_read(c).sum;
}
