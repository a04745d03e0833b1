// stage.c: double-buffered batch uploads (stage.h); the CUDA half is kernels/stage.cu.
#include "core/stage.h"

#include <stdlib.h>

#include "core/util.h"
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_stage.h"
#endif

void stage_init(Stage *st, const Ctx *ctx, size_t bytes) {
  *st = (Stage){.ctx = ctx, .bytes = bytes};
  for (int k = 0; k < STAGE_SLOTS; k++) st->tag[k] = -1;
#ifdef GENET_HAVE_CUDA
  if (ctx && ctx->cuda) {
    st->cuda = cuda_stage_new(ctx->cuda, STAGE_SLOTS, bytes);
    return;
  }
#endif
  for (int k = 0; k < STAGE_SLOTS; k++) st->host[k] = xcalloc(bytes ? bytes : 1, 1);
}

void stage_free(Stage *st) {
#ifdef GENET_HAVE_CUDA
  cuda_stage_free(st->cuda);
#endif
  for (int k = 0; k < STAGE_SLOTS; k++) free(st->host[k]);
  *st = (Stage){0};
}

void *stage_host(Stage *st, int slot) {
  GENET_ASSERT(slot >= 0 && slot < STAGE_SLOTS);
#ifdef GENET_HAVE_CUDA
  if (st->cuda) return cuda_stage_host(st->cuda, slot);
#endif
  return st->host[slot];
}

void stage_send(Stage *st, int slot, size_t bytes) {
  GENET_ASSERT(slot >= 0 && slot < STAGE_SLOTS && bytes <= st->bytes);
#ifdef GENET_HAVE_CUDA
  if (st->cuda) cuda_stage_send(st->cuda, slot, bytes);
#endif
}

void *stage_use(Stage *st, int slot) {
  GENET_ASSERT(slot >= 0 && slot < STAGE_SLOTS);
#ifdef GENET_HAVE_CUDA
  if (st->cuda) return cuda_stage_use(st->cuda, slot);
#endif
  return st->host[slot];
}
