// cuda_mem.cu: cudaMalloc/cudaFree/cudaMemcpy behind checked calls, and the host's waits.
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
  cuda_wait_stream(c, c->stream);
}

extern "C" void cuda_zero(CudaCtx *c, void *p, size_t bytes) {
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, c->stream));
}

extern "C" void cuda_sync(CudaCtx *c) { cuda_wait_stream(c, c->stream); }

// Polls query() until it is not cudaErrorNotReady, pausing as poll_pause does (base/sys.h).
template <typename Query>
static void wait_until_done(CudaCtx *c, Query query, const char *what, const char *where) {
  PollWait w = poll_start();
  for (;;) {
    cudaError_t e = query();
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady) genet_die("%s: CUDA call failed: %s: %s", where, what, cudaGetErrorString(e));
    if (poll_pause(&w) > c->timeout_s && c->timeout_s > 0)
      genet_die("the GPU's queued work did not finish within collective_timeout = %g s: a collective "
                "(NCCL) whose peer is stuck or gone, or a kernel that does not end (see "
                "docs/CLUSTER.md, \"When ranks hang or die\")", c->timeout_s);
  }
}

void cuda_wait_stream(CudaCtx *c, cudaStream_t s) {
  wait_until_done(c, [s] { return cudaStreamQuery(s); }, "cudaStreamQuery(s)", __FILE__);
}

void cuda_wait_event(CudaCtx *c, cudaEvent_t e) {
  wait_until_done(c, [e] { return cudaEventQuery(e); }, "cudaEventQuery(e)", __FILE__);
}
