// stage.h: a model's input batches on their way to the context's device, double-buffered so
// the next batch is prepared and copied while the current step computes (the pinned memory
// and copy stream of a PyTorch DataLoader with pin_memory and non_blocking copies).
//
//   stage_init(&st, ctx, bytes);              once: two slots of `bytes`
//   float *h = stage_host(&st, slot);         fill the slot's host memory
//   stage_send(&st, slot, bytes);             start its copy to the device
//   float *d = stage_use(&st, slot);          ops queued from now on may read d
//
// On CUDA the host slots are pinned, copies run on their own stream, and events order them:
// a copy never overwrites a slot that queued kernels still read, kernels never read a slot
// before its copy, and stage_host waits until the slot's last copy has read its host memory.
// On the CPU (or ctx NULL) a slot is one host buffer: send does nothing and use returns it.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

enum { STAGE_SLOTS = 2 };

typedef struct CudaStage CudaStage;  // kernels/cuda_stage.h

typedef struct {
  const Ctx *ctx;
  size_t bytes;
  void *host[STAGE_SLOTS];   // CPU only (CUDA's live in cuda)
  CudaStage *cuda;           // NULL on the CPU
  int64_t tag[STAGE_SLOTS];  // the caller's label of each slot's contents (-1: none)
} Stage;

void stage_init(Stage *st, const Ctx *ctx, size_t bytes);  // slots zeroed, tags -1
void stage_free(Stage *st);
void *stage_host(Stage *st, int slot);
void stage_send(Stage *st, int slot, size_t bytes);
void *stage_use(Stage *st, int slot);
