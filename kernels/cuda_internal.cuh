// cuda_internal.cuh: the CudaCtx fields, visible to .cu files only.
#pragma once
#include "cuda_check.cuh"

struct DnnCache;

struct CudaCtx {
  int device;
  cudaStream_t stream;     // every op of this context runs on it, in order
  cublasHandle_t cublas;
  cudnnHandle_t cudnn;
  int tf32;                // 1: TF32 tensor cores for GEMMs and convolutions (precision = tf32)
  void *scalars;           // genet's own kernels' scalars read back and reduction partials
                           // (kernels/cuda_reduce.cuh); made on first use, fixed size
  struct DnnCache *dnn;    // cuDNN plans and the ops' shared scratch (cudnn_cache.cuh)
};
