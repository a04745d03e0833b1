// stage.cu: batches uploaded from pinned host memory on a copy stream (src/core/stage.h).
// Pinned memory lets cudaMemcpyAsync return at once and run beside the kernels; the events
// give the three orders that matter: a slot's device memory is overwritten only after the
// compute stream's last reader (released), read only after its copy (copied), and its host
// memory refilled only after the copy has read it (copied, waited for by the host).
#include <cstring>

#include "kernels/cuda_check.cuh"
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_stage.h"

struct CudaStage {
  CudaCtx *c;
  int slots;
  size_t bytes;
  cudaStream_t copy;
  void **host, **dev;
  cudaEvent_t *copied, *released;
  int in_use;  // the slot cuda_stage_use gave out last (-1: none yet)
};

extern "C" CudaStage *cuda_stage_new(CudaCtx *c, int slots, size_t bytes) {
  GENET_ASSERT(slots >= 1);
  CudaStage *s = (CudaStage *)xcalloc(1, sizeof *s);
  s->c = c;
  s->slots = slots;
  s->bytes = bytes ? bytes : 4;
  s->in_use = -1;
  CUDA_CHECK(cudaSetDevice(c->device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking));
  s->host = (void **)xcalloc((size_t)slots, sizeof(void *));
  s->dev = (void **)xcalloc((size_t)slots, sizeof(void *));
  s->copied = (cudaEvent_t *)xcalloc((size_t)slots, sizeof(cudaEvent_t));
  s->released = (cudaEvent_t *)xcalloc((size_t)slots, sizeof(cudaEvent_t));
  for (int k = 0; k < slots; k++) {
    CUDA_CHECK(cudaHostAlloc(&s->host[k], s->bytes, cudaHostAllocDefault));
    memset(s->host[k], 0, s->bytes);
    CUDA_CHECK(cudaMalloc(&s->dev[k], s->bytes));
    CUDA_CHECK(cudaMemset(s->dev[k], 0, s->bytes));
    // Timing off: these events only order work, and such events are cheaper to record.
    CUDA_CHECK(cudaEventCreateWithFlags(&s->copied[k], cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&s->released[k], cudaEventDisableTiming));
  }
  // cudaMemset ran on the legacy default stream, which the non-blocking streams do not wait for.
  CUDA_CHECK(cudaDeviceSynchronize());
  return s;
}

extern "C" void cuda_stage_free(CudaStage *s) {
  if (!s) return;
  CUDA_CHECK(cudaStreamSynchronize(s->copy));
  CUDA_CHECK(cudaStreamSynchronize(s->c->stream));  // the last readers of the device slots
  for (int k = 0; k < s->slots; k++) {
    CUDA_CHECK(cudaFreeHost(s->host[k]));
    CUDA_CHECK(cudaFree(s->dev[k]));
    CUDA_CHECK(cudaEventDestroy(s->copied[k]));
    CUDA_CHECK(cudaEventDestroy(s->released[k]));
  }
  CUDA_CHECK(cudaStreamDestroy(s->copy));
  free(s->host), free(s->dev), free(s->copied), free(s->released);
  free(s);
}

extern "C" void *cuda_stage_host(CudaStage *s, int slot) {
  GENET_ASSERT(slot >= 0 && slot < s->slots);
  // An event never recorded counts as complete, so the first fill does not wait.
  cuda_wait_event(s->c, s->copied[slot]);
  return s->host[slot];
}

extern "C" void cuda_stage_send(CudaStage *s, int slot, size_t bytes) {
  GENET_ASSERT(slot >= 0 && slot < s->slots && bytes <= s->bytes);
  // The slot in use is released by everything queued so far (no overlap, but never a copy
  // under a kernel that still reads it).
  if (slot == s->in_use) CUDA_CHECK(cudaEventRecord(s->released[slot], s->c->stream));
  CUDA_CHECK(cudaStreamWaitEvent(s->copy, s->released[slot], 0));
  CUDA_CHECK(cudaMemcpyAsync(s->dev[slot], s->host[slot], bytes, cudaMemcpyHostToDevice, s->copy));
  CUDA_CHECK(cudaEventRecord(s->copied[slot], s->copy));
}

extern "C" void *cuda_stage_use(CudaStage *s, int slot) {
  GENET_ASSERT(slot >= 0 && slot < s->slots);
  for (int k = 0; k < s->slots; k++)
    if (k != slot) CUDA_CHECK(cudaEventRecord(s->released[k], s->c->stream));
  CUDA_CHECK(cudaStreamWaitEvent(s->c->stream, s->copied[slot], 0));
  s->in_use = slot;
  return s->dev[slot];
}
