// comm.h: the communicator of data-parallel training. One interface, three back ends:
//   single  one process, no launcher: collectives are no-ops (a mean of one is itself);
//   mpi     CPU buffers over Open MPI (and the fallback where NCCL is not built);
//   nccl    GPU buffers over NCCL, its communicator made from an ncclUniqueId that MPI
//           broadcasts (comm_nccl.c, built with CUDA; comm_use_nccl there switches a
//           communicator to it).
// Every MPI and NCCL call is checked; a failure names the call and the rank and takes every
// rank down (MPI_Abort), so no rank hangs in a collective its peer will never join.
#pragma once
#include <stddef.h>

typedef enum { COMM_SINGLE, COMM_MPI, COMM_NCCL } CommKind;

typedef struct CommNccl CommNccl;
typedef struct Comm Comm;
struct GradTransport;

// The device back end: what comm_use_nccl (comm_nccl.c) installs, so that comm.c and ddp.c
// reach NCCL only through it and the NCCL file depends on them, not the other way round.
typedef struct {
  void (*allreduce)(CommNccl *n, float *buf, size_t count, int mean);  // in place, waited for
  // GradSync's transport of device buffers (ddp.h) on `stream` (a cudaStream_t).
  void (*grad_transport)(Comm *c, void *stream, int nbuckets, struct GradTransport *t);
  void (*free)(CommNccl *n);
} CommDevice;

struct Comm {
  CommKind kind;
  int rank, size;              // in the world
  int local_rank, local_size;  // on this node (MPI shared-memory split): local_rank picks the GPU
  int mpi_inited;              // we called MPI_Init (and so MPI_Finalize)
  CommNccl *nccl;              // when kind == COMM_NCCL
  const CommDevice *device;    // when kind == COMM_NCCL: how nccl is used
  double timeout_s;            // the longest a collective may wait for the other ranks (0: forever)
};

typedef struct {
  int active;
  long long req;  // MPI_Request, stored as an integer handle
  float *buf;
  size_t n;
  int mean;
} CommRequest;

// Starts MPI when a launcher is detected (mpirun, srun: OMPI_COMM_WORLD_SIZE, PMI_SIZE,
// PMIX_RANK, SLURM_STEP_NUM_TASKS with SLURM_PROCID), else runs single-process.
void comm_init(Comm *c, int *argc, char ***argv);
void comm_finalize(Comm *c);

// In place over the ranks. Host buffers over MPI; device buffers once comm_use_nccl (comm_nccl.h) was called
// (NCCL's stream, waited for on the host before returning; the buffer's writers must have
// finished: these calls do not order themselves after a compute stream, GradSync does).
void comm_allreduce_sum(Comm *c, float *buf, size_t n);
void comm_allreduce_mean(Comm *c, float *buf, size_t n);
// Non-blocking all-reduce of a CPU buffer (one gradient bucket); finish with comm_wait.
void comm_iallreduce(Comm *c, float *buf, size_t n, int mean, CommRequest *r);
void comm_wait(Comm *c, CommRequest *r);
// Polls a request without blocking (and so drives Open MPI's progress engine, which only
// moves non-blocking collectives forward inside MPI calls). Returns 1 when the request is
// complete (the mean then applied, as comm_wait; r becomes inactive) or was never active.
int comm_test(Comm *c, CommRequest *r);
void comm_bcast(Comm *c, void *buf, size_t bytes, int root);
void comm_barrier(Comm *c);
// Sum of one double over ranks (losses, counts): the same value on every rank.
double comm_sum_double(Comm *c, double v);
// In-place sum of a double vector over ranks (per-channel statistics of synchronized BatchNorm).
void comm_allreduce_sum_double(Comm *c, double *buf, size_t n);
// The GPU of this rank, as an index among the devices it sees: ranks of a node that see the
// same devices share them in rank order (the local rank, usually); a rank given devices of its
// own (Slurm --gpus-per-task: CUDA_VISIBLE_DEVICES differs per rank) uses its first. Dies on
// every rank, through comm_abort, when a node has fewer GPUs than the ranks sharing them (a
// clear error instead of silent oversubscription).
int comm_pick_device(Comm *c, int ndevices);
// A rank that never joins a collective (stuck in I/O, deadlocked, stopped) would leave the
// others waiting until the job's time limit: with a timeout, every wait of the calls above
// (and comm_wait) gives up after `seconds` and takes the job down with comm_abort, naming the
// collective (as torch.distributed's timeout). 0 waits forever. comm_init sets 0.
void comm_set_timeout(Comm *c, double seconds);
// Prints "genet: rank R: <message>" and takes every rank down (through genet_die).
void comm_abort(Comm *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
