// bench_allreduce.c: the genet side of scripts/bench/allreduce.sh (not a test). Run under
// mpirun with the ranks to measure:
//   bench_allreduce [--max-mb M]        bus bandwidth of comm_allreduce_mean, 4 KB .. M MB
//                                       (default 256), CPU buffers over MPI
//   bench_allreduce --nonblocking ...   the same through comm_iallreduce + comm_wait (GradSync's
//                                       path: Open MPI's libnbc, not its tuned blocking one)
//   bench_allreduce --buckets N,N,... [--reps R] [--nonblocking]
//                                       one step's gradient buckets (N floats each) reduced
//                                       one after another, as GradSync does at the end of a
//                                       backward: each bucket's time and the sum (the slowest
//                                       rank's; median of R repetitions, default 5)
//   bench_allreduce --nccl [--max-mb M] the same on GPU buffers over NCCL, one GPU per rank
//                                       (built with CUDA only)
//   bench_allreduce --overlap [--layers L --floats F --gemm G --polls K --bucket-mb B --reps R]
//                                       (defaults 16, 262144, 384, 1, 2, 9)
//                                       one synthetic training step: a backward of L layers,
//                                       each a G x G x G gemm split into K parts with a
//                                       progress poll between them, whose gradient of F
//                                       floats is marked ready when the layer is done. Timed
//                                       without communication, with one blocking all-reduce at
//                                       the end, with GradSync's buckets only at the end (no
//                                       ready calls) and overlapped (ready calls).
// Bus bandwidth as nccl-tests define it: algbw = bytes / time, busbw = algbw * 2 (n - 1) / n.
// Times are the slowest rank's.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm/comm.h"
#include "comm/comm_nccl.h"
#include "core/ctx.h"
#include "comm/ddp.h"
#include "ops/gemm.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/util.h"
#include "train/trainer.h"

#ifdef GENET_HAVE_CUDA
#include <cuda_runtime.h>
#endif

static Comm comm;

static double max_over_ranks(double v) {
  if (comm.size == 1) return v;
  double out = v;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// One all-reduce (mean): blocking, or non-blocking and waited for (GradSync's call).
static void allreduce(float *buf, size_t n, int nonblocking) {
  if (!nonblocking) {
    comm_allreduce_mean(&comm, buf, n);
    return;
  }
  CommRequest r;
  comm_iallreduce(&comm, buf, n, 1, &r);
  comm_wait(&comm, &r);
}

// buf: CPU or device memory of at least max_bytes.
static void bus_bandwidth(float *buf, size_t max_bytes, const char *what, int nonblocking) {
  if (comm.rank == 0) {
    printf("# %s all-reduce (mean) on %d ranks; time = slowest rank, mean of the repetitions\n",
           what, comm.size);
    printf("%12s %8s %12s %12s %12s\n", "bytes", "reps", "time_us", "algbw_GB/s", "busbw_GB/s");
  }
  for (size_t bytes = 4096; bytes <= max_bytes; bytes *= 2) {
    size_t n = bytes / sizeof(float);
    size_t rr = ((size_t)1 << 30) / bytes;  // about 1 GB moved per size, within 5 .. 200 calls
    int reps = rr < 5 ? 5 : rr > 200 ? 200 : (int)rr;
    allreduce(buf, n, nonblocking);  // warm-up (connections, registration)
    comm_barrier(&comm);
    double t0 = now_s();
    for (int k = 0; k < reps; k++) allreduce(buf, n, nonblocking);
    double t = max_over_ranks((now_s() - t0) / reps);
    double alg = (double)bytes / t / 1e9;
    double bus = alg * 2.0 * (comm.size - 1) / comm.size;
    if (comm.rank == 0) printf("%12zu %8d %12.1f %12.3f %12.3f\n", bytes, reps, t * 1e6, alg, bus);
  }
}

// The buckets of one step, reduced in turn; median over reps of the slowest rank's times.

static void buckets(const char *list, int reps, int nonblocking) {
  size_t sizes[16], nb = 0, most = 0;
  for (const char *p = list; *p && nb < 16;) {
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || v == 0) comm_abort(&comm, "bench_allreduce: --buckets '%s': expected N,N,...", list);
    sizes[nb++] = (size_t)v;
    if ((size_t)v > most) most = (size_t)v;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') comm_abort(&comm, "bench_allreduce: --buckets '%s': expected N,N,...", list);
  }
  float *buf = xmalloc_floats(most);
  memset(buf, 0, most * sizeof(float));
  double *t = calloc((size_t)reps * (nb + 1), sizeof(double));
  if (!t) comm_abort(&comm, "out of memory");
  for (size_t b = 0; b < nb; b++) allreduce(buf, sizes[b], nonblocking);  // warm-up
  for (int r = 0; r < reps; r++) {
    double sum = 0;
    for (size_t b = 0; b < nb; b++) {
      comm_barrier(&comm);
      double t0 = now_s();
      allreduce(buf, sizes[b], nonblocking);
      double dt = max_over_ranks(now_s() - t0);
      t[b * reps + r] = dt;
      sum += dt;
    }
    t[nb * reps + r] = sum;
  }
  if (comm.rank == 0) {
    printf("# %s all-reduce of %zu bucket(s) on %d ranks: median of %d, slowest rank\n",
           nonblocking ? "non-blocking (GradSync's)" : "blocking", nb, comm.size, reps);
    for (size_t b = 0; b <= nb; b++) {
      qsort(t + b * reps, (size_t)reps, sizeof(double), cmp_double);
      double med = t[b * reps + reps / 2];
      if (b < nb) printf("bucket %zu: %zu floats (%.1f MB): %.1f ms\n", b, sizes[b], sizes[b] * 4e-6, med * 1e3);
      else printf("total: %.1f ms\n", med * 1e3);
    }
  }
  free(t);
  free(buf);
}

typedef struct {
  int layers, g, polls, reps;
  size_t floats, bucket_bytes;
} OverlapCfg;

enum { M_NONE, M_BLOCKING, M_BUCKETS_AT_END, M_OVERLAP };

// One synthetic backward + gradient averaging in mode `mode`; returns seconds (this rank).
static double step(Ctx *ctx, const OverlapCfg *o, Params *p, GradSync *gs, float *A, float *Bm,
                   float *Cm, int mode, GradSyncStats *st) {
  const int g = o->g, rows = g / o->polls;
  comm_barrier(&comm);
  double t0 = now_s();
  if (mode >= M_BUCKETS_AT_END) gradsync_begin(gs);
  for (int l = o->layers - 1; l >= 0; l--) {  // backward: last layer first
    for (int k = 0; k < o->polls; k++) {
      int r0 = k * rows, nr = k == o->polls - 1 ? g - r0 : rows;
      gemm(ctx, 0, 0, nr, g, g, 1.0f, A + (size_t)r0 * g, g, Bm, g, 0.0f, Cm + (size_t)r0 * g, g);
      if (mode == M_OVERLAP) gradsync_progress(gs);
    }
    float *gr = p->grad + p->info[l].offset;  // "the layer's gradient": touched, as backward would
    gr[0] += Cm[l];
    if (mode == M_OVERLAP) gradsync_ready_offset(gs, p->info[l].offset, p->info[l].numel);
  }
  if (mode == M_BLOCKING) comm_allreduce_mean(&comm, p->grad, p->total);
  if (mode >= M_BUCKETS_AT_END) gradsync_finish(gs);
  double t = now_s() - t0;
  if (st) *st = gradsync_stats(gs);
  return t;
}

static void overlap(const OverlapCfg *o) {
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, 0);
  Params p;
  params_init(&p);
  for (int l = 0; l < o->layers; l++) {
    char name[32];
    snprintf(name, sizeof name, "layer%d.weight", l);
    params_add(&p, name, 1, (int[]){(int)o->floats});
  }
  params_alloc(&p);
  size_t gg = (size_t)o->g * o->g;
  float *A = xmalloc_floats(gg), *Bm = xmalloc_floats(gg), *Cm = xmalloc_floats(gg);
  Rng r;
  rng_init(&r, 1, (uint64_t)comm.rank);
  rng_fill_uniform(&r, A, gg, -1, 1);
  rng_fill_uniform(&r, Bm, gg, -1, 1);
  rng_fill_uniform(&r, p.grad, p.total, -1, 1);
  GradSync *gs = trainer_gradsync_create(&comm, &p, o->bucket_bytes);
  const char *names[4] = {"backward only (no communication)", "backward, then one blocking all-reduce",
                          "backward, then GradSync buckets at the end", "backward overlapped with GradSync buckets"};
  double med[4];
  GradSyncStats st = {0};
  for (int mode = 0; mode < 4; mode++) {
    double *t = xmalloc(sizeof(double) * (size_t)o->reps);
    step(&ctx, o, &p, gs, A, Bm, Cm, mode, NULL);  // warm-up
    for (int k = 0; k < o->reps; k++)
      t[k] = max_over_ranks(step(&ctx, o, &p, gs, A, Bm, Cm, mode, mode == M_OVERLAP ? &st : NULL));
    qsort(t, (size_t)o->reps, sizeof(double), cmp_double);
    med[mode] = t[o->reps / 2];
    free(t);
  }
  if (comm.rank == 0) {
    printf("# one synthetic step on %d ranks: %d layers of %zu floats (%.1f MB of gradients, %d "
           "buckets of <= %.1f MB), backward = %d gemms %dx%dx%d, %d progress polls per layer; "
           "median of %d, slowest rank\n",
           comm.size, o->layers, o->floats, p.total * 4 / 1e6, gradsync_num_buckets(gs),
           o->bucket_bytes / 1e6, o->layers, o->g, o->g, o->g, o->polls, o->reps);
    for (int m = 0; m < 4; m++) printf("%-46s %9.2f ms\n", names[m], med[m] * 1e3);
    double comm_cost = med[M_BLOCKING] - med[M_NONE];
    printf("communication cost, blocking:                  %9.2f ms\n", comm_cost * 1e3);
    printf("hidden by overlap (blocking - overlapped) / (blocking - none): %.0f%%\n",
           comm_cost > 0 ? 100.0 * (med[M_BLOCKING] - med[M_OVERLAP]) / comm_cost : 0.0);
    printf("last overlapped step on rank 0: %d of %d buckets started during backward, %.2f ms "
           "waiting in finish, %.2f ms from first start to the end\n",
           st.buckets_early, st.buckets, st.wait_s * 1e3, st.comm_span_s * 1e3);
  }
  gradsync_free(gs);
  free(A); free(Bm); free(Cm);
  params_free(&p);
  ctx_free(&ctx);
}

int main(int argc, char **argv) {
  comm_init(&comm, &argc, &argv);
  size_t max_mb = 256;
  int nccl = 0, do_overlap = 0, nonblocking = 0;
  const char *bucket_list = NULL;
  // Default step: 16.8 MB of gradients in 8 buckets, a backward of about the time the blocking
  // all-reduce takes on this 2-core machine (so overlap could matter).
  OverlapCfg o = {.layers = 16, .g = 384, .polls = 1, .reps = 9, .floats = 1 << 18,
                  .bucket_bytes = (size_t)2 << 20};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--nccl")) nccl = 1;
    else if (!strcmp(a, "--overlap")) do_overlap = 1;
    else if (!strcmp(a, "--nonblocking")) nonblocking = 1;
    else if (v && !strcmp(a, "--buckets")) bucket_list = v, i++;
    else if (v && !strcmp(a, "--max-mb")) max_mb = (size_t)atol(v), i++;
    else if (v && !strcmp(a, "--layers")) o.layers = atoi(v), i++;
    else if (v && !strcmp(a, "--floats")) o.floats = (size_t)atol(v), i++;
    else if (v && !strcmp(a, "--gemm")) o.g = atoi(v), i++;
    else if (v && !strcmp(a, "--polls")) o.polls = atoi(v), i++;
    else if (v && !strcmp(a, "--reps")) o.reps = atoi(v), i++;
    else if (v && !strcmp(a, "--bucket-mb")) o.bucket_bytes = (size_t)(atof(v) * (1 << 20)), i++;
    else comm_abort(&comm, "bench_allreduce: unknown or incomplete argument %s", a);
  }
  if (o.layers < 1 || o.g < 1 || o.polls < 1 || o.polls > o.g || o.reps < 1 || o.floats < 1 ||
      max_mb < 1)
    comm_abort(&comm, "bench_allreduce: bad sizes");
  size_t max_bytes = max_mb << 20;
  if (bucket_list) {
    buckets(bucket_list, o.reps, nonblocking);
  } else if (do_overlap) {
    overlap(&o);
  } else if (nccl) {
#ifdef GENET_HAVE_CUDA
    int nd = 0;
    if (cudaGetDeviceCount(&nd) != cudaSuccess) nd = 0;
    int dev = comm_pick_device(&comm, nd);
    comm_use_nccl(&comm, dev);
    float *d = NULL;
    if (cudaMalloc((void **)&d, max_bytes) != cudaSuccess)
      comm_abort(&comm, "cudaMalloc of %zu bytes failed", max_bytes);
    cudaMemset(d, 0, max_bytes);
    bus_bandwidth(d, max_bytes, "NCCL (GPU buffers)", 0);
    cudaFree(d);
#else
    comm_abort(&comm, "--nccl: this bench_allreduce was built without CUDA");
#endif
  } else {
    float *buf = xmalloc_floats(max_bytes / sizeof(float));
    for (size_t i = 0; i < max_bytes / sizeof(float); i++) buf[i] = (float)(i % 7);
    bus_bandwidth(buf, max_bytes, nonblocking ? "MPI_Iallreduce + MPI_Wait (CPU buffers)" : "MPI_Allreduce (CPU buffers)", nonblocking);
    free(buf);
  }
  comm_finalize(&comm);
  return 0;
}
