// cuda_mem.cu: cudaMalloc/cudaFree/cudaMemcpy behind checked calls, and the host's waits.
#include <sched.h>
#include <time.h>

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

static double mono_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Polls query() until it is not cudaErrorNotReady. The first millisecond spins (as CUDA's
// own synchronization does on a machine with cores to spare), then polls yield the core, and
// from 10 ms on sleep 50 us in between: a long wait costs no core and at most 50 us of delay.
template <typename Query>
static void wait_until_done(CudaCtx *c, Query query, const char *what, const char *where) {
  double t0 = mono_s();
  for (long polls = 0;; polls++) {
    cudaError_t e = query();
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady) genet_die("%s: CUDA call failed: %s: %s", where, what, cudaGetErrorString(e));
    if ((polls & 63) != 63) continue;  // the clock every 64 polls
    double waited = mono_s() - t0;
    if (c->timeout_s > 0 && waited > c->timeout_s)
      genet_die("the GPU's queued work did not finish within collective_timeout = %g s: a collective "
                "(NCCL) whose peer is stuck or gone, or a kernel that does not end (see "
                "docs/CLUSTER.md, \"When ranks hang or die\")", c->timeout_s);
    if (waited > 0.01) {
      struct timespec nap = {0, 50000};
      nanosleep(&nap, nullptr);
    } else if (waited > 0.001) {
      sched_yield();
    }
  }
}

void cuda_wait_stream(CudaCtx *c, cudaStream_t s) {
  wait_until_done(c, [s] { return cudaStreamQuery(s); }, "cudaStreamQuery(s)", __FILE__);
}

void cuda_wait_event(CudaCtx *c, cudaEvent_t e) {
  wait_until_done(c, [e] { return cudaEventQuery(e); }, "cudaEventQuery(e)", __FILE__);
}
