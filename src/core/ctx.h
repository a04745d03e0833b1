// ctx.h: the execution context every op takes first: which device runs it, and the library
// handles that device needs (oneDNN engine, stream and primitive cache on the CPU; CUDA
// stream, cuBLAS and cuDNN handles on the GPU). No globals: whoever runs ops owns a Ctx.
#pragma once
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

typedef enum { DEV_CPU = 0, DEV_CUDA = 1 } Device;

typedef struct PrimCache PrimCache;  // src/core/primcache.h
typedef struct CudaCtx CudaCtx;      // kernels/cuda_ctx.h

typedef struct {
  Device dev;
  int nthreads;            // OpenMP threads used by CPU ops
  dnnl_engine_t engine;    // oneDNN CPU engine
  dnnl_stream_t stream;    // oneDNN CPU stream (in-order)
  PrimCache *prims;        // oneDNN primitives, created once per shape
  CudaCtx *cuda;           // NULL unless dev == DEV_CUDA
} Ctx;

// Creates a context for `dev`. DEV_CUDA dies with a clear message when genet was built
// without CUDA or no GPU is visible. nthreads <= 0 keeps OpenMP's default.
void ctx_init(Ctx *ctx, Device dev, int nthreads);
void ctx_free(Ctx *ctx);
