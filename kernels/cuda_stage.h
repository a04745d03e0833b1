// cuda_stage.h: the CUDA half of src/core/stage.h (plain C): pinned host slots, their device
// twins, a copy stream and the events that order them against the context's stream.
#pragma once
#include <stddef.h>

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CudaStage CudaStage;

// `slots` pairs of `bytes`: pinned host memory and device memory, both zeroed.
CudaStage *cuda_stage_new(CudaCtx *c, int slots, size_t bytes);
void cuda_stage_free(CudaStage *s);
// The slot's host memory, once the slot's last copy from it has finished (the host waits).
void *cuda_stage_host(CudaStage *s, int slot);
// Queues the copy of the slot's first `bytes` to the device on the copy stream, after the
// context's stream has released the slot's device memory (see cuda_stage_use).
void cuda_stage_send(CudaStage *s, int slot, size_t bytes);
// The slot's device memory, for ops queued on the context's stream from now on: the stream
// waits for the slot's copy. The other slots are released: everything queued so far is
// the last to read them, so their next copies wait for it, not for the work queued next.
void *cuda_stage_use(CudaStage *s, int slot);

#ifdef __cplusplus
}
#endif
