// cuda_ctx.cu: device query and the per-process CUDA context (stream, cuBLAS, cuDNN).
#include <cstdio>
#include <cstdlib>

#include "kernels/cuda_check.cuh"
#include "kernels/cuda_ctx.h"
#include "kernels/cuda_internal.cuh"
#include "kernels/cudnn_cache.cuh"

extern "C" int cuda_device_count(char *why, size_t why_len) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    snprintf(why, why_len, "%s", cudaGetErrorString(e));
    cudaGetLastError();  // clear the sticky error so later calls are not poisoned
    return 0;
  }
  if (n == 0) snprintf(why, why_len, "no device visible");
  return n;
}

extern "C" void cuda_describe_devices(char *buf, size_t len) {
  char why[128];
  int n = cuda_device_count(why, sizeof why);
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < n && used < len; i++) {
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, i);
    if (e != cudaSuccess) {  // a listing, not a use: say why and go on
      used += (size_t)snprintf(buf + used, len - used, "  cuda:%d unreadable: %s\n", i,
                               cudaGetErrorString(e));
      continue;
    }
    used += (size_t)snprintf(buf + used, len - used, "  cuda:%d %s, sm_%d%d, %.1f GiB\n", i, p.name,
                             p.major, p.minor, (double)p.totalGlobalMem / (1 << 30));
  }
}

extern "C" void cuda_versions(char *buf, size_t len) {
  int drv = 0, rt = 0;
  CUDA_CHECK(cudaDriverGetVersion(&drv));  // no driver is not a failure: it reports 0
  CUDA_CHECK(cudaRuntimeGetVersion(&rt));
  int nccl = 0;
  NCCL_CHECK(ncclGetVersion(&nccl));
  snprintf(buf, len, "CUDA runtime %d.%d (built %d.%d, driver %d.%d), cuBLAS %d, cuDNN %zu (built %d), NCCL %d (built %d)",
           rt / 1000, rt % 1000 / 10, CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, drv / 1000,
           drv % 1000 / 10, CUBLAS_VERSION, cudnnGetVersion(), CUDNN_VERSION, nccl, NCCL_VERSION_CODE);
}

extern "C" CudaCtx *cuda_ctx_new(int device) {
  char why[128];
  int n = cuda_device_count(why, sizeof why);
  if (n == 0) genet_die("device cuda requested but no CUDA device is usable: %s", why);
  if (device < 0 || device >= n) genet_die("CUDA device %d requested but only %d visible", device, n);
  CudaCtx *c = (CudaCtx *)xcalloc(1, sizeof(CudaCtx));
  c->device = device;
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&c->cublas));
  CUBLAS_CHECK(cublasSetStream(c->cublas, c->stream));
  CUDNN_CHECK(cudnnCreate(&c->cudnn));
  CUDNN_CHECK(cudnnSetStream(c->cudnn, c->stream));
  c->dnn = dnncache_new();
  cuda_ctx_set_tf32(c, 1);
  return c;
}

extern "C" void cuda_ctx_set_tf32(CudaCtx *c, int tf32) {
  c->tf32 = tf32 != 0;
  // PyTorch's defaults: TF32 for convolutions (torch.backends.cudnn.allow_tf32 = True), full
  // FP32 for matmuls (torch.backends.cuda.matmul.allow_tf32 = False). So cuBLAS stays at its
  // default math in both precisions, and c->tf32 reaches cuDNN only: its math type belongs to
  // each convolution descriptor, not to the handle, so the plans are cached per precision and
  // take theirs from c->tf32 when made (cudnn_cache.cu).
  CUBLAS_CHECK(cublasSetMathMode(c->cublas, CUBLAS_DEFAULT_MATH));
}

extern "C" void *cuda_ctx_stream(CudaCtx *c) { return (void *)c->stream; }

extern "C" void cuda_ctx_set_timeout(CudaCtx *c, double seconds) { c->timeout_s = seconds > 0 ? seconds : 0; }

extern "C" void cuda_ctx_free(CudaCtx *c) {
  if (!c) return;
  CUDA_CHECK(cudaStreamSynchronize(c->stream));  // nothing queued may still use the scratch
  dnncache_free(c->dnn);
  if (c->scalars) CUDA_CHECK(cudaFree(c->scalars));
  if (c->pinned) {
    CUDA_CHECK(cudaFreeHost(c->pinned));
    CUDA_CHECK(cudaEventDestroy(c->read_done));
  }
  CUDNN_CHECK(cudnnDestroy(c->cudnn));
  CUBLAS_CHECK(cublasDestroy(c->cublas));
  CUDA_CHECK(cudaStreamDestroy(c->stream));
  free(c);
}
