// test_vgg.c: VGG19 features (frozen) against PyTorch at div 16 (tests/fixtures/vgg.h5 with the
// weights in vgg_tiny_weights.h5, written by scripts/fixtures/fx_vgg.py): every tapped output,
// the image gradient from several taps at once and from one tap; finite differences of the
// image gradient on a smaller image (and a planted wrong gradient they must catch); layer
// names both ways; `pooling = avg` (AvgPool2d) against PyTorch (vgg_avg.h5); vgg19_load's one-line errors on bad files.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/h5io.h"
#include "testlib.h"
#include "core/util.h"
#include "models/vgg_model.h"

static Ctx ctx;
static const char *weights = GENET_FIXTURES "/vgg_tiny_weights.h5";

static void names(void) {
  int ok = 1;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    const char *n = vgg_layer_name(i);
    if (!n || vgg_layer_index(n) != i) {
      printf("  round trip fails at %d (%s)\n", i, n ? n : "NULL");
      ok = 0;
    }
  }
  test_check(ok, "vgg_layer_name / vgg_layer_index round trip for all 37 layers");
  // The indices the literature and the seed use.
  static const struct { const char *n; int i; } want[] = {
      {"conv1_1", 0}, {"relu1_1", 1}, {"conv1_2", 2}, {"relu1_2", 3}, {"pool1", 4},
      {"conv2_1", 5}, {"relu2_1", 6}, {"relu3_1", 11}, {"pool3", 18}, {"relu4_1", 20},
      {"conv4_2", 21}, {"relu4_2", 22}, {"conv4_4", 25}, {"relu4_4", 26}, {"pool4", 27},
      {"conv5_1", 28}, {"relu5_1", 29}, {"relu5_4", 35}, {"pool5", 36}};
  ok = 1;
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
    if (vgg_layer_index(want[k].n) != want[k].i) {
      printf("  %s -> %d, expected %d\n", want[k].n, vgg_layer_index(want[k].n), want[k].i);
      ok = 0;
    }
  test_check(ok, "layer indices as torchvision's features (conv4_2 21, relu4_4 26, relu5_1 29)");
  test_check(vgg_layer_index("relu6_1") == -1 && vgg_layer_index("") == -1 &&
                 vgg_layer_index(NULL) == -1 && vgg_layer_index("RELU1_1") == -1 &&
                 vgg_layer_name(-1) == NULL && vgg_layer_name(VGG19_LAYERS) == NULL,
             "unknown names and indices: -1 / NULL");
}

static void load_tiny(VggNet *v) {
  char err[512];
  int rc = vgg19_load(v, NULL, weights, err, sizeof err);
  if (rc) genet_die("%s", err);
  int ch[5] = {4, 8, 16, 32, 32}, ok = v->div == 16, b = 0;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    if (v->layer[i].kind == VGG_POOL) b++;
    else if (b < 5) ok &= v->layer[i].Cout == ch[b];
  }
  test_check(ok, "vgg19_load infers div 16 from %s (channels 4, 8, 16, 32, 32)", weights);
}

// Both fixture cases: outputs of several layers, the image gradient of sum_i <r_i, out_i>, and
// of one tap alone (conv4_2, below the ReLU) with acts run to pool5 and to conv4_2 only.
static void parity(const VggNet *v) {
  Fixture fx;
  fx_open(&fx, "vgg.h5");
  int H = (int)fx_attr_int(&fx, "multi", "H"), W = (int)fx_attr_int(&fx, "multi", "W");
  static const char *taps[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "conv4_2",
                               "relu4_2", "relu4_4", "relu5_1", "pool5"};
  enum { NT = sizeof taps / sizeof taps[0] };
  float *img = fx_read(&fx, "multi/img", NULL, NULL, NULL);
  float *dimg_want = fx_read(&fx, "multi/dimg", NULL, NULL, NULL);
  float *dimg = xmalloc_floats((size_t)3 * H * W);
  VggActs a;
  vgg_acts_alloc(&a, v, H, W, VGG19_LAYERS - 1);
  vgg_forward(&ctx, v, &a, img);
  // K (testlib.c): the conv layers up to pool5, each a sum of Cin 9 products (+ the bias)
  // forward and Cout 9 backward; layer i's output has the convs below it.
  double Kf[VGG19_LAYERS], K = 0;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    if (v->layer[i].kind == VGG_CONV) K += 9.0 * v->layer[i].Cin + 1;
    Kf[i] = K;
  }
  double Kb = 0;  // backward from pool5 to the image: every conv once each way
  for (int i = 0; i < VGG19_LAYERS; i++)
    if (v->layer[i].kind == VGG_CONV) Kb += 9.0 * (v->layer[i].Cin + v->layer[i].Cout) + 1;
  float *r[NT], *dtap[VGG19_LAYERS] = {0};
  double worst_out = 0;
  for (int t = 0; t < NT; t++) {
    char k[64], what[96];
    int i = vgg_layer_index(taps[t]), shape[8], nd, C, h, w;
    size_t n;
    snprintf(k, sizeof k, "multi/out_%s", taps[t]);
    float *want = fx_read(&fx, k, &nd, shape, &n);
    vgg_out_shape(&a, i, &C, &h, &w);
    test_check(nd == 4 && shape[0] == 1 && shape[1] == C && shape[2] == h && shape[3] == w,
               "%s shape (1, %d, %d, %d) as PyTorch's", taps[t], C, h, w);
    snprintf(what, sizeof what, "forward %s (features[%d])", taps[t], i);
    check_close(what, vgg_out(&a, i), want, n, Kf[i], RTOL_F32);
    double e = close_err(vgg_out(&a, i), want, n, Kf[i], NULL);
    if (e > worst_out) worst_out = e;
    free(want);
    snprintf(k, sizeof k, "multi/r_%s", taps[t]);
    r[t] = dtap[i] = fx_read(&fx, k, NULL, NULL, NULL);
  }
  printf("worst forward error over the taps: %.2e (bound %.1e)\n", worst_out, RTOL_F32);
  vgg_backward(&ctx, v, &a, dtap, dimg);
  check_close("image gradient, 9 taps at once (relu1_1 .. pool5)", dimg, dimg_want,
              (size_t)3 * H * W, Kb, RTOL_F32);

  // One tap only: the ReLU above conv4_2 and everything higher do not contribute.
  float *one_want = fx_read(&fx, "one/dimg", NULL, NULL, NULL);
  int c42 = vgg_layer_index("conv4_2");
  float *only[VGG19_LAYERS] = {0};
  only[c42] = dtap[c42];
  vgg_forward(&ctx, v, &a, img);  // backward overwrote the ReLUs' outputs
  vgg_backward(&ctx, v, &a, only, dimg);
  check_close("image gradient, one tap (conv4_2), acts to pool5", dimg, one_want,
              (size_t)3 * H * W, Kb, RTOL_F32);
  VggActs a2;
  vgg_acts_alloc(&a2, v, H, W, c42);
  vgg_forward(&ctx, v, &a2, img);
  memset(dimg, 0, sizeof(float) * 3 * H * W);
  vgg_backward(&ctx, v, &a2, only, dimg);
  check_close("image gradient, one tap (conv4_2), acts to conv4_2", dimg, one_want,
              (size_t)3 * H * W, Kb, RTOL_F32);
  // Again with all taps: nothing left over from the previous passes (its spare buffers reused).
  vgg_forward(&ctx, v, &a, img);
  vgg_backward(&ctx, v, &a, dtap, dimg);
  check_close("image gradient, 9 taps, second time", dimg, dimg_want, (size_t)3 * H * W, Kb,
              RTOL_F32);
  // No taps at all: a zero gradient.
  float *none[VGG19_LAYERS] = {0};
  vgg_backward(&ctx, v, &a, none, dimg);
  int zero = 1;
  for (int k = 0; k < 3 * H * W; k++) zero &= dimg[k] == 0.f;
  test_check(zero, "no taps: zero image gradient");

  // vgg_acts_alloc_keep: only the tapped conv outputs (conv4_2 here) kept apart, the other
  // convs writing into their ReLUs' buffers: the same outputs and gradient bit for bit.
  uint8_t keep[VGG19_LAYERS] = {0};
  for (int t = 0; t < NT; t++) keep[vgg_layer_index(taps[t])] = 1;
  VggActs a3;
  vgg_acts_alloc_keep(&a3, v, H, W, VGG19_LAYERS - 1, keep);
  vgg_forward(&ctx, v, &a3, img);
  int same = 1, shared = 0;
  for (int t = 0; t < NT; t++) {
    int i = vgg_layer_index(taps[t]), C, h, w;
    vgg_out_shape(&a, i, &C, &h, &w);
    vgg_forward(&ctx, v, &a, img);
    same &= !memcmp(vgg_out(&a, i), vgg_out(&a3, i), sizeof(float) * (size_t)C * h * w);
  }
  for (int i = 0; i + 1 < VGG19_LAYERS; i++) shared += a3.out[i] == a3.out[i + 1];
  float *dimg3 = xmalloc_floats((size_t)3 * H * W);
  vgg_backward(&ctx, v, &a, dtap, dimg);
  vgg_backward(&ctx, v, &a3, dtap, dimg3);
  same &= !memcmp(dimg, dimg3, sizeof(float) * 3 * H * W);
  test_check(same && shared == 15, "acts_alloc_keep (15 of 16 convs share their ReLU's buffer): "
             "taps and image gradient bit for bit as with every output kept (%d shared)", shared);
  free(dimg3);
  vgg_acts_free(&a3);

  for (int t = 0; t < NT; t++) free(r[t]);
  free(img); free(dimg_want); free(one_want); free(dimg);
  vgg_acts_free(&a);
  vgg_acts_free(&a2);
  fx_close(&fx);
}

// pooling = avg: the five max-pools replaced by AvgPool2d(2, 2), against PyTorch's VGG19 so
// changed on the same seeded random weights (tests/fixtures/vgg_avg.h5, fx_vgg_avg.py): the
// outputs of nine layers (pools among them) and the image gradient from all nine at once. Then
// the max-pool net again, to show the flag changes the outputs (pool1 differs).
static void parity_avg(VggNet *v) {
  Fixture fx;
  fx_open(&fx, "vgg_avg.h5");
  int H = (int)fx_attr_int(&fx, "avg", "H"), W = (int)fx_attr_int(&fx, "avg", "W");
  static const char *taps[] = {"pool1", "relu2_1", "pool2", "relu3_1", "pool3",
                               "relu4_2", "pool4", "relu5_1", "pool5"};
  enum { NT = sizeof taps / sizeof taps[0] };
  float *img = fx_read(&fx, "avg/img", NULL, NULL, NULL);
  float *dimg_want = fx_read(&fx, "avg/dimg", NULL, NULL, NULL);
  float *dimg = xmalloc_floats((size_t)3 * H * W);
  v->avg_pool = 1;
  VggActs a;
  vgg_acts_alloc(&a, v, H, W, VGG19_LAYERS - 1);
  vgg_forward(&ctx, v, &a, img);
  // K as parity(): the convs below each layer (an average adds 4 terms, inside the bound).
  double Kf[VGG19_LAYERS], K = 0, Kb = 0;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    if (v->layer[i].kind == VGG_CONV) {
      K += 9.0 * v->layer[i].Cin + 1;
      Kb += 9.0 * (v->layer[i].Cin + v->layer[i].Cout) + 1;
    } else if (v->layer[i].kind == VGG_POOL) {
      K += 4;
      Kb += 4;
    }
    Kf[i] = K;
  }
  float *dtap[VGG19_LAYERS] = {0};
  float *pool1_avg = NULL;
  for (int t = 0; t < NT; t++) {
    char k[64], what[96];
    int i = vgg_layer_index(taps[t]), shape[8], nd, C, h, w;
    size_t n;
    snprintf(k, sizeof k, "avg/out_%s", taps[t]);
    float *want = fx_read(&fx, k, &nd, shape, &n);
    vgg_out_shape(&a, i, &C, &h, &w);
    test_check(nd == 4 && shape[1] == C && shape[2] == h && shape[3] == w,
               "avg %s shape (1, %d, %d, %d) as PyTorch's", taps[t], C, h, w);
    snprintf(what, sizeof what, "pooling = avg: forward %s (features[%d])", taps[t], i);
    check_close(what, vgg_out(&a, i), want, n, Kf[i], RTOL_F32);
    if (t == 0) pool1_avg = copy_floats(vgg_out(&a, i), n);
    free(want);
    snprintf(k, sizeof k, "avg/r_%s", taps[t]);
    dtap[i] = fx_read(&fx, k, NULL, NULL, NULL);
  }
  vgg_backward(&ctx, v, &a, dtap, dimg);
  check_close("pooling = avg: image gradient, 9 taps at once (pool1 .. pool5)", dimg, dimg_want,
              (size_t)3 * H * W, Kb, RTOL_F32);
  v->avg_pool = 0;
  vgg_forward(&ctx, v, &a, img);
  int C, h, w;
  vgg_out_shape(&a, 4, &C, &h, &w);
  double e = close_err(vgg_out(&a, 4), pool1_avg, (size_t)C * h * w, Kf[4], NULL);
  test_check(e > 1e-2, "pooling = max on the same image: pool1 differs from avg's (err %.2e)", e);
  for (int i = 0; i < VGG19_LAYERS; i++) free(dtap[i]);
  free(img); free(dimg_want); free(dimg); free(pool1_avg);
  vgg_acts_free(&a);
  fx_close(&fx);
}

typedef struct {
  const VggNet *v;
  VggActs *a;
  float *img;            // (1, 3, H, W) the point the forward runs at
  float *const *dtap;
} FdArg;

// sum_i <dtap_i, out_i> at the current image.
static double fd_loss(void *p) {
  FdArg *f = p;
  vgg_forward(&ctx, f->v, f->a, f->img);
  double s = 0;
  for (int i = 0; i <= f->a->last; i++) {
    if (!f->dtap[i]) continue;
    int C, h, w;
    vgg_out_shape(f->a, i, &C, &h, &w);
    s += dot_d(vgg_out(f->a, i), f->dtap[i], (size_t)C * h * w);
  }
  return s;
}

// Central differences of the image gradient on a 19 x 17 image (pools floor to 9x8, 4x4, 2x2,
// 1x1) through relu5_1, five taps among them a conv output. The network is piecewise linear in
// the image (conv, ReLU, max-pool), so a difference is exact unless its step crosses a ReLU
// or max-pool kink, and otherwise carries only float32 rounding of the forward (~4e-6 in the
// loss). Per coordinate, a step of 3e-3 keeps both small on the checked coordinates (a few
// pixels elsewhere sit within 1e-3 of a pool switch, where the difference is off by 35%:
// measured against float64 PyTorch, not a genet error). Smaller steps drown in the rounding
// (1e-3: 1.9e-2), and so does a check along random directions, which crosses many kinks.
static void finite_differences(const VggNet *v) {
  const int H = 19, W = 17, last = vgg_layer_index("relu5_1");
  static const char *taps[] = {"relu1_1", "relu2_2", "conv4_2", "relu4_4", "relu5_1"};
  VggActs a;
  vgg_acts_alloc(&a, v, H, W, last);
  size_t n = (size_t)3 * H * W;
  float *img = xmalloc_floats(n), *dimg = xmalloc_floats(n);
  fill_uniform(img, n, -2.f, 2.f, 11);
  float *dtap[VGG19_LAYERS] = {0};
  for (int t = 0; t < 5; t++) {
    int i = vgg_layer_index(taps[t]), C, h, w;
    vgg_out_shape(&a, i, &C, &h, &w);
    dtap[i] = xmalloc_floats((size_t)C * h * w);
    fill_uniform(dtap[i], (size_t)C * h * w, -1.f, 1.f, 100 + (uint64_t)t);
  }
  FdArg f = {.v = v, .a = &a, .img = img, .dtap = dtap};
  fd_loss(&f);
  vgg_backward(&ctx, v, &a, dtap, dimg);
  // Judged against max|g| (testlib.c): measured worst 3.4e-4 over ISAs and thread counts.
  gradcheck("image gradient, 19x17 through relu5_1, 5 taps, per pixel", fd_loss, &f, img, dimg,
            n, 3e-3, 80, 5e-3);
  for (size_t k = 0; k < n; k++) dimg[k] *= 1.05f;
  size_t where;
  double fd_at, bad = gradcheck_worst(fd_loss, &f, img, dimg, n, 3e-3, 80, &where, &fd_at);
  check_planted("image gradient 5% off: finite differences", bad, 5e-3);
  for (int i = 0; i < VGG19_LAYERS; i++) free(dtap[i]);
  free(img); free(dimg);
  vgg_acts_free(&a);
}

// Writes the tiny net's parameters to path, with `skip` left out and `bad` given one wrong
// dimension (either may be NULL).
static void write_copy(const VggNet *v, const char *path, const char *skip, const char *bad) {
  H5File f;
  char err[512];
  if (h5_create(&f, path, err, sizeof err)) genet_die("%s", err);
  for (int i = 0; i < v->params.n; i++) {
    const ParamInfo *pi = &v->params.info[i];
    if (skip && strcmp(pi->name, skip) == 0) continue;
    int64_t d[4];
    for (int k = 0; k < pi->ndim; k++) d[k] = pi->shape[k];
    float *x = v->params.data + pi->offset;
    float *tmp = NULL;
    if (bad && strcmp(pi->name, bad) == 0) {  // one input channel fewer
      d[1] -= 1;
      tmp = xcalloc((size_t)d[0] * d[1] * d[2] * d[3], sizeof(float));
      x = tmp;
    }
    char name[128];
    snprintf(name, sizeof name, "params/%s", pi->name);
    if (h5_write_f32(&f, name, x, pi->ndim, d)) genet_die("cannot write %s", path);
    free(tmp);
  }
  if (h5_close(&f, err, sizeof err)) genet_die("%s", err);
}

// One load that must fail with a single line naming the file and (when given) the dataset.
static void expect_error(const char *what, const char *path, const char *dataset) {
  VggNet v;
  char err[512] = "";
  int rc = vgg19_load(&v, NULL, path, err, sizeof err);
  int ok = rc == -1 && strstr(err, path) && !strchr(err, '\n') &&
           (!dataset || strstr(err, dataset)) && v.params.data == NULL;
  test_check(ok, "%s refused: %s", what, err);
  if (rc == 0) vgg_net_free(&v);
}

static void load_errors(const VggNet *v) {
  char dir[] = "/tmp/genet_test_vgg_XXXXXX", p[600];
  if (!mkdtemp(dir)) genet_die("mkdtemp failed");
  snprintf(p, sizeof p, "%s/none.h5", dir);
  expect_error("missing file", p, NULL);

  snprintf(p, sizeof p, "%s/shape.h5", dir);
  write_copy(v, p, NULL, "features.21.weight");
  expect_error("wrong shape", p, "params/features.21.weight");
  unlink(p);

  snprintf(p, sizeof p, "%s/missing.h5", dir);
  write_copy(v, p, "features.34.bias", NULL);
  expect_error("missing dataset", p, "params/features.34.bias");
  unlink(p);

  snprintf(p, sizeof p, "%s/empty.h5", dir);
  write_copy(v, p, "features.0.weight", NULL);
  expect_error("no first conv", p, "params/features.0.weight");
  unlink(p);

  snprintf(p, sizeof p, "%s/notdiv.h5", dir);
  {  // first conv of 5 channels: 64 is no multiple of it
    H5File f;
    char err[256];
    float w[5 * 3 * 9] = {0};
    int64_t d[4] = {5, 3, 3, 3};
    if (h5_create(&f, p, err, sizeof err) ||
        h5_write_f32(&f, "params/features.0.weight", w, 4, d) || h5_close(&f, err, sizeof err))
      genet_die("cannot write %s", p);
  }
  expect_error("first conv of 5 channels", p, "params/features.0.weight");
  unlink(p);

  snprintf(p, sizeof p, "%s/text.h5", dir);
  FILE *t = fopen(p, "w");
  if (!t) genet_die("cannot write %s", p);
  fputs("not hdf5\n", t);
  fclose(t);
  expect_error("a text file", p, NULL);
  unlink(p);
  rmdir(dir);
}

// vgg19_random: each conv's weights are N(0, 2 / (Cin * 9)) (He et al.), biases zero, the same
// for the same seed. The sample mean and standard deviation of each conv (at least 1728 draws)
// must lie within 5 standard errors of the closed form.
static void random_weights(void) {
  VggNet a, b, c;
  vgg19_random(&a, NULL, 8, 7, 1);
  vgg19_random(&b, NULL, 8, 7, 1);
  vgg19_random(&c, NULL, 8, 8, 1);
  int convs = 0, stats_ok = 1, bias_zero = 1;
  for (int i = 0; i < VGG19_LAYERS; i++) {
    const VggLayer *L = &a.layer[i];
    if (L->kind != VGG_CONV) continue;
    convs++;
    size_t n = (size_t)L->Cout * L->Cin * 9;
    const float *w = a.params.data + L->w;
    double sum = 0, sq = 0, want = sqrt(2.0 / (L->Cin * 9.0));
    for (size_t k = 0; k < n; k++) sum += w[k];
    double mean = sum / (double)n;
    for (size_t k = 0; k < n; k++) sq += (w[k] - mean) * (w[k] - mean);
    double sd = sqrt(sq / (double)(n - 1));
    // standard errors: of the mean want/sqrt(n), of the sd about want/sqrt(2n)
    if (fabs(mean) > 5 * want / sqrt((double)n) || fabs(sd - want) > 5 * want / sqrt(2.0 * n)) {
      stats_ok = 0;
      printf("  features.%d: mean %.4g sd %.4g, want 0 and %.4g (n %zu)\n", i, mean, sd, want, n);
    }
    for (int k = 0; k < L->Cout; k++) bias_zero &= a.params.data[L->b + k] == 0.0f;
  }
  test_check(convs == VGG19_CONVS && stats_ok, "random VGG19: %d convs with mean 0, sd sqrt(2/fan_in)",
             convs);
  test_check(bias_zero, "random VGG19: biases zero");
  size_t bytes = sizeof(float) * a.params.total;
  test_check(!memcmp(a.params.data, b.params.data, bytes), "random VGG19: same seed, same weights");
  test_check(memcmp(a.params.data, c.params.data, bytes) != 0, "random VGG19: another seed, other weights");
  vgg_net_free(&a);
  vgg_net_free(&b);
  vgg_net_free(&c);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  names();
  VggNet v;
  load_tiny(&v);
  parity(&v);
  parity_avg(&v);
  finite_differences(&v);
  load_errors(&v);
  random_weights();
  vgg_net_free(&v);
  ctx_free(&ctx);
  return test_finish("vgg");
}
