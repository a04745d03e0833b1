// lstm_cell.h: the element-wise math of one LSTM cell (PyTorch gate order i, f, g, o), shared by
// the CPU loops (src/ops/lstm.c) and the CUDA kernels (kernels/lstm.cu), so the CPU tests check
// both. The activations are src/base/fastmath.h's branch-free ones, so the loop over a step
// vectorizes.
//   i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
//   c = f * c_prev + i * g            h = o * tanh(c)
#pragma once
#include "base/elementwise.h"
#include "base/fastmath.h"

// In: the pre-activations *ai..*ao and c_prev. Out: the activated gates written over the
// pre-activations (backward needs only those), c, tanh(c) and h.
GENET_HD static inline void lstm_cell_fwd(float *ai, float *af, float *ag, float *ao, float c_prev,
                                          float *c, float *tc, float *h) {
  float i = fastmath_sigmoid(*ai), f = fastmath_sigmoid(*af), g = fastmath_tanh(*ag);
  float o = fastmath_sigmoid(*ao);
  float cn = f * c_prev + i * g;
  float t = fastmath_tanh(cn);
  *ai = i; *af = f; *ag = g; *ao = o;
  *c = cn;
  *tc = t;
  *h = o * t;
}

// In: the activated gates, c_prev, tanh(c), dh (dL/dh of this step, all paths) and dc (dL/dc
// arriving from the next step). Out: dL/d(pre-activations) and dL/dc_prev.
GENET_HD static inline void lstm_cell_bwd(float i, float f, float g, float o, float c_prev,
                                          float tc, float dh, float dc, float *dai, float *daf,
                                          float *dag, float *dao, float *dc_prev) {
  float dct = dc + tanh_bwd(tc, dh * o);
  *dai = sigmoid_bwd(i, dct * g);
  *daf = sigmoid_bwd(f, dct * c_prev);
  *dag = tanh_bwd(g, dct * i);
  *dao = sigmoid_bwd(o, dh * tc);
  *dc_prev = dct * f;
}
