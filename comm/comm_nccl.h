// comm_nccl.h: the NCCL back end (GPU buffers). Built with CUDA; without it comm_nccl_new
// dies with a clear message.
#pragma once
#include <stddef.h>

#include "comm.h"
#include "ddp.h"

CommNccl *comm_nccl_new(Comm *c, int device);
void comm_nccl_free(CommNccl *n);
// In-place all-reduce of a device buffer on NCCL's stream, waited for before returning.
void comm_nccl_allreduce(CommNccl *n, float *buf, size_t count, int mean);
// GradSync's transport for device buffers (ddp.h) on c's NCCL communicator: bucket k starts by
// recording an event on `stream` (the compute stream, a cudaStream_t), which NCCL's stream
// waits for before ncclAllReduce(ncclAvg) of the bucket; wait(k) makes `stream` wait for that
// all-reduce (an event recorded after it). nbuckets: the plan's bucket count.
void comm_nccl_grad_transport(Comm *c, void *stream, int nbuckets, GradTransport *t);
// In-place sum over c's ranks of n doubles on the device (ncclAllReduce, ncclDouble, ncclSum;
// synchronized BatchNorm's statistics) on NCCL's one stream, ordered by events after all that
// is queued on compute_stream (a cudaStream_t) and before anything queued there afterwards.
// The host never waits. Needs comm_use_nccl (kind COMM_NCCL); dies when built without CUDA.
void comm_nccl_sum_double(Comm *c, double *dev_buf, size_t n, void *compute_stream);
