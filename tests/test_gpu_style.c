// test_gpu_style.c (label gpu): what task = style runs on CUDA against the CPU. add_inplace
// (y += x / d) on random vectors; VGG19 at width 1/16 (tests/fixtures/vgg_tiny_weights.h5, as
// tests/test_vgg.c) built on each context: forward to pool5, the outputs of several layers, and
// the image gradient of taps at five layers at once and at one; L-BFGS (lbfgs_init_for on the
// GPU) on a diagonal quadratic, three lbfgs_step calls of five iterations, its state saved from
// the GPU and loaded back into a CPU and a GPU state.
// Bounds (testlib's rule): add_inplace is element-wise, the same IEEE operation on both devices
// (kernels built with -fmad=false), so K = 1 and 0 elements differing from the CPU's bits are
// expected (printed). VGG: cuDNN and oneDNN sum each conv's Cin 9 products in other orders, so
// K is test_vgg.c's (the convs below a layer forward; every conv both ways backward), rtol 1e-5.
// L-BFGS: the closure is the same host code for both devices; only the reductions (dot, sum
// and max of |x| in double over n floats) are summed in another order, each within n 2^-53 of
// the sum: the scalars t, ro, al, H_diag agree to about 1e-12, the iterates x (of order 1) to
// float rounding; K = n (the reductions' length), rtol 1e-5; the losses after the first on the
// first's scale (they shrink towards 0, where rounding of x dominates them). The direction d
// shrinks likewise and is not compared across devices; the checkpoint round trip checks the
// GPU's d bit for bit. The iteration counts must agree exactly.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/h5io.h"
#include "gpulib.h"
#include "models/vgg_model.h"
#include "ops/add.h"
#include "optim/lbfgs.h"
#include "testlib.h"

#define GPU_RTOL 1e-5

static Ctx gpu, cpu;

// ---- add_inplace

static void test_add(size_t n, float d, uint64_t seed) {
  float *y = uniform_floats(n, -3, 3, seed), *x = uniform_floats(n, -3, 3, seed + 1);
  float *dy = gpu_upload(&gpu, y, n), *dx = gpu_upload(&gpu, x, n);
  add_inplace(&cpu, y, x, n, d);
  add_inplace(&gpu, dy, dx, n, d);
  char what[96];
  snprintf(what, sizeof what, "add_inplace n %zu d %g", n, d);
  gpu_check_close(&gpu, what, dy, y, n, 1, GPU_RTOL);
  gpu_free(dy);
  gpu_free(dx);
  free(y);
  free(x);
}

// ---- VGG19 at width 1/16

static void test_vgg(void) {
  static const char *weights = GENET_FIXTURES "/vgg_tiny_weights.h5";
  static const char *taps[] = {"relu1_1", "relu2_1", "relu3_1", "conv4_2", "pool5"};
  enum { NT = sizeof taps / sizeof taps[0] };
  char err[512];
  VggNet vc, vg;
  if (vgg19_load(&vc, NULL, weights, err, sizeof err)) genet_die("%s", err);
  if (vgg19_load(&vg, &gpu, weights, err, sizeof err)) genet_die("%s", err);
  test_check(vg.params.ctx == &gpu && vc.params.ctx == NULL, "vgg19_load builds on the context");
  const int H = 37, W = 45;  // odd sizes: the pools' floor mode drops a row and a column
  const size_t nimg = (size_t)3 * H * W;
  float *img = uniform_floats(nimg, -100, 100, 71), *dimg_img = gpu_upload(&gpu, img, nimg);
  VggActs ac, ag;
  vgg_acts_alloc(&ac, &vc, H, W, VGG19_LAYERS - 1);
  vgg_acts_alloc(&ag, &vg, H, W, VGG19_LAYERS - 1);
  vgg_forward(&cpu, &vc, &ac, img);
  vgg_forward(&gpu, &vg, &ag, dimg_img);
  double Kf[VGG19_LAYERS], K = 0, Kb = 0;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    if (vc.layer[i].kind == VGG_CONV) {
      K += 9.0 * vc.layer[i].Cin + 1;
      Kb += 9.0 * (vc.layer[i].Cin + vc.layer[i].Cout) + 1;
    }
    Kf[i] = K;
  }
  float *dtc[VGG19_LAYERS] = {0}, *dtg[VGG19_LAYERS] = {0};
  for (int t = 0; t < NT; t++) {
    int i = vgg_layer_index(taps[t]), C, h, w;
    vgg_out_shape(&ac, i, &C, &h, &w);
    size_t n = (size_t)C * h * w;
    char what[96];
    snprintf(what, sizeof what, "vgg forward %s (features[%d])", taps[t], i);
    gpu_check_close(&gpu, what, vgg_out(&ag, i), vgg_out(&ac, i), n, Kf[i], GPU_RTOL);
    dtc[i] = uniform_floats(n, -1, 1, 100 + (uint64_t)t);
    dtg[i] = gpu_upload(&gpu, dtc[i], n);
  }
  float *dc = xmalloc_floats(nimg), *dg = gpu_nan(&gpu, nimg);
  vgg_backward(&cpu, &vc, &ac, dtc, dc);
  vgg_backward(&gpu, &vg, &ag, dtg, dg);
  gpu_check_close(&gpu, "vgg backward, 5 taps (relu1_1 .. pool5): image gradient", dg, dc, nimg, Kb, GPU_RTOL);
  int c42 = vgg_layer_index("conv4_2");
  float *oc[VGG19_LAYERS] = {0}, *og[VGG19_LAYERS] = {0};
  oc[c42] = dtc[c42];
  og[c42] = dtg[c42];
  vgg_backward(&cpu, &vc, &ac, oc, dc);
  vgg_backward(&gpu, &vg, &ag, og, dg);
  gpu_check_close(&gpu, "vgg backward, one tap (conv4_2): image gradient", dg, dc, nimg, Kb, GPU_RTOL);
  float *none[VGG19_LAYERS] = {0};
  vgg_backward(&gpu, &vg, &ag, none, dg);
  float *z = xmalloc_floats(nimg);
  gpu_download(&gpu, z, dg, nimg);
  int zero = 1;
  for (size_t k = 0; k < nimg; k++) zero &= z[k] == 0.f;
  test_check(zero, "vgg backward, no taps: zero image gradient on the GPU");
  for (int i = 0; i < VGG19_LAYERS; i++) {
    free(dtc[i]);
    if (dtg[i]) gpu_free(dtg[i]);
  }
  free(z);
  free(dc);
  gpu_free(dg);
  gpu_free(dimg_img);
  free(img);
  vgg_acts_free(&ac);
  vgg_acts_free(&ag);
  vgg_net_free(&vc);
  vgg_net_free(&vg);
}

// ---- L-BFGS on f(x) = 0.5 sum a_i (x_i - b_i)^2, the closure on the host for both devices

typedef struct {
  Ctx *ctx;          // where x and g live
  const float *a, *b;
  float *x, *g;      // (n) on ctx's device
  float *hx, *hg;    // (n) host scratch
  size_t n;
} Quad;

static float quad_closure(void *arg) {
  Quad *q = arg;
  ctx_download(q->ctx, q->hx, q->x, sizeof(float) * q->n);
  double loss = 0;
  for (size_t i = 0; i < q->n; i++) {
    float r = q->hx[i] - q->b[i];
    q->hg[i] = q->a[i] * r;
    loss += 0.5 * (double)q->a[i] * r * r;
  }
  ctx_upload(q->ctx, q->g, q->hg, sizeof(float) * q->n);
  return (float)loss;
}

static void test_lbfgs(size_t n) {
  float *a = uniform_floats(n, 0.05f, 2.0f, 300), *b = uniform_floats(n, -1, 1, 301), *x0 = uniform_floats(n, -2, 2, 302);
  LbfgsConfig cfg;
  lbfgs_config_default(&cfg);
  cfg.history_size = 4;  // the ring wraps within the 15 iterations
  lbfgs_config_set_max_iter(&cfg, 5);
  Quad qc = {&cpu, a, b, xmalloc_floats(n), xmalloc_floats(n), xmalloc_floats(n),
             xmalloc_floats(n), n};
  Quad qg = {&gpu, a, b, gpu_upload(&gpu, x0, n), gpu_nan(&gpu, n), xmalloc_floats(n),
             xmalloc_floats(n), n};
  memcpy(qc.x, x0, sizeof(float) * n);
  Lbfgs oc, og;
  lbfgs_init(&oc, &cfg, n);
  lbfgs_init_for(&gpu, &og, &cfg, n);
  double loss0 = 0;
  for (int k = 0; k < 3; k++) {
    float lc = lbfgs_step(&cpu, &oc, qc.x, qc.g, quad_closure, &qc);
    float lg = lbfgs_step(&gpu, &og, qg.x, qg.g, quad_closure, &qg);
    if (k == 0) {  // the closure at x0: the same host code on the same floats
      test_check(lg == lc, "lbfgs n %zu step 1: loss at x0 %g on both", n, lc);
      loss0 = lc;
    } else {  // judged on the scale of the first loss: the later ones shrink towards 0
      double e = fabs((double)lg - lc) / (loss0 * (1 + sqrt((double)n)));
      test_check(e <= GPU_RTOL, "lbfgs n %zu step %d: loss %g, CPU %g (err %.2e vs loss0, bound %.0e)",
                 n, k + 1, lg, lc, e, GPU_RTOL);
    }
  }
  test_check(oc.n_iter == og.n_iter && oc.func_evals == og.func_evals &&
                 oc.hist_len == og.hist_len && oc.hist_head == og.hist_head,
             "lbfgs n %zu: same iterations (%lld), evaluations (%lld), history (%d at %d)", n,
             (long long)og.n_iter, (long long)og.func_evals, og.hist_len, og.hist_head);
  char what[96];
  snprintf(what, sizeof what, "lbfgs n %zu: x after 3 steps", n);
  gpu_check_close(&gpu, what, qg.x, qc.x, n, (double)n, GPU_RTOL);

  // The GPU state through a checkpoint: into a CPU state (same d bits) and a GPU one, which
  // then steps as the original does.
  char path[] = "/tmp/genet_gpu_style_XXXXXX", err[512];
  int fd = mkstemp(path);
  if (fd < 0) genet_die("mkstemp failed");
  close(fd);
  H5File f;
  if (h5_create(&f, path, err, sizeof err)) genet_die("%s", err);
  test_check(lbfgs_save(&f, &og, "lbfgs") == 0, "lbfgs_save from the GPU");
  if (h5_close(&f, err, sizeof err)) genet_die("%s", err);
  Lbfgs lc, lg;
  lbfgs_init(&lc, &cfg, n);
  lbfgs_init_for(&gpu, &lg, &cfg, n);
  if (h5_open_read(&f, path, err, sizeof err)) genet_die("%s", err);
  int rc = lbfgs_load(&f, &lc, "lbfgs", err, sizeof err);
  rc |= lbfgs_load(&f, &lg, "lbfgs", err, sizeof err);
  h5_close(&f, NULL, 0);
  unlink(path);
  test_check(rc == 0, "lbfgs_load into a CPU and a GPU state: %s", rc ? err : "ok");
  gpu_check_close(&gpu, "lbfgs loaded on the CPU: d as the GPU had it", og.d, lc.d, n, 1, 0);
  float *x1 = xmalloc_floats(n);
  gpu_download(&gpu, x1, qg.x, n);
  Quad q2 = {&gpu, a, b, gpu_upload(&gpu, x1, n), gpu_nan(&gpu, n), xmalloc_floats(n),
             xmalloc_floats(n), n};
  lbfgs_step(&gpu, &og, qg.x, qg.g, quad_closure, &qg);
  lbfgs_step(&gpu, &lg, q2.x, q2.g, quad_closure, &q2);
  gpu_download(&gpu, x1, qg.x, n);
  gpu_check_close(&gpu, "lbfgs resumed on the GPU: x after one more step, as without the checkpoint", q2.x, x1,
          n, 1, 0);
  free(x1);
  Quad *qs[] = {&qc, &qg, &q2};
  for (int k = 0; k < 3; k++) {
    if (qs[k]->ctx == &cpu) {
      free(qs[k]->x);
      free(qs[k]->g);
    } else {
      gpu_free(qs[k]->x);
      gpu_free(qs[k]->g);
    }
    free(qs[k]->hx);
    free(qs[k]->hg);
  }
  lbfgs_free(&oc);
  lbfgs_free(&og);
  lbfgs_free(&lc);
  lbfgs_free(&lg);
  free(a);
  free(b);
  free(x0);
}

int main(void) {
  gpu_test_begin("test_gpu_style", &gpu, &cpu);
  test_add(1000003, 1.0f, 1);
  test_add(4099, 3.0f, 2);
  test_vgg();
  test_lbfgs(5003);
  test_lbfgs(300007);  // more than RED_BLOCKS blocks' worth: every block strides
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_style");
}
