// ctx.h: the execution context every op takes first: which device runs it, and the library
// handles that device needs (oneDNN engine, stream and primitive cache on the CPU; CUDA
// stream, cuBLAS and cuDNN handles on the GPU). No globals: whoever runs ops owns a Ctx.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

typedef enum { DEV_CPU = 0, DEV_CUDA = 1 } Device;

typedef struct PrimCache PrimCache;  // src/core/primcache.h
typedef struct CudaCtx CudaCtx;      // kernels/cuda_ctx.h

// A sum over the data-parallel ranks, for the ops that need one (synchronized BatchNorm). The
// trainer binds it to its communicator; ops know nothing of MPI or NCCL.
typedef struct {
  void (*sum_double)(void *arg, double *buf, size_t n);  // host buffer, in place; NULL: one rank
  // A device buffer in place, ordered on `stream` (the context's cudaStream_t) without the host
  // waiting (NCCL). NULL: none (the CPU, or GPU ranks over MPI: ctx_sum_double_device stages
  // the buffer through the host and sum_double).
  void (*sum_double_device)(void *arg, double *dev_buf, size_t n, void *stream);
  void *arg;                                              // given to both
  int ranks;                                              // 1 when unbound
} CtxReduce;

typedef struct {
  Device dev;
  int nthreads;            // OpenMP threads used by CPU ops
  dnnl_engine_t engine;    // oneDNN CPU engine
  dnnl_stream_t stream;    // oneDNN CPU stream (in-order)
  PrimCache *prims;        // oneDNN primitives, created once per shape
  CudaCtx *cuda;           // NULL unless dev == DEV_CUDA
  CtxReduce reduce;        // over the ranks (ctx_init: unbound, one rank)
  void *stats;             // ctx_stats: on the context's device, grown on demand
  size_t stats_bytes;
  double *sum_host;        // ctx_sum_double_device's host copy without a device sum
  size_t sum_host_n;
} Ctx;

// Creates a context for `dev` (on CUDA: device 0). DEV_CUDA dies with a clear message when
// genet was built without CUDA or no GPU is visible. nthreads <= 0 keeps OpenMP's default.
void ctx_init(Ctx *ctx, Device dev, int nthreads);
// The same on CUDA device `cuda_device` (an index among the visible ones; comm_pick_device).
void ctx_init_on(Ctx *ctx, Device dev, int cuda_device, int nthreads);
// How many CUDA devices this process can use: 0 with the reason in why (no driver, none
// visible, or genet built without CUDA).
int ctx_cuda_devices(char *why, size_t len);
// precision = tf32 (1) or fp32 (0): whether convolutions may use TF32 tensor cores; GEMMs stay
// FP32 in both, as PyTorch's defaults (CUDA only: the CPU computes in fp32 either way).
void ctx_set_tf32(Ctx *ctx, int tf32);
// collective_timeout: the longest the host waits for the device's queued work (CUDA; 0:
// forever), after which the job ends with one line (a collective whose peer never arrives).
void ctx_set_timeout(Ctx *ctx, double seconds);
// The CUDA stream every op of ctx runs on (a cudaStream_t), NULL on the CPU: for comm/'s
// GradSync, which orders its all-reduces after backward's kernels.
void *ctx_stream(const Ctx *ctx);
// Waits until everything queued on the context's device has run (CUDA: its stream); nothing
// to wait for on the CPU, whose ops have finished when they return. For timing.
void ctx_sync(const Ctx *ctx);
void ctx_free(Ctx *ctx);

// ---- buffers on the context's device, the one place host and device memory differ (ctx NULL
// or on the CPU: 64-byte aligned host memory and memcpy). Everything is ordered on the
// context's stream; downloads and uploads have finished when they return, a copy on the device
// is only queued (the host does not wait: ops after it on the stream see the result).
void *ctx_alloc(const Ctx *ctx, size_t bytes);  // zeroed
void ctx_release(const Ctx *ctx, void *p);
void ctx_zero(const Ctx *ctx, void *p, size_t bytes);
void ctx_copy(const Ctx *ctx, void *dst, const void *src, size_t bytes);       // on the device
void ctx_upload(const Ctx *ctx, void *dst, const void *host, size_t bytes);    // host -> device
void ctx_download(const Ctx *ctx, void *host, const void *src, size_t bytes);  // device -> host
// buf (n doubles) summed over the ranks in place; nothing to do on one rank.
void ctx_sum_double(Ctx *ctx, double *buf, size_t n);
// The same for buf on the context's device (host memory on the CPU: ctx_sum_double). On CUDA
// it is queued on the context's stream: reduce.sum_double_device when bound (the host does not
// wait), else a download, reduce.sum_double on the host and an upload.
void ctx_sum_double_device(Ctx *ctx, double *buf, size_t n);
// A buffer of at least `bytes` on the context's device that the context keeps (freed by
// ctx_free) for ops' small per-call results, such as synchronized BatchNorm's per-channel
// sums: no allocation once it is large enough. Contents are undefined after a call that grows
// it (which first waits for the device: queued work may still use the old one).
void *ctx_stats(Ctx *ctx, size_t bytes);
