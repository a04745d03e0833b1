// cuda_mem.cu: cudaMalloc/cudaFree/cudaMemcpy behind checked calls.
#include "cuda_check.cuh"
#include "cuda_internal.cuh"
#include "cuda_mem.h"

extern "C" float *cuda_alloc_zeroed(size_t bytes) {
  void *p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 4));
  CUDA_CHECK(cudaMemset(p, 0, bytes));
  // cudaMemset runs on the legacy default stream, which the contexts' non-blocking streams do
  // not wait for: finish it here (allocation is set-up time, never in a step).
  CUDA_CHECK(cudaDeviceSynchronize());
  return (float *)p;
}

extern "C" void cuda_free(void *p) {
  if (p) CUDA_CHECK(cudaFree(p));
}

extern "C" void cuda_copy(CudaCtx *c, void *dst, int dst_on_device, const void *src,
                          int src_on_device, size_t bytes) {
  cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                      : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  // The context's stream is non-blocking: a plain cudaMemcpy would not wait for its kernels.
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, c->stream));
  CUDA_CHECK(cudaStreamSynchronize(c->stream));
}

extern "C" void cuda_zero(CudaCtx *c, void *p, size_t bytes) {
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, c->stream));
}

extern "C" void cuda_sync(CudaCtx *c) { CUDA_CHECK(cudaStreamSynchronize(c->stream)); }
