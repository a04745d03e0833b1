// test_gpu_nccl.c (label gpu): GradSync's NCCL path on device buffers, as a GPU rank runs it:
// comm_pick_device, comm_use_nccl (at any world size, one rank included), a GradBuffer whose
// stream is a non-blocking compute stream, and per step: the gradients zeroed and written on
// the compute stream (asynchronous copies from pinned memory standing in for backward's
// kernels), each tensor marked ready right after its write is queued, gradsync_finish, then
// the result read back on the compute stream with no other synchronization, as the optimizer
// would see it. Checked against the closed form of rank-dependent fills (exact in float, as in
// test_ddp): every element is the mean over ranks, padding stays 0, the stats count every
// bucket (all started during "backward" when every tensor is marked). Then rank 0's parameters
// broadcast, and 200 steps reusing the events. Last, comm_nccl_sum_double (synchronized
// BatchNorm's device sums) on a context's stream, called directly and through the trainer's
// binding (trainer_bind_reduce, ctx_sum_double_device): doubles written by an asynchronous copy
// queued just before must be what it sums, a write queued just after must not be overwritten
// by it, and ctx_download must then read the sum over the ranks (closed form, exact in double),
// with the events reused over many calls. At one rank the sum is the identity.
// With one rank the mean is the gradient itself, so this checks the calls, the event plumbing
// and that nothing is lost or reordered within a rank, not the arithmetic of the reduction:
// that needs two GPUs (mpirun -np 2 build/tests/test_gpu_nccl). Two ranks on one GPU stop at
// comm_pick_device with a message (NCCL refuses two ranks on one device).
// Without CUDA or a GPU: one SKIP line, exit 77.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_nccl.h"
#include "comm/ddp.h"
#include "core/util.h"
#include "gpulib.h"
#include "testlib.h"
#include "train/trainer.h"

#ifdef GENET_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda_ctx.h"

#define CK(call)                                                                            \
  do {                                                                                      \
    cudaError_t e_ = (call);                                                                \
    if (e_ != cudaSuccess) genet_die("%s:%d: CUDA call failed: %s: %s", __FILE__, __LINE__, \
                                     #call, cudaGetErrorString(e_));                        \
  } while (0)

static Comm comm;

// Every rank computes each check; rank 0 prints it with the count of ranks where it failed.
static void check_all(int ok, const char *fmt, const char *what) {
  double bad = comm_sum_double(&comm, ok ? 0.0 : 1.0);
  if (comm.rank == 0) test_check(bad == 0, fmt, what, (int)bad, comm.size);
}

// Tensors of odd sizes, padded to 16 floats as params_alloc does; one large enough that its
// copy takes a while, so later buckets start while it is still in flight.
static const size_t SIZES[] = {7, 15, 1, 5000, 99, 210, 17, 3, 1 << 20, 33};
#define NT ((int)(sizeof SIZES / sizeof *SIZES))

typedef struct {
  size_t offset[NT], numel[NT], total;
} Layout;

static void layout_init(Layout *L) {
  size_t off = 0;
  for (int i = 0; i < NT; i++) {
    L->offset[i] = off;
    L->numel[i] = SIZES[i];
    off += (SIZES[i] + 15) / 16 * 16;
  }
  L->total = off;
}

// Rank r's gradient at float o in step `step`, and the mean over w ranks (exact in float).
static float fill(size_t o, int step, int r) {
  return (float)(r + 1) * (float)((int)((o + (size_t)step) % 13) - 6) + 0.5f * (float)r;
}
static float mean_of(size_t o, int step, int w) {
  return (float)((int)((o + (size_t)step) % 13) - 6) * (float)(w + 1) / 2.0f + 0.25f * (float)(w - 1);
}

enum { ORD_REVERSE, ORD_FORWARD, ORD_HALF, ORD_NONE, NORD };
static const char *ORD_NAMES[] = {"reverse (backward's)", "forward", "half the tensors", "none"};

typedef struct {
  const Layout *L;
  cudaStream_t compute;
  float *d_grad, *h_src, *h_out;  // device gradients; pinned host source and result
} Bench;

// One step; returns the number of wrong floats and the stats.
static size_t run_step(Bench *B, GradSync *s, int order, int step, GradSyncStats *st) {
  const Layout *L = B->L;
  for (size_t o = 0; o < L->total; o++) B->h_src[o] = fill(o, step, comm.rank);
  CK(cudaMemsetAsync(B->d_grad, 0, L->total * sizeof(float), B->compute));  // zero_grad
  gradsync_begin(s);
  for (int j = 0; j < NT; j++) {
    int i = order == ORD_FORWARD ? j : NT - 1 - j;
    size_t off = L->offset[i], n = L->numel[i];
    CK(cudaMemcpyAsync(B->d_grad + off, B->h_src + off, n * sizeof(float), cudaMemcpyHostToDevice, B->compute));
    int mark = order == ORD_REVERSE || order == ORD_FORWARD || (order == ORD_HALF && j % 2 == 0);
    if (mark) gradsync_ready_offset(s, off, n);
  }
  gradsync_finish(s);
  *st = gradsync_stats(s);
  // The optimizer's view: queued on the compute stream right after finish.
  for (size_t o = 0; o < L->total; o++) B->h_out[o] = NAN;
  CK(cudaMemcpyAsync(B->h_out, B->d_grad, L->total * sizeof(float), cudaMemcpyDeviceToHost, B->compute));
  CK(cudaStreamSynchronize(B->compute));
  size_t bad = 0;
  for (int i = 0; i < NT; i++) {
    size_t a = L->offset[i], e = i + 1 < NT ? L->offset[i + 1] : L->total;
    for (size_t o = a; o < e; o++) {
      float want = o < a + L->numel[i] ? mean_of(o, step, comm.size) : 0.0f;
      bad += !(B->h_out[o] == want);
    }
  }
  return bad;
}

// ---- comm_nccl_sum_double: rank r's double i in round t, and the sum over w ranks (exact).
static double dfill(size_t i, int t, int r) { return (double)(r + 1) * (double)((i + (size_t)t) % 1009) + 0.5 * r; }
static double dsum(size_t i, int t, int w) {
  return (double)((i + (size_t)t) % 1009) * (w * (w + 1) / 2) + 0.25 * w * (w - 1);
}

// One round on ctx's stream: NaN, then (queued, not waited for) the fill, the sum, and a
// write over the first `head` doubles; returns the number of wrong doubles read back.
static size_t sum_round(Ctx *ctx, double *d, double *h_in, double *h_head, double *h_out,
                        size_t n, size_t head, int t, int via_ctx) {
  cudaStream_t st = (cudaStream_t)ctx_stream(ctx);
  CK(cudaMemsetAsync(d, 0xff, n * sizeof(double), st));  // NaN
  CK(cudaStreamSynchronize(st));
  for (size_t i = 0; i < n; i++) h_in[i] = dfill(i, t, comm.rank);
  for (size_t i = 0; i < head; i++) h_head[i] = -1.0 - (double)i;
  CK(cudaMemcpyAsync(d, h_in, n * sizeof(double), cudaMemcpyHostToDevice, st));
  if (via_ctx) ctx_sum_double_device(ctx, d, n);
  else comm_nccl_sum_double(&comm, d, n, st);
  CK(cudaMemcpyAsync(d, h_head, head * sizeof(double), cudaMemcpyHostToDevice, st));
  ctx_download(ctx, h_out, d, n * sizeof(double));
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += !(h_out[i] == (i < head ? h_head[i] : dsum(i, t, comm.size)));
  return bad;
}

static void test_sum_double(int dev) {
  Ctx ctx;
  ctx_init_on(&ctx, DEV_CUDA, dev, 0);
  trainer_bind_reduce(&ctx, &comm);  // NCCL's device sum at several ranks; none at one
  const size_t sizes[] = {1, 7, 3 * 64, 1 << 20};  // the last: its copy takes a while
  const size_t nmax = 1 << 20;
  double *d, *h_in, *h_head, *h_out;
  CK(cudaMalloc((void **)&d, nmax * sizeof(double)));
  CK(cudaMallocHost((void **)&h_in, nmax * sizeof(double)));
  CK(cudaMallocHost((void **)&h_head, nmax * sizeof(double)));
  CK(cudaMallocHost((void **)&h_out, nmax * sizeof(double)));
  for (int via_ctx = 0; via_ctx <= 1; via_ctx++) {
    size_t bad = 0;
    int rounds = 0;
    for (int t = 0; t < 20; t++)
      for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++, rounds++)
        bad += sum_round(&ctx, d, h_in, h_head, h_out, sizes[k], sizes[k] / 2, t, via_ctx);
    char what[160];
    snprintf(what, sizeof what, "%s, %d rounds: %zu wrong doubles",
             via_ctx ? "ctx_sum_double_device (trainer_bind_reduce)" : "comm_nccl_sum_double",
             rounds, bad);
    check_all(bad == 0, "device sum of doubles ordered on the compute stream, %s (failed on %d of %d ranks)", what);
  }
  CK(cudaFreeHost(h_in));
  CK(cudaFreeHost(h_head));
  CK(cudaFreeHost(h_out));
  CK(cudaFree(d));
  ctx_free(&ctx);
}

int main(int argc, char **argv) {
  char why[256];
  int ndev = cuda_device_count(why, sizeof why);
  if (ndev == 0) {
    printf("SKIP gpu_nccl: no usable CUDA device (%s); this test runs on a GPU machine (scripts/gpu-check.sh)\n", why);
    return GPU_SKIP;
  }
  comm_init(&comm, &argc, &argv);
  int dev = comm_pick_device(&comm, ndev);
  comm_use_nccl(&comm, dev);  // also at one rank: the NCCL path is what is tested
  char versions[512];
  cuda_versions(versions, sizeof versions);
  if (comm.rank == 0) printf("world of %d, device %d; %s\n", comm.size, dev, versions);

  Layout L;
  layout_init(&L);
  Bench B = {.L = &L};
  CK(cudaStreamCreateWithFlags(&B.compute, cudaStreamNonBlocking));
  float *d_data;
  CK(cudaMalloc((void **)&B.d_grad, L.total * sizeof(float)));
  CK(cudaMalloc((void **)&d_data, L.total * sizeof(float)));
  CK(cudaMallocHost((void **)&B.h_src, L.total * sizeof(float)));
  CK(cudaMallocHost((void **)&B.h_out, L.total * sizeof(float)));
  GradBuffer gb = {.data = d_data, .grad = B.d_grad, .total = L.total, .ntensors = NT,
                   .offset = L.offset, .numel = L.numel, .stream = B.compute};

  const size_t caps[] = {64, 4096, 1 << 20, 0};
  const char *cap_names[] = {"64 B", "4 KiB", "1 MiB (the large tensor in 4 pieces)", "default (25 MiB: one bucket)"};
  for (int ci = 0; ci < 4; ci++) {
    GradSync *s = gradsync_create(&comm, &gb, caps[ci]);
    int nb = gradsync_num_buckets(s);
    for (int o = 0; o < NORD; o++) {
      size_t bad = 0;
      int stats_ok = 1, early = 0;
      for (int step = 0; step < 3; step++) {
        GradSyncStats st;
        bad += run_step(&B, s, o, 10 * ci + 3 * o + step, &st);
        stats_ok &= st.buckets == nb && st.bytes == L.total * sizeof(float);
        early = st.buckets_early;
        if (o == ORD_REVERSE || o == ORD_FORWARD) stats_ok &= early == nb;
        if (o == ORD_NONE) stats_ok &= early == 0;
      }
      char what[200];
      snprintf(what, sizeof what, "cap %s (%d buckets), ready order %s: %zu wrong floats, stats %s, %d early",
               cap_names[ci], nb, ORD_NAMES[o], bad, stats_ok ? "right" : "WRONG", early);
      check_all(bad == 0 && stats_ok, "mean over the ranks, %s (failed on %d of %d ranks)", what);
    }
    gradsync_free(s);
  }

  // Rank 0's parameters to every rank, ordered on the compute stream both ways.
  GradSync *s = gradsync_create(&comm, &gb, 4096);
  for (size_t o = 0; o < L.total; o++) B.h_src[o] = (float)comm.rank * 1000.0f + (float)(o % 977);
  CK(cudaMemcpyAsync(d_data, B.h_src, L.total * sizeof(float), cudaMemcpyHostToDevice, B.compute));
  gradsync_broadcast_params(s);
  CK(cudaMemcpyAsync(B.h_out, d_data, L.total * sizeof(float), cudaMemcpyDeviceToHost, B.compute));
  CK(cudaStreamSynchronize(B.compute));
  size_t bad = 0;
  for (size_t o = 0; o < L.total; o++) bad += B.h_out[o] != (float)(o % 977);
  char what[96];
  snprintf(what, sizeof what, "%zu wrong floats", bad);
  check_all(bad == 0, "broadcast of rank 0's parameters: %s (failed on %d of %d ranks)", what);

  // Many steps through the same events, the way training reuses one GradSync.
  bad = 0;
  int early_all = 1;
  for (int step = 0; step < 200; step++) {
    GradSyncStats st;
    bad += run_step(&B, s, ORD_REVERSE, step, &st);
    early_all &= st.buckets_early == gradsync_num_buckets(s);
  }
  snprintf(what, sizeof what, "%zu wrong floats, every bucket started during backward: %s", bad, early_all ? "yes" : "no");
  check_all(bad == 0 && early_all, "200 steps on one GradSync: %s (failed on %d of %d ranks)", what);
  gradsync_free(s);

  test_sum_double(dev);

  CK(cudaFreeHost(B.h_src));
  CK(cudaFreeHost(B.h_out));
  CK(cudaFree(B.d_grad));
  CK(cudaFree(d_data));
  CK(cudaStreamDestroy(B.compute));
  int rc = comm.rank == 0 ? test_finish("gpu_nccl") : 0;
  rc = (int)comm_sum_double(&comm, rc);
  comm_finalize(&comm);
  return rc ? 1 : 0;
}

#else

int main(void) {
  printf("SKIP gpu_nccl: this genet was built without CUDA (GENET_CUDA=OFF or no toolkit)\n");
  return GPU_SKIP;
}

#endif
