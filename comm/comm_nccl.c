// comm_nccl.c: NCCL communicator from an ncclUniqueId that rank 0 makes and MPI broadcasts,
// and GradSync's transport for device buffers: all the CUDA and NCCL code of comm/ lives here.
// Every NCCL operation of a communicator goes on its one stream (n->stream), so they run in the
// order they were issued, which is the same on every rank; NCCL gives no such order between
// operations of one communicator on different streams.
#include "comm/comm_nccl.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "comm/ddp.h"
#include "core/util.h"

#ifdef GENET_HAVE_CUDA
#include <cuda_runtime.h>
#include <nccl.h>

struct CommNccl {
  ncclComm_t comm;
  cudaStream_t stream;  // every NCCL operation of comm, in issue order
  int device;
  Comm *c;
  // comm_nccl_sum_double's ordering (made on first use): sum_ready recorded on the compute
  // stream, sum_done on the NCCL stream after the all-reduce. Reused by every call: a wait
  // takes the event as last recorded, so re-recording never disturbs an earlier wait.
  int sum_events;
  cudaEvent_t sum_ready, sum_done;
};

#define NCCL_CHECK_RANK(c, call)                                                       \
  do {                                                                                 \
    ncclResult_t e_ = (call);                                                          \
    if (e_ != ncclSuccess)                                                             \
      comm_abort((c), "%s:%d: NCCL call failed: %s: %s", __FILE__, __LINE__, #call,    \
                 ncclGetErrorString(e_));                                              \
  } while (0)
#define CUDA_CHECK_RANK(c, call)                                                       \
  do {                                                                                 \
    cudaError_t e_ = (call);                                                           \
    if (e_ != cudaSuccess)                                                             \
      comm_abort((c), "%s:%d: CUDA call failed: %s: %s", __FILE__, __LINE__, #call,    \
                 cudaGetErrorString(e_));                                              \
  } while (0)

static CommNccl *nccl_new(Comm *c, int device) {
  CommNccl *n = xcalloc(1, sizeof *n);
  n->c = c;
  ncclUniqueId id;
  if (c->rank == 0) NCCL_CHECK_RANK(c, ncclGetUniqueId(&id));
  comm_bcast(c, &id, sizeof id, 0);
  CUDA_CHECK_RANK(c, cudaSetDevice(device));
  CUDA_CHECK_RANK(c, cudaStreamCreateWithFlags(&n->stream, cudaStreamNonBlocking));
  NCCL_CHECK_RANK(c, ncclCommInitRank(&n->comm, c->size, id, c->rank));
  n->device = device;
  return n;
}

static void nccl_free(CommNccl *n) {
  if (!n) return;
  if (n->sum_events) {  // allowed with work still queued: CUDA releases them when done
    CUDA_CHECK_RANK(n->c, cudaEventDestroy(n->sum_ready));
    CUDA_CHECK_RANK(n->c, cudaEventDestroy(n->sum_done));
  }
  NCCL_CHECK_RANK(n->c, ncclCommDestroy(n->comm));
  CUDA_CHECK_RANK(n->c, cudaStreamDestroy(n->stream));
  free(n);
}

// Waits for NCCL's stream as a watchdog would: an error NCCL reports asynchronously (a failed
// peer or network) or a wait longer than collective_timeout ends the job with one line, where
// cudaStreamSynchronize would wait forever for a peer that never arrives.
static void wait_nccl(CommNccl *n, const char *what) {
  PollWait w = poll_start();
  for (;;) {
    cudaError_t e = cudaStreamQuery(n->stream);
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady)
      comm_abort(n->c, "%s:%d: CUDA call failed: cudaStreamQuery(NCCL's stream): %s", __FILE__, __LINE__,
                 cudaGetErrorString(e));
    ncclResult_t async = ncclSuccess;
    NCCL_CHECK_RANK(n->c, ncclCommGetAsyncError(n->comm, &async));
    if (async != ncclSuccess && async != ncclInProgress)
      comm_abort(n->c, "NCCL %s failed: %s", what, ncclGetErrorString(async));
    double waited = poll_pause(&w);
    if (n->c->timeout_s > 0 && waited > n->c->timeout_s)
      comm_abort(n->c, "NCCL %s: the other ranks did not all arrive within collective_timeout = %g s "
                       "(see docs/CLUSTER.md, \"When ranks hang or die\")", what, n->c->timeout_s);
  }
}

static void nccl_allreduce(CommNccl *n, float *buf, size_t count, int mean) {
  NCCL_CHECK_RANK(n->c, ncclAllReduce(buf, buf, count, ncclFloat, mean ? ncclAvg : ncclSum, n->comm, n->stream));
  wait_nccl(n, "all-reduce");
}

// A failed peer or network shows here (an atomic read), not as a hang in a later wait.
static void check_async(Comm *c, CommNccl *n, const char *what) {
  ncclResult_t async = ncclSuccess;
  NCCL_CHECK_RANK(c, ncclCommGetAsyncError(n->comm, &async));
  if (async != ncclSuccess && async != ncclInProgress)
    comm_abort(c, "NCCL communicator failed before %s: %s", what, ncclGetErrorString(async));
}

void comm_nccl_sum_double(Comm *c, double *dev_buf, size_t n, void *compute_stream) {
  GENET_ASSERT(c->kind == COMM_NCCL && c->nccl && compute_stream);
  CommNccl *nc = c->nccl;
  cudaStream_t compute = (cudaStream_t)compute_stream;
  check_async(c, nc, "a sum of doubles");
  if (!nc->sum_events) {  // ordering only: no timing, so recording is cheap
    CUDA_CHECK_RANK(c, cudaEventCreateWithFlags(&nc->sum_ready, cudaEventDisableTiming));
    CUDA_CHECK_RANK(c, cudaEventCreateWithFlags(&nc->sum_done, cudaEventDisableTiming));
    nc->sum_events = 1;
  }
  // After the kernels that wrote dev_buf; on NCCL's one stream, in issue order with GradSync's
  // buckets; and before whatever the compute stream runs next (which may overwrite dev_buf).
  CUDA_CHECK_RANK(c, cudaEventRecord(nc->sum_ready, compute));
  CUDA_CHECK_RANK(c, cudaStreamWaitEvent(nc->stream, nc->sum_ready, 0));
  NCCL_CHECK_RANK(c, ncclAllReduce(dev_buf, dev_buf, n, ncclDouble, ncclSum, nc->comm, nc->stream));
  CUDA_CHECK_RANK(c, cudaEventRecord(nc->sum_done, nc->stream));
  CUDA_CHECK_RANK(c, cudaStreamWaitEvent(compute, nc->sum_done, 0));
}

// ---- GradSync's transport (ddp.h): events order the NCCL stream after the compute stream's
// backward kernels (bucket start) and the compute stream after the all-reduces (finish). The
// host never waits. Event k (0 <= k < nb) belongs to bucket k; event nb to the broadcast.

typedef struct {
  Comm *c;
  CommNccl *n;
  cudaStream_t compute;  // backward's and the optimizer's stream
  int nev;               // nb + 1
  cudaEvent_t *ready;    // (nev) recorded on compute when bucket k starts
  cudaEvent_t *done;     // (nev) recorded on n->stream after bucket k's all-reduce
} NcclGrad;

// NCCL's stream waits for everything queued so far on the compute stream (event k).
static void after_compute(NcclGrad *g, int k) {
  CUDA_CHECK_RANK(g->c, cudaEventRecord(g->ready[k], g->compute));
  CUDA_CHECK_RANK(g->c, cudaStreamWaitEvent(g->n->stream, g->ready[k], 0));
}

static void nccl_grad_start(void *self, int k, float *buf, size_t count) {
  NcclGrad *g = self;
  char what[32];
  snprintf(what, sizeof what, "bucket %d", k);
  check_async(g->c, g->n, what);
  after_compute(g, k);
  NCCL_CHECK_RANK(g->c, ncclAllReduce(buf, buf, count, ncclFloat, ncclAvg, g->n->comm, g->n->stream));
  CUDA_CHECK_RANK(g->c, cudaEventRecord(g->done[k], g->n->stream));
}

static void nccl_grad_wait(void *self, int k) {
  NcclGrad *g = self;
  CUDA_CHECK_RANK(g->c, cudaStreamWaitEvent(g->compute, g->done[k], 0));
}

static void nccl_grad_bcast(void *self, float *data, size_t count) {
  NcclGrad *g = self;
  int k = g->nev - 1;
  after_compute(g, k);
  NCCL_CHECK_RANK(g->c, ncclBroadcast(data, data, count, ncclFloat, 0, g->n->comm, g->n->stream));
  CUDA_CHECK_RANK(g->c, cudaEventRecord(g->done[k], g->n->stream));
  CUDA_CHECK_RANK(g->c, cudaStreamWaitEvent(g->compute, g->done[k], 0));
}

static void nccl_grad_free(void *self) {
  NcclGrad *g = self;
  // Destroying an event whose work is still queued is allowed: CUDA releases it when done.
  for (int k = 0; k < g->nev; k++) {
    CUDA_CHECK_RANK(g->c, cudaEventDestroy(g->ready[k]));
    CUDA_CHECK_RANK(g->c, cudaEventDestroy(g->done[k]));
  }
  free(g->ready);
  free(g->done);
  free(g);
}

static void nccl_grad_transport(Comm *c, void *stream, int nbuckets, GradTransport *t) {
  GENET_ASSERT(c->kind == COMM_NCCL && c->nccl && stream && nbuckets >= 0);
  CommNccl *n = c->nccl;
  int version = 0, dev = -1;
  NCCL_CHECK_RANK(c, ncclGetVersion(&version));
  if (version < 21000)  // NCCL_VERSION(2, 10, 0): the first with ncclAvg
    comm_abort(c, "NCCL %d found at run time: GradSync needs 2.10 or later (ncclAvg)", version);
  // Events, the compute stream and the communicator must all be on one device.
  CUDA_CHECK_RANK(c, cudaGetDevice(&dev));
  if (dev != n->device)
    comm_abort(c, "GradSync made on CUDA device %d, but this rank's NCCL communicator is on "
                  "device %d (comm_use_nccl): select the device before creating either", dev, n->device);
#if CUDART_VERSION >= 12080
  int sdev = -1;
  CUDA_CHECK_RANK(c, cudaStreamGetDevice((cudaStream_t)stream, &sdev));
  if (sdev != n->device)
    comm_abort(c, "GradSync's compute stream is on CUDA device %d, this rank's NCCL communicator on "
                  "device %d", sdev, n->device);
#endif
  NcclGrad *g = xcalloc(1, sizeof *g);
  g->c = c;
  g->n = n;
  g->compute = (cudaStream_t)stream;
  g->nev = nbuckets + 1;
  g->ready = xcalloc((size_t)g->nev, sizeof(cudaEvent_t));
  g->done = xcalloc((size_t)g->nev, sizeof(cudaEvent_t));
  for (int k = 0; k < g->nev; k++) {  // ordering only: no timing, so recording is cheap
    CUDA_CHECK_RANK(c, cudaEventCreateWithFlags(&g->ready[k], cudaEventDisableTiming));
    CUDA_CHECK_RANK(c, cudaEventCreateWithFlags(&g->done[k], cudaEventDisableTiming));
  }
  *t = (GradTransport){g, nccl_grad_start, NULL, nccl_grad_wait, nccl_grad_bcast, nccl_grad_free};
}

static const CommDevice nccl_device = {nccl_allreduce, nccl_grad_transport, nccl_free};

void comm_use_nccl(Comm *c, int device) {
  GENET_ASSERT(c->kind != COMM_NCCL);  // once per communicator
  c->nccl = nccl_new(c, device);
  c->device = &nccl_device;
  c->kind = COMM_NCCL;
}

#else

// Without CUDA there is no NCCL: asking for it is a clear error, and nothing else is reachable.
void comm_use_nccl(Comm *c, int device) {
  (void)device;
  comm_abort(c, "NCCL requested, but this genet was built without CUDA (see `genet version`)");
}
void comm_nccl_sum_double(Comm *c, double *dev_buf, size_t n, void *compute_stream) {
  (void)dev_buf; (void)n; (void)compute_stream;
  comm_abort(c, "a device sum over NCCL, but this genet was built without CUDA");
}
#endif
