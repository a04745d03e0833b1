// cuda_ctx.h: the GPU half of Ctx, plain C so src/ can include it.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CudaCtx CudaCtx;

// Number of visible CUDA devices; 0 with a reason in `why` when there is no driver or device.
int cuda_device_count(char *why, size_t why_len);
// One line per device into buf: index, name, compute capability, memory.
void cuda_describe_devices(char *buf, size_t len);
// Versions compiled in and found at run time, as one line.
void cuda_versions(char *buf, size_t len);
CudaCtx *cuda_ctx_new(int device);
void cuda_ctx_free(CudaCtx *c);
// precision = tf32 (1, the default) or fp32 (0): whether cuDNN's convolutions may use TF32
// tensor cores. GEMMs (cuBLAS) stay in full FP32 either way: PyTorch's defaults
// (cudnn.allow_tf32 = True, cuda.matmul.allow_tf32 = False). The GPU tests compare in fp32.
void cuda_ctx_set_tf32(CudaCtx *c, int tf32);
// collective_timeout: the longest the host waits for this context's device (0: forever).
void cuda_ctx_set_timeout(CudaCtx *c, double seconds);
// The context's stream (a cudaStream_t), for code outside kernels/ that orders work on it.
void *cuda_ctx_stream(CudaCtx *c);

#ifdef __cplusplus
}
#endif
