// lbfgs.h: L-BFGS as torch.optim.LBFGS (PyTorch 1.13) with line_search_fn=None: each
// lbfgs_step() is one optimizer.step(closure): up to max_iter iterations of a fixed step t along
// the two-loop-recursion direction, t = min(1, 1/|g|_1) * lr on the very first iteration and lr
// after, the same stopping tests in the same order, and the same state carried between calls.
// Vectors are float32 like PyTorch's; dot products and sums accumulate in double (optim_dot),
// scalars (t, H_diag, ro, al) are doubles.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "data/h5io.h"

// Computes the loss at the current parameters and OVERWRITES the gradient buffer given to
// lbfgs_step with dloss/dparam (zero it first if the model accumulates).
typedef float (*LbfgsClosure)(void *arg);

typedef struct {
  double lr;               // 1
  int max_iter;            // 20 iterations per lbfgs_step
  int max_eval;            // max_iter * 5 / 4 closure evaluations per lbfgs_step
  double tolerance_grad;   // 1e-7: stop when max |g| <= this
  double tolerance_change; // 1e-9: stop on tiny directional derivative, step or loss change
  int history_size;        // 100 (y, s) pairs
} LbfgsConfig;

// Fills PyTorch's defaults; max_eval follows max_iter (set it after changing max_iter, or call
// lbfgs_config_set_max_iter).
void lbfgs_config_default(LbfgsConfig *c);
void lbfgs_config_set_max_iter(LbfgsConfig *c, int max_iter);  // also max_eval = max_iter*5/4

// PyTorch's state dict of the optimizer (state[params[0]]), plain fields. The history is a ring
// of hist_len entries starting at slot hist_head (oldest first); entry slot k holds
// y = old_dirs (n floats) at hist[k], s = old_stps at hist[k] + n, and ro[k] = 1 / (y . s).
// Slots are allocated on first use, so memory grows with the history (2 n floats per pair, as
// PyTorch's old_dirs + old_stps: a 3x512x512 image with history 100 holds up to 630 MB).
typedef struct {
  LbfgsConfig cfg;
  size_t n;
  const Ctx *ctx;          // where d, prev_flat_grad and the history live (NULL: the host)
  int64_t func_evals;      // closure calls over all steps
  int64_t n_iter;          // iterations over all steps
  float *d;                // (n) last direction; NULL before the first iteration
  double t;                // last step size
  double H_diag;           // initial inverse-Hessian scale ys / y.y
  float *prev_flat_grad;   // (n) gradient at the start of the last iteration
  double prev_loss;        // loss at the start of the last iteration
  int hist_len, hist_head; // ring of (y, s, ro) pairs
  float **hist;            // (history_size) slot pointers, each (2 n) or NULL until used
  double *ro;              // (history_size)
  double *al;              // (history_size) scratch of the two-loop recursion
} Lbfgs;

// State for n parameters; its vectors on the host (lbfgs_init) or on ctx's device
// (lbfgs_init_for: where the parameters live, as adam_init_for; then lbfgs_step must be given
// a context of that device).
void lbfgs_init(Lbfgs *o, const LbfgsConfig *cfg, size_t n);
void lbfgs_init_for(Ctx *ctx, Lbfgs *o, const LbfgsConfig *cfg, size_t n);
// One optimizer.step(closure): param (n) is moved in place; grad (n) is the buffer the closure
// fills; both on ctx's device. Returns the loss of the first closure call (PyTorch's orig_loss).
// On CUDA each reduction (dot, sum and max of |x|) is summed on the device and read back.
float lbfgs_step(Ctx *ctx, Lbfgs *o, float *param, float *grad, LbfgsClosure closure, void *arg);
void lbfgs_free(Lbfgs *o);

// The state into GROUP of an open checkpoint: GROUP/n_iter, func_evals, history_size,
// hist_len (int64) and t, H_diag, prev_loss (float64) scalars; d, prev_flat_grad (float32, (n),
// absent before the first iteration); history (float32, (hist_len, 2, n) oldest first, each y
// then s) and ro (float64, (hist_len)). Device vectors go through host copies, so the format is
// the same from either device. Returns 0 or -1.
int lbfgs_save(H5File *f, const Lbfgs *o, const char *group);
// And back into o (initialized by lbfgs_init for this job). Returns 0; -2 with err naming the
// file when its shapes do not fit (another image size or history size); -1 with err when it
// cannot be read. On failure o is partly overwritten.
int lbfgs_load(H5File *f, Lbfgs *o, const char *group, char *err, size_t errlen);
