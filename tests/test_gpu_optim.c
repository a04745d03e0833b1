// test_gpu_optim.c (label gpu): sgd_step, adam_step and clip_grad_norm on CUDA against the CPU
// on random parameters and gradients (a new gradient each step), at sizes that are not
// multiples of a block. The parameters are a Params on the GPU and the device state is made
// for them by sgd_init_for / adam_init_for. SGD plain, with momentum, dampening and weight
// decay, and Nesterov; the momentum buffer is set to NaN on the device, so a first step that
// reads it fails. Adam from a fresh state (zeroed on the device) and from a non-zero one (a
// resumed run), with and without weight decay. clip_grad_norm above and below the threshold
// and with a NaN in the gradient.
// Bounds (testlib's rule): the updates are element-wise (optim_elem.h, the same functions on
// both devices, kernels built with -fmad=false), so fp32 1e-5 with K = the number of steps, as
// tests/test_optim.c counts them; each comparison also prints how many elements differ from
// the CPU's bits at all (0 expected: the same IEEE operations in the same order). The total norm is a sum of n exact
// squares in double in another order: the orders differ by at most n 2^-53 of the sum, half
// that after the square root, within 1e-12 (1 + sqrt(n)) for any n below 8e7.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gpulib.h"
#include "optim/optim.h"
#include "testlib.h"

#define NORM_RTOL 1e-12

static Ctx gpu, cpu;

// Parameters on the GPU as a model has them: tensors of n1 and n2 floats, each padded to 16
// (Params); the flat buffers hold P->total floats. Returns P->total.
static size_t gpu_params(Params *P, int n1, int n2) {
  params_init(P);
  params_add(P, "weight", 1, (int[]){n1});
  params_add(P, "bias", 1, (int[]){n2});
  params_alloc_on(P, &gpu);
  return P->total;
}

static void test_sgd(const char *name, const SgdConfig *cfg, int n1, int n2, int steps,
                     uint64_t seed) {
  Params P;
  const size_t n = gpu_params(&P, n1, n2);
  float *p = uniform_floats(n, -1, 1, seed), *dP = P.data, *dG = P.grad;
  ctx_upload(&gpu, dP, p, n * sizeof(float));
  SgdState s, ds;
  sgd_init(&s, n, cfg);
  sgd_init_for(&ds, &P, cfg);
  if (cfg->momentum != 0.0) {  // NaN: the first step must not read it
    float *nan = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) nan[i] = NAN;
    ctx_upload(&gpu, ds.momentum_buf, nan, n * sizeof(float));
    free(nan);
  }
  for (int k = 0; k < steps; k++) {
    float *g = uniform_floats(n, -1, 1, seed + 1 + (uint64_t)k);
    ctx_upload(&gpu, dG, g, n * sizeof(float));
    sgd_step(&cpu, &s, p, g, cfg);
    sgd_step(&gpu, &ds, dP, dG, cfg);
    free(g);
  }
  char what[128];
  snprintf(what, sizeof what, "sgd %s n %zu: params after %d steps", name, n, steps);
  gpu_check_close(&gpu, what, dP, p, n, steps, 1e-5);
  if (cfg->momentum != 0.0) {
    snprintf(what, sizeof what, "sgd %s n %zu: momentum buffer", name, n);
    gpu_check_close(&gpu, what, ds.momentum_buf, s.momentum_buf, n, steps, 1e-5);
  }
  test_check(ds.step == s.step && s.step == steps, "sgd %s: step count %lld on both", name,
             (long long)ds.step);
  sgd_free(&s);
  sgd_free(&ds);
  params_free(&P);
  free(p);
}

// resumed: the state starts at step 3 with non-zero moments (as loaded from a checkpoint).
static void test_adam(const char *name, const AdamConfig *cfg, int resumed, int n1, int n2,
                      int steps, uint64_t seed) {
  Params P;
  const size_t n = gpu_params(&P, n1, n2);
  float *p = uniform_floats(n, -1, 1, seed), *dP = P.data, *dG = P.grad;
  ctx_upload(&gpu, dP, p, n * sizeof(float));
  AdamState s;
  adam_init(&s, n);
  if (resumed) {
    s.step = 3;
    fill_uniform(s.exp_avg, n, -0.1f, 0.1f, seed + 100);
    fill_uniform(s.exp_avg_sq, n, 0.0f, 0.01f, seed + 101);
  }
  AdamState ds;
  adam_init_for(&ds, &P);
  if (resumed) {  // as adam_load would
    ds.step = s.step;
    ctx_upload(&gpu, ds.exp_avg, s.exp_avg, n * sizeof(float));
    ctx_upload(&gpu, ds.exp_avg_sq, s.exp_avg_sq, n * sizeof(float));
  }
  for (int k = 0; k < steps; k++) {
    float *g = uniform_floats(n, -1, 1, seed + 1 + (uint64_t)k);
    ctx_upload(&gpu, dG, g, n * sizeof(float));
    adam_step(&cpu, &s, p, g, cfg);
    adam_step(&gpu, &ds, dP, dG, cfg);
    free(g);
  }
  char what[128];
  snprintf(what, sizeof what, "adam %s n %zu: params after %d steps", name, n, steps);
  gpu_check_close(&gpu, what, dP, p, n, steps, 1e-5);
  snprintf(what, sizeof what, "adam %s n %zu: exp_avg", name, n);
  gpu_check_close(&gpu, what, ds.exp_avg, s.exp_avg, n, steps, 1e-5);
  snprintf(what, sizeof what, "adam %s n %zu: exp_avg_sq", name, n);
  gpu_check_close(&gpu, what, ds.exp_avg_sq, s.exp_avg_sq, n, steps, 1e-5);
  test_check(ds.step == s.step && s.step == steps + (resumed ? 3 : 0),
             "adam %s: step count %lld on both", name, (long long)ds.step);
  adam_free(&s);
  adam_free(&ds);
  params_free(&P);
  free(p);
}

// max_norm as a multiple of the gradient's norm: above 1 leaves it as it is, below scales it.
static void test_clip(size_t n, double rel, uint64_t seed) {
  float *g = uniform_floats(n, -1, 1, seed);
  double norm = sqrt(optim_dot(g, g, n)), max_norm = rel * norm;
  float *dG = gpu_upload(&gpu, g, n);
  double want = clip_grad_norm(&cpu, g, n, max_norm);
  double got = clip_grad_norm(&gpu, dG, n, max_norm);
  char what[128];
  snprintf(what, sizeof what, "clip n %zu max_norm %.2f x norm: total", n, rel);
  check_scalar(what, got, want, (double)n, NORM_RTOL);
  snprintf(what, sizeof what, "clip n %zu max_norm %.2f x norm: gradient%s", n, rel,
           rel > 1 ? " (unchanged)" : " (scaled)");
  gpu_check_close(&gpu, what, dG, g, n, 1, rel > 1 ? 0.0 : 1e-5);
  gpu_free(dG);
  free(g);
}

// A NaN in the gradient: the total is NaN and nothing is scaled, on both devices.
static void test_clip_nan(size_t n) {
  float *g = uniform_floats(n, -1, 1, 77), *before = xmalloc(n * sizeof(float));
  float *got = xmalloc(n * sizeof(float));
  g[n / 2] = NAN;
  memcpy(before, g, n * sizeof(float));
  float *dG = gpu_upload(&gpu, g, n);
  double want = clip_grad_norm(&cpu, g, n, 0.25);
  double tot = clip_grad_norm(&gpu, dG, n, 0.25);
  gpu_download(&gpu, got, dG, n);
  test_check(isnan(want) && isnan(tot) && memcmp(got, before, n * sizeof(float)) == 0 &&
                 memcmp(g, before, n * sizeof(float)) == 0,
             "clip n %zu with a NaN: total NaN on both (cpu %g, gpu %g), gradient left as it is", n,
             want, tot);
  gpu_free(dG);
  free(g), free(before), free(got);
}

int main(void) {
  gpu_test_begin("gpu_optim", &gpu, &cpu);
  const size_t n = 100003;  // not a multiple of a block
  SgdConfig plain = {.lr = 0.5};
  SgdConfig mom = {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2};
  SgdConfig nest = {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = 1};
  // Parameters of 100003 + 5 floats (100032 with padding: 390 blocks and 192 threads), and
  // of 1 + 3 (32 with padding: less than a block).
  test_sgd("plain", &plain, 100003, 5, 3, 1);
  test_sgd("momentum 0.9 dampening 0.1 wd 1e-2", &mom, 100003, 5, 4, 10);
  test_sgd("nesterov 0.9 wd 1e-2", &nest, 100003, 5, 4, 20);
  test_sgd("nesterov, tiny", &nest, 1, 3, 3, 30);
  AdamConfig ac;
  adam_config_default(&ac);
  ac.lr = 1e-2;
  test_adam("fresh", &ac, 0, 100003, 5, 5, 40);
  test_adam("resumed at step 3", &ac, 1, 100003, 5, 5, 50);
  test_adam("tiny", &ac, 0, 1, 3, 5, 55);
  ac.weight_decay = 0.1;
  ac.beta1 = 0.5;  // DCGAN's
  test_adam("betas (0.5, 0.999) wd 0.1", &ac, 0, 100003, 5, 5, 60);
  test_clip(n, 2.0, 70);
  test_clip(n, 0.25, 71);
  test_clip(1000, 0.5, 72);
  test_clip(1, 0.5, 73);
  test_clip_nan(n);
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_optim");
}
