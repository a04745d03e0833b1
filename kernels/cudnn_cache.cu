// cudnn_cache.cu: convolution plans and the shared scratch buffer (see cudnn_cache.cuh). A list
// scanned linearly, as primcache.c: a model has a few dozen convolution shapes.
#include <cstdlib>
#include <cstring>

#include "cudnn_cache.cuh"

// The most workspace an algorithm may ask for. A fixed bound rather than the memory free at
// the time, so the choice of algorithm does not depend on what else happens to be allocated.
#define CONV_WS_LIMIT ((size_t)512 << 20)

enum { CONV_KEY_LEN = 10 };  // dir, N, C, H, W, K, k, stride, pad, tf32

typedef struct ConvEntry {
  int key[CONV_KEY_LEN];
  ConvPlan plan;
  struct ConvEntry *next;
} ConvEntry;

struct DnnCache {
  ConvEntry *convs;
  void *scratch;  // device memory, scratch_bytes long
  size_t scratch_bytes;
};

DnnCache *dnncache_new(void) { return (DnnCache *)xcalloc(1, sizeof(DnnCache)); }

void dnncache_free(DnnCache *d) {
  if (!d) return;
  for (ConvEntry *e = d->convs, *next; e; e = next) {
    next = e->next;
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(e->plan.x));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(e->plan.y));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(e->plan.bx));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(e->plan.by));
    CUDNN_CHECK(cudnnDestroyFilterDescriptor(e->plan.w));
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(e->plan.conv));
    free(e);
  }
  if (d->scratch) CUDA_CHECK(cudaFree(d->scratch));
  free(d);
}

void *dnncache_scratch(CudaCtx *c, size_t bytes) {
  DnnCache *d = c->dnn;
  if (bytes <= d->scratch_bytes) return d->scratch;
  // Work queued earlier may still use the old buffer: drain the stream before freeing it.
  CUDA_CHECK(cudaStreamSynchronize(c->stream));
  if (d->scratch) CUDA_CHECK(cudaFree(d->scratch));
  d->scratch = nullptr;
  d->scratch_bytes = 0;
  size_t want = (bytes + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);  // whole MiB
  CUDA_CHECK(cudaMalloc(&d->scratch, want));
  d->scratch_bytes = want;
  return d->scratch;
}

static cudnnTensorDescriptor_t tensor4d(int n, int c, int h, int w) {
  cudnnTensorDescriptor_t t;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&t));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  return t;
}

// The algorithm: cuDNN's heuristic ranking (the _v7 queries), which runs nothing, so the
// choice depends only on (cuDNN version, GPU, direction, shape, precision) and a rerun or a
// resumed run gets the same kernels; cudnnFind* would time the candidates and could rank them
// differently from one run to the next. The first ranked candidate is taken that
//  - is supported for this shape (status SUCCESS);
//  - is deterministic: some backward-data and backward-filter algorithms sum with atomics, in
//    an order that changes between runs (the forward ones are all deterministic);
//  - in fp32 (c->tf32 == 0), uses FMA math only: with the descriptor at CUDNN_FMA_MATH the
//    ranking should hold nothing else, and anything else could use TF32 tensor cores;
//  - needs at most CONV_WS_LIMIT bytes of workspace.
// Its math type then goes into the descriptor: cuDNN runs an algorithm with the descriptor's
// math type, so TF32 candidates run as tensor-op kernels only when told so.
template <typename Perf>
static int conv_pick(const Perf *perf, int n, int tf32) {
  for (int i = 0; i < n; i++) {
    const Perf &p = perf[i];
    if (p.status == CUDNN_STATUS_SUCCESS && p.determinism == CUDNN_DETERMINISTIC &&
        (tf32 || p.mathType == CUDNN_FMA_MATH) && p.memory <= CONV_WS_LIMIT)
      return i;
  }
  return -1;
}

__attribute__((noreturn)) static void conv_no_algo(const int *key) {
  genet_die("cuDNN offers no deterministic%s convolution algorithm within %zu MiB of workspace "
            "for direction %d, N %d C %d H %d W %d K %d k %d stride %d pad %d",
            key[9] ? "" : " FMA (fp32)", CONV_WS_LIMIT >> 20, key[0], key[1], key[2], key[3],
            key[4], key[5], key[6], key[7], key[8]);
}

// Chooses p->algo for `dir`, sets the descriptor's math type to it, sizes the workspace.
static void conv_choose(CudaCtx *c, ConvPlan *p, ConvDir dir, const int *key) {
  int n = 0, got = 0, i;
  cudnnMathType_t math;
  if (dir == CONV_FWD) {
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(c->cudnn, &n));
    cudnnConvolutionFwdAlgoPerf_t *perf =
        (cudnnConvolutionFwdAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, p->x, p->w, p->conv, p->y, n,
                                                       &got, perf));
    if ((i = conv_pick(perf, got, c->tf32)) < 0) conv_no_algo(key);
    p->algo = perf[i].algo;
    math = perf[i].mathType;
    free(perf);
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, math));
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        c->cudnn, p->x, p->w, p->conv, p->y, (cudnnConvolutionFwdAlgo_t)p->algo, &p->ws_bytes));
  } else if (dir == CONV_BWD_DATA) {
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(c->cudnn, &n));
    cudnnConvolutionBwdDataAlgoPerf_t *perf =
        (cudnnConvolutionBwdDataAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->cudnn, p->w, p->y, p->conv, p->x,
                                                            n, &got, perf));
    if ((i = conv_pick(perf, got, c->tf32)) < 0) conv_no_algo(key);
    p->algo = perf[i].algo;
    math = perf[i].mathType;
    free(perf);
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        c->cudnn, p->w, p->y, p->conv, p->x, (cudnnConvolutionBwdDataAlgo_t)p->algo,
        &p->ws_bytes));
  } else {
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(c->cudnn, &n));
    cudnnConvolutionBwdFilterAlgoPerf_t *perf =
        (cudnnConvolutionBwdFilterAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->cudnn, p->x, p->y, p->conv, p->w,
                                                              n, &got, perf));
    if ((i = conv_pick(perf, got, c->tf32)) < 0) conv_no_algo(key);
    p->algo = perf[i].algo;
    math = perf[i].mathType;
    free(perf);
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        c->cudnn, p->x, p->y, p->conv, p->w, (cudnnConvolutionBwdFilterAlgo_t)p->algo,
        &p->ws_bytes));
  }
}

const ConvPlan *conv_plan(CudaCtx *c, ConvDir dir, int N, int C, int H, int W, int K, int k,
                          int stride, int pad) {
  const int key[CONV_KEY_LEN] = {(int)dir, N, C, H, W, K, k, stride, pad, c->tf32};
  for (ConvEntry *e = c->dnn->convs; e; e = e->next)
    if (memcmp(e->key, key, sizeof key) == 0) return &e->plan;

  ConvEntry *e = (ConvEntry *)xcalloc(1, sizeof(ConvEntry));
  memcpy(e->key, key, sizeof key);
  ConvPlan *p = &e->plan;
  p->x = tensor4d(N, C, H, W);
  p->bx = tensor4d(1, C, 1, 1);
  p->by = tensor4d(1, K, 1, 1);
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, K, C, k, k));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  // PyTorch's Conv2d is a cross-correlation (the kernel is not flipped).
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, pad, pad, stride, stride, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  // cuDNN 9 (cudnnMathType_t): CUDNN_FMA_MATH is restricted to FMA kernels, so no TF32;
  // CUDNN_TENSOR_OP_MATH permits tensor cores, which on sm_80 and later means TF32 for float
  // data. This is the math type the ranking is asked for; conv_choose then sets the chosen one.
  CUDNN_CHECK(
      cudnnSetConvolutionMathType(p->conv, c->tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int yn = 0, yc = 0, yh = 0, yw = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &yn, &yc, &yh, &yw));
  int ho = (H + 2 * pad - k) / stride + 1, wo = (W + 2 * pad - k) / stride + 1;
  if (yn != N || yc != K || yh != ho || yw != wo)
    genet_die("cuDNN convolution output %dx%dx%dx%d, expected %dx%dx%dx%d", yn, yc, yh, yw, N, K,
              ho, wo);
  p->y = tensor4d(N, K, ho, wo);
  conv_choose(c, p, dir, key);
  e->next = c->dnn->convs;
  c->dnn->convs = e;
  return p;
}
