// comm.c: launcher detection, the single-process and MPI back ends, and dispatch to NCCL.
#include "comm/comm.h"

#include <limits.h>
#include <stdint.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

// Checks an MPI call; on failure names the call, the rank and MPI's message, then aborts all.
#define MPI_CHECK(c, call)                                                                  \
  do {                                                                                      \
    int e_ = (call);                                                                        \
    if (e_ != MPI_SUCCESS) {                                                                \
      char s_[MPI_MAX_ERROR_STRING];                                                        \
      int l_ = 0;                                                                           \
      MPI_Error_string(e_, s_, &l_);                                                        \
      comm_abort((c), "%s:%d: MPI call failed: %s: %s", __FILE__, __LINE__, #call, s_);     \
    }                                                                                       \
  } while (0)

// Finishes a non-blocking collective, giving up after c->timeout_s. Every blocking collective
// below is its non-blocking twin and this wait, so that a peer that never arrives ends the
// job with a message instead of a hang (MPI_Test polls drive Open MPI's progress; poll_pause
// keeps a long wait off the core).
static void wait_req(Comm *c, MPI_Request *req, const char *what) {
  if (c->timeout_s <= 0) {
    MPI_CHECK(c, MPI_Wait(req, MPI_STATUS_IGNORE));
    return;
  }
  PollWait w = poll_start();
  for (;;) {
    int done = 0;
    MPI_CHECK(c, MPI_Test(req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    if (poll_pause(&w) > c->timeout_s)
      comm_abort(c, "%s: the other ranks did not all arrive within collective_timeout = %g s (a rank "
                    "is stuck or stopped: see docs/CLUSTER.md, \"When ranks hang or die\")", what, c->timeout_s);
  }
}

void comm_set_timeout(Comm *c, double seconds) { c->timeout_s = seconds > 0 ? seconds : 0; }

static int launched_by_mpi(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

// OMPI_COMM_WORLD_LOCAL_RANK (mpirun) or SLURM_LOCALID (srun); -1 when neither is a number.
static int launcher_local_rank(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    if (!v || !*v) continue;
    char *end = NULL;
    long r = strtol(v, &end, 10);
    if (*end == '\0' && r >= 0 && r < INT_MAX) return (int)r;
  }
  return -1;
}

void comm_init(Comm *c, int *argc, char ***argv) {
  memset(c, 0, sizeof *c);
  c->size = c->local_size = 1;
  c->kind = COMM_SINGLE;
  if (!launched_by_mpi()) return;
  int provided = 0;
  // Errors come back to us (checked) instead of MPI's default of aborting silently.
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    genet_die("MPI_Init_thread failed (launched by mpirun/srun, but MPI cannot start)");
  c->mpi_inited = 1;
  c->kind = COMM_MPI;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_CHECK(c, MPI_Comm_rank(MPI_COMM_WORLD, &c->rank));
  MPI_CHECK(c, MPI_Comm_size(MPI_COMM_WORLD, &c->size));
  // The ranks sharing this node's memory: works under any launcher. Where the launcher
  // numbers its tasks per node itself (mpirun, srun), that number wins, so the GPU a rank
  // picks is the one the launcher's own GPU binding expects.
  MPI_Comm node;
  MPI_CHECK(c, MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node));
  MPI_CHECK(c, MPI_Comm_rank(node, &c->local_rank));
  MPI_CHECK(c, MPI_Comm_size(node, &c->local_size));
  MPI_Comm_free(&node);
  int env_rank = launcher_local_rank();
  if (env_rank >= 0 && env_rank < c->local_size) c->local_rank = env_rank;
}

void comm_finalize(Comm *c) {
  if (c->kind == COMM_NCCL) c->device->free(c->nccl);
  if (c->mpi_inited) MPI_Finalize();
  memset(c, 0, sizeof *c);
}

// MPI counts are int: long buffers go in chunks.
#define MPI_CHUNK ((size_t)1 << 30)

void comm_allreduce_sum(Comm *c, float *buf, size_t n) {
  if (c->size == 1) return;
  if (c->kind == COMM_NCCL) {
    c->device->allreduce(c->nccl, buf, n, 0);
    return;
  }
  for (size_t off = 0; off < n; off += MPI_CHUNK) {
    size_t m = n - off < MPI_CHUNK ? n - off : MPI_CHUNK;
    MPI_Request req;
    MPI_CHECK(c, MPI_Iallreduce(MPI_IN_PLACE, buf + off, (int)m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req));
    wait_req(c, &req, "all-reduce");
  }
}

static void scale(float *buf, size_t n, float s) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 65536)
  for (long long i = 0; i < nn; i++) buf[i] *= s;
}

void comm_allreduce_mean(Comm *c, float *buf, size_t n) {
  if (c->size == 1) return;
  if (c->kind == COMM_NCCL) {
    c->device->allreduce(c->nccl, buf, n, 1);
    return;
  }
  comm_allreduce_sum(c, buf, n);
  scale(buf, n, 1.0f / (float)c->size);
}

void comm_iallreduce(Comm *c, float *buf, size_t n, int mean, CommRequest *r) {
  memset(r, 0, sizeof *r);
  if (c->size == 1) return;
  GENET_ASSERT(c->kind == COMM_MPI);  // GPU buckets overlap on an NCCL stream instead
  GENET_ASSERT(n <= INT_MAX);
  MPI_Request req;
  MPI_CHECK(c, MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req));
  r->active = 1;
  r->req = (long long)MPI_Request_c2f(req);
  r->buf = buf;
  r->n = n;
  r->mean = mean;
}

void comm_wait(Comm *c, CommRequest *r) {
  if (!r->active) return;
  MPI_Request req = MPI_Request_f2c((MPI_Fint)r->req);
  wait_req(c, &req, "gradient all-reduce");
  if (r->mean) scale(r->buf, r->n, 1.0f / (float)c->size);
  r->active = 0;
}

int comm_test(Comm *c, CommRequest *r) {
  if (!r->active) return 1;
  MPI_Request req = MPI_Request_f2c((MPI_Fint)r->req);
  int done = 0;
  MPI_CHECK(c, MPI_Test(&req, &done, MPI_STATUS_IGNORE));
  if (!done) return 0;  // req is unchanged while incomplete: the stored handle stays valid
  if (r->mean) scale(r->buf, r->n, 1.0f / (float)c->size);
  r->active = 0;
  return 1;
}

void comm_bcast(Comm *c, void *buf, size_t bytes, int root) {
  if (c->size == 1) return;
  char *p = buf;
  for (size_t off = 0; off < bytes; off += MPI_CHUNK) {
    size_t m = bytes - off < MPI_CHUNK ? bytes - off : MPI_CHUNK;
    MPI_Request req;
    MPI_CHECK(c, MPI_Ibcast(p + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD, &req));
    wait_req(c, &req, "broadcast");
  }
}

void comm_barrier(Comm *c) {
  if (c->size == 1) return;
  MPI_Request req;
  MPI_CHECK(c, MPI_Ibarrier(MPI_COMM_WORLD, &req));
  wait_req(c, &req, "barrier");
}

double comm_sum_double(Comm *c, double v) {
  if (c->size == 1) return v;
  double out = 0;
  MPI_Request req;
  MPI_CHECK(c, MPI_Iallreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req));
  wait_req(c, &req, "all-reduce");
  return out;
}

void comm_allreduce_sum_double(Comm *c, double *buf, size_t n) {
  if (c->size == 1) return;
  for (size_t off = 0; off < n; off += MPI_CHUNK) {
    size_t m = n - off < MPI_CHUNK ? n - off : MPI_CHUNK;
    MPI_Request req;
    MPI_CHECK(c, MPI_Iallreduce(MPI_IN_PLACE, buf + off, (int)m, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req));
    wait_req(c, &req, "all-reduce");
  }
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

int comm_pick_device(Comm *c, int ndevices) {
  // Ranks of one node that see the same devices (the same CUDA_VISIBLE_DEVICES) take them in
  // rank order; a rank bound to devices of its own (Slurm --gpus-per-task, a launcher that sets
  // CUDA_VISIBLE_DEVICES per rank) starts from its first one.
  int idx = c->local_rank;
  if (c->mpi_inited && c->size > 1) {
    char host[MPI_MAX_PROCESSOR_NAME + 1] = {0};
    int len = 0;
    MPI_CHECK(c, MPI_Get_processor_name(host, &len));
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    uint64_t mine[2] = {fnv1a(host), fnv1a(vis ? vis : "(all)")};
    uint64_t *all = xmalloc(sizeof(uint64_t) * 2 * (size_t)c->size);
    MPI_Request req;
    MPI_CHECK(c, MPI_Iallgather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, MPI_COMM_WORLD, &req));
    wait_req(c, &req, "device assignment");
    idx = 0;
    for (int r = 0; r < c->rank; r++) idx += all[2 * r] == mine[0] && all[2 * r + 1] == mine[1];
    free(all);
  }
  if (idx >= ndevices)
    comm_abort(c, "rank %d (local rank %d) has no GPU: node has %d GPUs; start at most %d ranks per node",
               c->rank, c->local_rank, ndevices, ndevices);
  return idx;
}

void comm_abort(Comm *c, const char *fmt, ...) {
  (void)c;  // the world is MPI_COMM_WORLD: genet_die names the rank and aborts it
  char msg[GENET_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  genet_die("%s", msg);
}
