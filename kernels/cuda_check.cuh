// cuda_check.cuh: one checking macro per GPU library, each naming the call, file and line and
// the library's own message, then aborting (a device error is not a user's mistake).
#pragma once
#include <cublas_v2.h>
#include <cstdio>  // the kernels' one-line messages
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "base/sys.h"

// genet_die: one line, then MPI_Abort under a launcher, so the other ranks do not hang.
#define GENET_GPU_FAIL(lib, call, msg) \
  genet_die("%s:%d: %s call failed: %s: %s", __FILE__, __LINE__, lib, #call, msg)

#define CUDA_CHECK(call)                                                                 \
  do {                                                                                   \
    cudaError_t e_ = (call);                                                             \
    if (e_ != cudaSuccess) GENET_GPU_FAIL("CUDA", call, cudaGetErrorString(e_));         \
  } while (0)

#define CUBLAS_CHECK(call)                                                               \
  do {                                                                                   \
    cublasStatus_t e_ = (call);                                                          \
    if (e_ != CUBLAS_STATUS_SUCCESS) GENET_GPU_FAIL("cuBLAS", call, cublasGetStatusString(e_)); \
  } while (0)

#define CUDNN_CHECK(call)                                                                \
  do {                                                                                   \
    cudnnStatus_t e_ = (call);                                                           \
    if (e_ != CUDNN_STATUS_SUCCESS) GENET_GPU_FAIL("cuDNN", call, cudnnGetErrorString(e_)); \
  } while (0)

#define NCCL_CHECK(call)                                                                 \
  do {                                                                                   \
    ncclResult_t e_ = (call);                                                            \
    if (e_ != ncclSuccess) GENET_GPU_FAIL("NCCL", call, ncclGetErrorString(e_));         \
  } while (0)

// After every kernel launch: launch errors surface here, not at the next sync.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
