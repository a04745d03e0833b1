// cuda_mem.cu: cudaMalloc/cudaFree/cudaMemcpy behind checked calls, and the host's waits.
#include <cstring>

#include "kernels/cuda_check.cuh"
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_mem.h"

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
  if (kind == cudaMemcpyDeviceToHost) {
    cuda_read_back(c, dst, src, bytes);
    return;
  }
  if (kind == cudaMemcpyHostToHost) {  // after the queued work that may still write src
    cuda_wait_stream(c, c->stream);
    if (bytes) memmove(dst, src, bytes);
    return;
  }
  // The context's stream is non-blocking: a plain cudaMemcpy would not wait for its kernels.
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, c->stream));
  // Host to device: the caller may reuse the host buffer once this returns (pageable memory
  // is staged by the driver before cudaMemcpyAsync returns; waiting keeps that true whatever
  // the memory). Device to device: ordered on the stream, nothing for the host to wait for
  // (no host sync in a forward that copies its input into place).
  if (kind == cudaMemcpyHostToDevice) cuda_wait_stream(c, c->stream);
}

// A read into pageable memory (cudaMemcpyAsync to a plain host buffer) returns only when the
// copy is done, blocking inside the driver where no timeout reaches. So every read from the
// device is staged: a chunk is copied into the context's pinned buffer, an event recorded after
// it is polled by cuda_wait_event (collective_timeout), and the chunk is copied out on the host.
static const size_t READBACK_BYTES = (size_t)4 << 20;

void cuda_read_back(CudaCtx *c, void *host, const void *dev, size_t bytes) {
  if (!c->pinned) {
    CUDA_CHECK(cudaMallocHost(&c->pinned, READBACK_BYTES));
    CUDA_CHECK(cudaEventCreateWithFlags(&c->read_done, cudaEventDisableTiming));
  }
  for (size_t off = 0; off < bytes; off += READBACK_BYTES) {
    size_t n = bytes - off < READBACK_BYTES ? bytes - off : READBACK_BYTES;
    CUDA_CHECK(cudaMemcpyAsync(c->pinned, (const char *)dev + off, n, cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaEventRecord(c->read_done, c->stream));
    cuda_wait_event(c, c->read_done);
    memcpy((char *)host + off, c->pinned, n);
  }
  if (!bytes) cuda_wait_stream(c, c->stream);  // still "after everything queued"
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
