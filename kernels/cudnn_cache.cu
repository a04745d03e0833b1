// cudnn_cache.cu: convolution plans and the shared scratch buffer (see cudnn_cache.cuh). A list
// scanned linearly, as primcache.c: a model has a few dozen convolution shapes.
#include <cstdlib>
#include <cstring>

#include "kernels/cudnn_cache.cuh"

// The most workspace an algorithm may ask for. A fixed bound rather than the memory free at
// the time, so the choice of algorithm does not depend on what else happens to be allocated.
#define CONV_WS_LIMIT ((size_t)512 << 20)


typedef struct ConvEntry {
  int key[CONV_KEY_LEN];  // the plan's key, for the search
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
  cuda_wait_stream(c, c->stream);  // polled: collective_timeout holds here too
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

// The algorithms: cuDNN's heuristic ranking (the _v7 queries), which runs nothing, so the
// choice depends only on (cuDNN version, GPU, direction, shape, precision) and a rerun or a
// resumed run gets the same kernels; cudnnFind* would time the candidates and could rank them
// differently from one run to the next. The plan keeps, in ranked order, every candidate that
//  - is supported for this shape (status SUCCESS);
//  - is deterministic: some backward-data and backward-filter algorithms sum with atomics, in
//    an order that changes between runs (the forward ones are all deterministic);
//  - in fp32 (c->tf32 == 0), uses FMA math only: with the descriptor at CUDNN_FMA_MATH the
//    ranking should hold nothing else, and anything else could use TF32 tensor cores;
//  - needs at most CONV_WS_LIMIT bytes of workspace.
// The first is used; conv_run moves to the next when a call fails (as PyTorch does).
template <typename Perf>
static void conv_keep(ConvPlan *p, const Perf *perf, int n, int tf32) {
  for (int i = 0; i < n && p->ncand < CONV_MAX_CANDS; i++) {
    const Perf &q = perf[i];
    if (q.status == CUDNN_STATUS_SUCCESS && q.determinism == CUDNN_DETERMINISTIC &&
        (tf32 || q.mathType == CUDNN_FMA_MATH) && q.memory <= CONV_WS_LIMIT) {
      p->cand[p->ncand].algo = (int)q.algo;
      p->cand[p->ncand].math = q.mathType;
      p->ncand++;
    }
  }
}

static const char *conv_dir_name(ConvDir dir) {
  return dir == CONV_FWD ? "forward" : dir == CONV_BWD_DATA ? "backward data" : "backward filter";
}

static void conv_describe(char *buf, size_t len, const int *key) {
  snprintf(buf, len, "%s, N %d C %d H %d W %d K %d k %d stride %d pad %d%s",
           conv_dir_name((ConvDir)key[0]), key[1], key[2], key[3], key[4], key[5], key[6],
           key[7], key[8], key[9] ? "" : ", fp32");
}

// Ranks the candidates of p->dir into p->cand (cuDNN's three queries differ only in their
// types and argument order).
static void conv_rank(CudaCtx *c, ConvPlan *p) {
  int n = 0, got = 0;
  p->ncand = 0;
  switch (p->dir) {
    case CONV_FWD: {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(c->cudnn, &n));
      cudnnConvolutionFwdAlgoPerf_t *perf = (cudnnConvolutionFwdAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, p->x, p->w, p->conv, p->y, n, &got, perf));
      conv_keep(p, perf, got, c->tf32);
      free(perf);
      break;
    }
    case CONV_BWD_DATA: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(c->cudnn, &n));
      cudnnConvolutionBwdDataAlgoPerf_t *perf = (cudnnConvolutionBwdDataAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->cudnn, p->w, p->y, p->conv, p->x, n, &got, perf));
      conv_keep(p, perf, got, c->tf32);
      free(perf);
      break;
    }
    case CONV_BWD_FILTER: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(c->cudnn, &n));
      cudnnConvolutionBwdFilterAlgoPerf_t *perf = (cudnnConvolutionBwdFilterAlgoPerf_t *)xcalloc((size_t)n, sizeof *perf);
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->cudnn, p->x, p->y, p->conv, p->w, n, &got, perf));
      conv_keep(p, perf, got, c->tf32);
      free(perf);
      break;
    }
  }
}

// Makes candidate i the plan's: its math type into the descriptor (cuDNN runs an algorithm with
// the descriptor's math type, so TF32 candidates run as tensor-op kernels only when told so)
// and its workspace size.
static cudnnStatus_t conv_use(CudaCtx *c, ConvPlan *p, int i) {
  p->cur = i;
  p->algo = p->cand[i].algo;
  cudnnStatus_t s = cudnnSetConvolutionMathType(p->conv, p->cand[i].math);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  switch (p->dir) {
    case CONV_FWD:
      return cudnnGetConvolutionForwardWorkspaceSize(c->cudnn, p->x, p->w, p->conv, p->y,
                                                     (cudnnConvolutionFwdAlgo_t)p->algo, &p->ws_bytes);
    case CONV_BWD_DATA:
      return cudnnGetConvolutionBackwardDataWorkspaceSize(c->cudnn, p->w, p->y, p->conv, p->x,
                                                          (cudnnConvolutionBwdDataAlgo_t)p->algo, &p->ws_bytes);
    case CONV_BWD_FILTER:
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(c->cudnn, p->x, p->y, p->conv, p->w,
                                                            (cudnnConvolutionBwdFilterAlgo_t)p->algo, &p->ws_bytes);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

static cudnnStatus_t conv_call(CudaCtx *c, const ConvPlan *p, const void *in0, const void *in1,
                               float beta, void *out) {
  const float one = 1.0f;
  void *ws = dnncache_scratch(c, p->ws_bytes);
  switch (p->dir) {
    case CONV_FWD:
      return cudnnConvolutionForward(c->cudnn, &one, p->x, in0, p->w, in1, p->conv,
                                     (cudnnConvolutionFwdAlgo_t)p->algo, ws, p->ws_bytes, &beta,
                                     p->y, out);
    case CONV_BWD_DATA:
      return cudnnConvolutionBackwardData(c->cudnn, &one, p->w, in0, p->y, in1, p->conv,
                                          (cudnnConvolutionBwdDataAlgo_t)p->algo, ws, p->ws_bytes,
                                          &beta, p->x, out);
    case CONV_BWD_FILTER:
      return cudnnConvolutionBackwardFilter(c->cudnn, &one, p->x, in0, p->y, in1, p->conv,
                                            (cudnnConvolutionBwdFilterAlgo_t)p->algo, ws,
                                            p->ws_bytes, &beta, p->w, out);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

void conv_run(CudaCtx *c, ConvPlan *p, const void *in0, const void *in1, float beta, void *out) {
  for (;;) {
    cudnnStatus_t s = conv_call(c, p, in0, in1, beta, out);
    if (s == CUDNN_STATUS_SUCCESS) return;
    char what[160];
    conv_describe(what, sizeof what, p->key);
    int failed = p->algo, i = p->cur;
    // The next candidate that can be set up (the workspace query can refuse one too).
    while (++i < p->ncand && conv_use(c, p, i) != CUDNN_STATUS_SUCCESS) {
    }
    if (i >= p->ncand)
      genet_die("%s:%d: cuDNN call failed: convolution %s, algorithm %d, no candidate left of %d: %s",
                __FILE__, __LINE__, what, failed, p->ncand, cudnnGetErrorString(s));
    // One line, and the plan keeps the new choice. The run goes on with other kernels,
    // deterministic still, but not those of a run without this failure: its bits may differ.
    fprintf(stderr, "genet: cuDNN convolution %s: algorithm %d failed (%s); falling back to algorithm %d\n",
            what, failed, cudnnGetErrorString(s), p->algo);
  }
}

ConvPlan *conv_plan(CudaCtx *c, ConvDir dir, int N, int C, int H, int W, int K, int k,
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
  // data. This is the math type the ranking is asked for; conv_use then sets the chosen one's.
  CUDNN_CHECK(
      cudnnSetConvolutionMathType(p->conv, c->tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int yn = 0, yc = 0, yh = 0, yw = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &yn, &yc, &yh, &yw));
  int ho = (H + 2 * pad - k) / stride + 1, wo = (W + 2 * pad - k) / stride + 1;
  if (yn != N || yc != K || yh != ho || yw != wo)
    genet_die("cuDNN convolution output %dx%dx%dx%d, expected %dx%dx%dx%d", yn, yc, yh, yw, N, K,
              ho, wo);
  p->y = tensor4d(N, K, ho, wo);
  p->dir = dir;
  memcpy(p->key, key, sizeof key);
  conv_rank(c, p);
  if (p->ncand == 0) {
    char what[160];
    conv_describe(what, sizeof what, key);
    genet_die("cuDNN offers no deterministic%s convolution algorithm within %zu MiB of workspace for %s",
              key[9] ? "" : " FMA (fp32)", CONV_WS_LIMIT >> 20, what);
  }
  // The first candidate whose set-up succeeds; conv_run falls back along the rest.
  int i = 0;
  cudnnStatus_t st;
  while ((st = conv_use(c, p, i)) != CUDNN_STATUS_SUCCESS && i + 1 < p->ncand) i++;
  CUDNN_CHECK(st);
  e->next = c->dnn->convs;
  c->dnn->convs = e;
  return p;
}
