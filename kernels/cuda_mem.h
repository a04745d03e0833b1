// cuda_mem.h: device memory for parameter and activation buffers (plain C interface).
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

float *cuda_alloc_zeroed(size_t bytes);
void cuda_free(void *p);
// Synchronous copy; the flags say which side is device memory.
void cuda_copy(void *dst, int dst_on_device, const void *src, int src_on_device, size_t bytes);

#ifdef __cplusplus
}
#endif
