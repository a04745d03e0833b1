// comm_nccl.h: the NCCL back end (GPU buffers). comm_use_nccl installs it in a Comm (its
// CommDevice), through which comm.c and ddp.c use it. Built with CUDA; without it every call
// dies with a clear message.
#pragma once
#include <stddef.h>

#include "comm/comm.h"

// Makes this rank's NCCL communicator on `device` (cudaSetDevice(device), a non-blocking NCCL
// stream, ncclCommInitRank with an id rank 0 makes and MPI broadcasts) and switches comm.h's float
// all-reduces to device buffers over NCCL. The way a GPU rank gets its communicator; a
// collective: every rank calls it, once, before any GradSync of device buffers is made. Dies
// when built without CUDA. How the trainer uses it (device = cuda):
//   comm_init(&c, &argc, &argv);                  // MPI when launched by mpirun/srun
//   int dev = comm_pick_device(&c, ndevices);     // the local rank's GPU (cuda_device_count);
//                                                 // too few GPUs stops every rank
//   ... the Ctx on `dev` (its stream is the compute stream) ...
//   if (c.size > 1) comm_use_nccl(&c, dev);       // one GPU needs no communicator
//   GradBuffer b = {..., .stream = the Ctx's cudaStream_t};  // device buffers
//   GradSync *s = gradsync_create(&c, &b, bucket_bytes);    // NCCL transport (ddp.h)
//   ... train ...; gradsync_free(s) before comm_finalize(&c) (which destroys the communicator).
// The Ctx and the communicator must be on the same device (gradsync_create checks it). After
// this call comm_bcast, comm_barrier, comm_sum_double and comm_allreduce_sum_double still run
// over MPI on host memory; comm_iallreduce stays CPU-only (GradSync's CPU path).
void comm_use_nccl(Comm *c, int device);
// In-place sum over c's ranks of n doubles on the device (ncclAllReduce, ncclDouble, ncclSum;
// synchronized BatchNorm's statistics) on NCCL's one stream, ordered by events after all that
// is queued on compute_stream (a cudaStream_t) and before anything queued there afterwards.
// The host never waits. Needs comm_use_nccl (kind COMM_NCCL); dies when built without CUDA.
void comm_nccl_sum_double(Comm *c, double *dev_buf, size_t n, void *compute_stream);
