// cuda_mem.h: device memory for parameter and activation buffers (plain C interface).
#pragma once
#include <stddef.h>

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

float *cuda_alloc_zeroed(size_t bytes);
void cuda_free(void *p);
// Copy ordered after everything queued on c's stream: the way to move data in and out around
// ops, whose kernels run on that stream. The flags say which side is device memory. A copy
// with a host side has finished when it returns (a read from the device goes through the
// context's pinned buffer and a polled event, so collective_timeout bounds the wait); a
// device-to-device copy is only queued, and the host does not wait for it: the ops after it
// on the stream see its result, and the host sees it through a later read.
void cuda_copy(CudaCtx *c, void *dst, int dst_on_device, const void *src, int src_on_device,
               size_t bytes);
// bytes zeros at p, ordered on c's stream.
void cuda_zero(CudaCtx *c, void *p, size_t bytes);
// Waits for everything queued on c's stream.
void cuda_sync(CudaCtx *c);

#ifdef __cplusplus
}
#endif
