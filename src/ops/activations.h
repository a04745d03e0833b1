// activations.h: ReLU, LeakyReLU, Tanh, Sigmoid. Forward may run in place (y == x).
// Backward takes the forward output y and writes (does not accumulate) dx; dx may equal dy.
#pragma once
#include <stddef.h>

#include "core/ctx.h"

typedef enum { ACT_RELU, ACT_LEAKY_RELU, ACT_TANH, ACT_SIGMOID } ActKind;

void act_forward(Ctx *ctx, ActKind kind, float slope, float *y, const float *x, size_t n);
void act_backward(Ctx *ctx, ActKind kind, float slope, float *dx, const float *dy, const float *y,
                  size_t n);
