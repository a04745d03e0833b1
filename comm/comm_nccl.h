// comm_nccl.h: the NCCL back end (GPU buffers). Built with CUDA; without it comm_nccl_new
// dies with a clear message.
#pragma once
#include <stddef.h>

#include "comm.h"

CommNccl *comm_nccl_new(Comm *c, int device);
void comm_nccl_free(CommNccl *n);
// In-place all-reduce of a device buffer on NCCL's stream, waited for before returning.
void comm_nccl_allreduce(CommNccl *n, float *buf, size_t count, int mean);
