// comm_nccl.c: NCCL communicator from an ncclUniqueId that rank 0 makes and MPI broadcasts.
#include "comm_nccl.h"

#include <mpi.h>
#include <stdlib.h>

#include "core/util.h"

#ifdef GENET_HAVE_CUDA
#include <cuda_runtime.h>
#include <nccl.h>

struct CommNccl {
  ncclComm_t comm;
  cudaStream_t stream;
  Comm *c;
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

CommNccl *comm_nccl_new(Comm *c, int device) {
  CommNccl *n = xcalloc(1, sizeof *n);
  n->c = c;
  ncclUniqueId id;
  if (c->rank == 0) NCCL_CHECK_RANK(c, ncclGetUniqueId(&id));
  comm_bcast(c, &id, sizeof id, 0);
  CUDA_CHECK_RANK(c, cudaSetDevice(device));
  CUDA_CHECK_RANK(c, cudaStreamCreateWithFlags(&n->stream, cudaStreamNonBlocking));
  NCCL_CHECK_RANK(c, ncclCommInitRank(&n->comm, c->size, id, c->rank));
  return n;
}

void comm_nccl_free(CommNccl *n) {
  if (!n) return;
  NCCL_CHECK_RANK(n->c, ncclCommDestroy(n->comm));
  CUDA_CHECK_RANK(n->c, cudaStreamDestroy(n->stream));
  free(n);
}

void comm_nccl_allreduce(CommNccl *n, float *buf, size_t count, int mean) {
  NCCL_CHECK_RANK(n->c, ncclAllReduce(buf, buf, count, ncclFloat, mean ? ncclAvg : ncclSum, n->comm, n->stream));
  CUDA_CHECK_RANK(n->c, cudaStreamSynchronize(n->stream));
}

#else

// Without CUDA there is no NCCL: asking for it is a clear error, and nothing else is reachable.
struct CommNccl {
  int unused;
};

CommNccl *comm_nccl_new(Comm *c, int device) {
  (void)device;
  comm_abort(c, "NCCL requested, but this genet was built without CUDA (see `genet version`)");
}
void comm_nccl_free(CommNccl *n) { free(n); }
void comm_nccl_allreduce(CommNccl *n, float *buf, size_t count, int mean) {
  (void)n; (void)buf; (void)count; (void)mean;
  genet_die("comm_nccl_allreduce: NCCL is not built in");
}
#endif
