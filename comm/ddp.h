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
// A bucket starts (non-blocking MPI_Iallreduce) once all its floats are marked ready AND every
// bucket before it has started: every rank must start its collectives in the same order, and
// the ranks may see their gradients finish in different orders. Open MPI moves a non-blocking
// collective forward only inside MPI calls, so every gradsync_ready_offset (and gradsync_progress)
// also polls the outstanding buckets.
//
// Rules: a range marked ready must not be written again before gradsync_finish (its bucket may
// already be on the wire). Marking a range twice in a step is harmless (a float counts once).
// Ranges never marked are fine too: gradsync_finish starts every bucket not yet started (so a
// step without any ready call is a plain blocking all-reduce in buckets). Offsets are in
// floats into b->grad; ranges past b->total are clipped.
// Call from the thread that started MPI (MPI_THREAD_FUNNELED), outside OpenMP parallel regions.
// With c->size == 1 every call is a no-op (the mean over one rank is the gradient itself).
// The buffers are CPU memory over MPI; GPU buckets (NCCL on a stream with events) arrive with
// the CUDA parameters.
#pragma once
#include <stddef.h>

#include "comm.h"

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
} GradBuffer;

// Reads b's tensor layout once (the arrays may be freed after); keeps c and b's data and grad.
GradSync *gradsync_create(Comm *c, const GradBuffer *b, size_t bucket_bytes);
void gradsync_free(GradSync *s);
void gradsync_begin(GradSync *s);                                  // before backward of a step
void gradsync_ready_offset(GradSync *s, size_t offset, size_t n);  // floats [offset, offset+n) are final
// Polls the buckets in flight (for a long stretch of backward without ready calls).
void gradsync_progress(GradSync *s);
// Starts what has not been started, waits for all, leaves b->grad = mean over ranks.
void gradsync_finish(GradSync *s);
// Rank 0's parameters (p->data) to every rank (start of training, after init or resume).
void gradsync_broadcast_params(GradSync *s);

// The last step: seconds spent in gradsync_finish (starting the rest and waiting), seconds
// from the first bucket's start to the end of finish, bytes all-reduced, buckets all-reduced
// (all 0 with one rank); buckets_early: how many of them started before finish (overlap).
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
