// ddp.h: data-parallel gradient averaging (PyTorch DDP's reducer, Horovod's fusion buffer) in
// buckets that are all-reduced while backward is still running.
//
// Buckets are contiguous ranges of the flat gradient buffer b->grad (padding between tensors
// included: it is zero on every rank and stays zero). They are formed over the parameter
// tensors in REVERSE registration order, because backward produces the last layers' gradients
// first: bucket 0 holds the last tensors. A bucket takes whole tensors while its size stays
// <= bucket_bytes (0 means the default, 25 MiB as PyTorch DDP's bucket_cap_mb); a tensor that
// alone is larger than bucket_bytes is cut into pieces of exactly bucket_bytes (the last piece
// shorter), each its own bucket, so no message is ever larger than the setting.
//
// One step:
//   zero the gradients; gradsync_begin(s);
//   backward, calling gradsync_ready_offset(s, offset, n) as each tensor's
//   gradient is final;
//   gradsync_finish(s);   // b->grad is now the mean over ranks
//   optimizer step.
// A bucket starts once all its floats are marked ready AND every bucket before it has started:
// every rank must start its collectives in the same order, and the ranks may see their
// gradients finish in different orders. One planner and one schedule (ddp.c) drive two
// transports (GradTransport, below), chosen by the buffer:
//   CPU buffers (b->stream NULL): a non-blocking MPI_Iallreduce per bucket. Open MPI moves a
//     non-blocking collective forward only inside MPI calls, so every gradsync_ready_offset
//     (and gradsync_progress) also polls the outstanding buckets; finish waits on the host.
//   Device buffers (b->stream, the compute stream backward's kernels run on): a bucket that
//     becomes complete records a CUDA event on the compute stream; the communicator's NCCL
//     stream waits for that event and runs ncclAllReduce(ncclAvg) on the bucket (comm_nccl.c).
//     gradsync_finish makes the compute stream wait for every bucket's all-reduce (events), so
//     the optimizer queued next on the compute stream sees the mean; the host never waits.
//     "Ready" means: the kernels writing that range have been queued on the compute stream.
//
// Rules: a range marked ready must not be written again before gradsync_finish (its bucket may
// already be on the wire; on a GPU, by any kernel queued before finish, which must not read it
// either: the all-reduce works in place). Marking a range twice
// in a step is harmless (a float counts once). Ranges never marked are fine too:
// gradsync_finish starts every bucket not yet started (so a step without any ready call is a
// plain all-reduce in buckets). Offsets are in floats into b->grad; ranges past b->total are
// clipped.
// Call from the thread that started MPI (MPI_THREAD_FUNNELED), outside OpenMP parallel regions;
// for device buffers, with the device of comm_use_nccl current.
// When there is nothing to average, every call is a no-op: one rank on the CPU, or one GPU
// without an NCCL communicator (the mean over one rank is the gradient itself). Device buffers
// over several ranks need comm_use_nccl first (gradsync_create stops with a message otherwise);
// with it, device buffers go through NCCL at any size, one rank included (the GPU check runs
// the NCCL path at world size 1 that way).
#pragma once
#include <stddef.h>

#include "comm/comm.h"

typedef struct GradSync GradSync;

#define GRADSYNC_DEFAULT_BUCKET_BYTES ((size_t)25 << 20)

// The buffers GradSync works on, described without src/'s types: ntensors tensors in one flat
// buffer, tensor i holding numel[i] floats from offset[i] (ascending), padding after it up to the
// next offset (the last to total).
typedef struct {
  float *data, *grad;    // (total) parameters (gradsync_broadcast_params) and their gradients
  size_t total;
  int ntensors;
  const size_t *offset;  // (ntensors)
  const size_t *numel;   // (ntensors)
  // NULL: data and grad are CPU memory (MPI). Else they are device memory and this is the
  // cudaStream_t that backward's kernels (and the optimizer after gradsync_finish) run on.
  void *stream;
} GradBuffer;

// How buckets move: ddp.c plans the buckets and decides when each starts; a transport only
// moves floats. MPI (CPU buffers, ddp.c) and NCCL (device buffers, comm_nccl.c) are the two
// real ones; the tests drive the schedule with a fake one that records the calls. Per step the
// schedule calls start(k) exactly once for k = 0, 1, ..., nb - 1 in that order (the same on
// every rank), test(k) only on a started bucket not yet reported complete, and, in finish,
// wait(k) once for every started bucket that test has not reported complete, in index order.
typedef struct GradTransport {
  void *self;
  // Starts averaging floats buf[0, n) (bucket k) over the ranks.
  void (*start)(void *self, int k, float *buf, size_t n);
  // 1 when bucket k is averaged; NULL: nothing to poll (NCCL progresses on the device).
  int (*test)(void *self, int k);
  // After it returns, bucket k's mean is what the caller sees next: in memory (CPU), or
  // ordered before the work queued next on the compute stream (GPU).
  void (*wait)(void *self, int k);
  // Rank 0's n floats to every rank (gradsync_broadcast_params); NULL: nothing to do.
  void (*bcast)(void *self, float *data, size_t n);
  void (*free)(void *self);  // NULL: nothing to free
} GradTransport;

// Reads b's tensor layout once (the arrays may be freed after); keeps c, b's data and grad, and
// b's stream. Device buffers over NCCL get their events here (the NCCL stream is c's).
GradSync *gradsync_create(Comm *c, const GradBuffer *b, size_t bucket_bytes);
// GradSync over the caller's transport (a test's fake one): always active, whatever the world
// size; only b's layout and grad pointer are used (grad is never dereferenced). t is copied;
// gradsync_free calls t->free.
GradSync *gradsync_create_transport(const GradBuffer *b, size_t bucket_bytes, const GradTransport *t);
void gradsync_free(GradSync *s);
void gradsync_begin(GradSync *s);                                  // before backward of a step
void gradsync_ready_offset(GradSync *s, size_t offset, size_t n);  // floats [offset, offset+n) are final
// Polls the buckets in flight (for a long stretch of backward without ready calls).
void gradsync_progress(GradSync *s);
// Starts what has not been started, waits for all, leaves b->grad = mean over ranks (device
// buffers: as the compute stream sees it, without a host wait).
void gradsync_finish(GradSync *s);
// Rank 0's parameters (b->data) to every rank (start of training, after init or resume):
// MPI_Bcast for CPU buffers, ncclBroadcast ordered on the compute stream for device buffers.
void gradsync_broadcast_params(GradSync *s);

// The last step: seconds spent in gradsync_finish (starting the rest and waiting), seconds
// from the first bucket's start to the end of finish, bytes all-reduced, buckets all-reduced
// (all 0 when there is nothing to average); buckets_early: how many of them started before finish
// (overlap). Device buffers: nothing waits on the host, so wait_s and comm_span_s measure the
// host's time to queue the work, not the all-reduce itself; the counts mean the same.
typedef struct {
  double wait_s, comm_span_s;
  size_t bytes;
  int buckets;
  int buckets_early;
} GradSyncStats;
GradSyncStats gradsync_stats(const GradSync *s);

// The bucket plan (for tests and logs): bucket i is floats [lo, hi) of b->grad; bucket 0 is at
// the end of the buffer.
int gradsync_num_buckets(const GradSync *s);
void gradsync_bucket_range(const GradSync *s, int i, size_t *lo, size_t *hi);
