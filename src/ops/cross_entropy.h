// cross_entropy.h: softmax cross-entropy over a vocabulary, as torch.nn.CrossEntropyLoss with
// the default mean reduction (no ignore_index, no label smoothing). Log-softmax is taken as
// x - (max + log sum exp(x - max)), so any finite logits work.
#pragma once
#include <stdint.h>

#include "core/ctx.h"

// logits: (N, V) row-major   targets: (N), each in [0, V) (anything else is a caller bug and
// dies naming the row, the index and V)   lse: (N) written, each row's log-sum-exp, saved for
// backward. Returns mean_n (lse_n - logits[n, targets[n]]), summed in double.
double cross_entropy_forward(Ctx *ctx, float *lse, const float *logits, const int32_t *targets,
                             int N, int V);

// dlogits: (N, V) written = dloss * (softmax(logits) - onehot(targets)) / N; dlogits may equal
// logits (in place). dloss is the upstream gradient of the mean loss (1 for a plain loss).
void cross_entropy_backward(Ctx *ctx, float *dlogits, const float *logits, const float *lse,
                            const int32_t *targets, float dloss, int N, int V);
