// cuda_internal.cuh: the CudaCtx fields, visible to .cu files only.
#pragma once
#include "kernels/cuda_check.cuh"

struct DnnCache;

struct CudaCtx {
  int device;
  cudaStream_t stream;     // every op of this context runs on it, in order
  cublasHandle_t cublas;
  cudnnHandle_t cudnn;
  int tf32;                // 1: TF32 tensor cores for convolutions (precision = tf32); GEMMs: FP32
  void *scalars;           // genet's own kernels' scalars read back and reduction partials
                           // (kernels/cuda_reduce.cuh); made on first use, fixed size
  struct DnnCache *dnn;    // cuDNN plans and the ops' shared scratch (cudnn_cache.cuh)
  double timeout_s;        // the longest the host waits for the device (cuda_wait_*; 0: forever)
  void *pinned;            // page-locked host memory every read from the device goes through
  cudaEvent_t read_done;   // recorded after each read-back chunk, polled (cuda_read_back)
};

// The host's waits for the device during training: until the stream's queued work (or the
// event) is done, at most c->timeout_s seconds (collective_timeout). A collective whose peer
// never arrives leaves its stream, and every stream that waits for it, busy forever; past the
// timeout the job ends with one line instead of hanging. Errors are checked as CUDA_CHECK.
void cuda_wait_stream(CudaCtx *c, cudaStream_t s);
void cuda_wait_event(CudaCtx *c, cudaEvent_t e);
// Copies bytes from the device to the host after everything queued on c's stream, through the
// context's pinned buffer and a polled event: never a wait inside the driver that
// collective_timeout cannot end (kernels/cuda_mem.cu).
void cuda_read_back(CudaCtx *c, void *host, const void *dev, size_t bytes);
