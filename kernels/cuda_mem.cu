// cuda_mem.cu: cudaMalloc/cudaFree/cudaMemcpy behind checked calls.
#include "cuda_check.cuh"
#include "cuda_mem.h"

extern "C" float *cuda_alloc_zeroed(size_t bytes) {
  void *p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 4));
  CUDA_CHECK(cudaMemset(p, 0, bytes));
  return (float *)p;
}

extern "C" void cuda_free(void *p) {
  if (p) CUDA_CHECK(cudaFree(p));
}

extern "C" void cuda_copy(void *dst, int dst_on_device, const void *src, int src_on_device,
                          size_t bytes) {
  cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                      : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}
