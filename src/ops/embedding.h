// embedding.h: a lookup table as torch.nn.Embedding: row idx[i] of the table is output row i.
// The table gradient is accumulated (+=).
#pragma once
#include <stdint.h>

#include "core/ctx.h"

// y: (n, D)   idx: (n), each in [0, V)   table: (V, D).  An index out of range is a bug of
// the caller (the data pipeline checks tokens against the vocabulary) and dies naming it.
void embedding_forward(Ctx *ctx, float *y, const int32_t *idx, const float *table, int n, int V,
                       int D);
// dtable (V, D) += dy (n, D) scattered by idx; repeated indices add up, in the order of i.
void embedding_backward(Ctx *ctx, float *dtable, const float *dy, const int32_t *idx, int n, int V,
                        int D);
