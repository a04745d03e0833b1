// test_dcgan.c: the DCGAN generator and discriminator (src/models/dcgan_model.h) against PyTorch: one
// full iteration of the reference training loop (D on real, D on G(z).detach(), D's Adam step,
// G through the updated D, G's Adam step) compared tensor by tensor with tests/fixtures/dcgan.h5,
// eval-mode forwards, and finite differences of D's and G's loss at a tiny width.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/dcgan_model.h"
#include "ops/loss.h"
#include "optim/optim.h"
#include "testlib.h"
#include "core/util.h"

static Ctx ctx;

// ---- fixture helpers

// The reduction length of a chain through net (testlib.c): each layer's forward (Cin 16
// products), backward to its input (Cout 16) and the sums over the batch and the positions
// (weight gradient, BatchNorm statistics).
static double net_K(const DcganNet *net, int N) {
  double K = 0;
  for (int l = 0; l < DCGAN_LAYERS; l++) {
    const DcganLayer *L = &net->layer[l];
    K += 16.0 * (L->Cin + L->Cout) + (double)N * L->Hout * L->Hout;
  }
  return K;
}

// Compares each tensor of `buf` (p->data or p->grad) with fixture group `grp`; returns the worst
// error (testlib's rule with reduction length K).
static double compare_params(Fixture *fx, const char *grp, const Params *p, const float *buf,
                             const char *label, double K) {
  double worst = 0;
  for (int i = 0; i < p->n; i++) {
    char k[160], what[200];
    size_t n, at;
    snprintf(k, sizeof k, "%s/%s", grp, p->info[i].name);
    float *want = fx_read(fx, k, NULL, NULL, &n);
    GENET_ASSERT(n == p->info[i].numel);
    snprintf(what, sizeof what, "%s %s", label, p->info[i].name);
    const float *got = buf + p->info[i].offset;
    check_close(what, got, want, n, K, RTOL_F32);
    double e = close_err(got, want, n, K, &at);
    if (e > worst) worst = e;
    free(want);
  }
  return worst;
}

static void check_nbt(Fixture *fx, const char *grp, const DcganNet *n) {
  for (int l = 0; l < DCGAN_LAYERS; l++) {
    const DcganLayer *L = &n->layer[l];
    if (L->bn_idx < 0) continue;
    char attr[64];
    snprintf(attr, sizeof attr, "main.%d.num_batches_tracked", L->bn_idx);
    long long want = fx_attr_int(fx, grp, attr);
    test_check(L->num_batches_tracked == want, "%s %s: %lld (PyTorch %lld)", grp, attr,
               (long long)L->num_batches_tracked, want);
  }
}

static double mean_f(const float *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

// ---- one iteration of the reference loop against the fixture
static void train_iteration(Fixture *fx) {
  const char *t = "train";
  DcganConfig c = {(int)fx_attr_int(fx, t, "nz"), (int)fx_attr_int(fx, t, "ngf"),
                   (int)fx_attr_int(fx, t, "ndf"), (int)fx_attr_int(fx, t, "nc")};
  int N = (int)fx_attr_int(fx, t, "N");
  DcganNet G, D;
  dcgan_build_g(&G, &c, NULL);
  dcgan_build_d(&D, &c, NULL);
  fx_read_params(fx, "train/G/init", &G.params);
  fx_read_params(fx, "train/G/init", &G.buffers);
  fx_read_params(fx, "train/D/init", &D.params);
  fx_read_params(fx, "train/D/init", &D.buffers);
  DcganActs aG, aD;
  dcgan_acts_alloc(&aG, &G, N);
  dcgan_acts_alloc(&aD, &D, N);
  float *real = fx_read(fx, "train/real", NULL, NULL, NULL);
  float *noise = fx_read(fx, "train/noise", NULL, NULL, NULL);
  size_t img = dcgan_out_size(&G);
  float *fake = xmalloc_floats((size_t)N * img), *dfake = xmalloc_floats((size_t)N * img);
  float prob[64], dprob[64], ones[64], zeros[64];
  GENET_ASSERT(N <= 64);
  for (int i = 0; i < N; i++) ones[i] = 1.0f, zeros[i] = 0.0f;
  AdamConfig ac;
  adam_config_default(&ac);
  ac.lr = 2e-4;
  ac.beta1 = 0.5;
  ac.beta2 = 0.999;
  AdamState sD, sG;
  adam_init(&sD, D.params.total);
  adam_init(&sG, G.params.total);
  // D's results run through D (and its backward); G's through G, D and back.
  double KD = net_K(&D, N), KG = net_K(&G, N) + KD;

  // (1) D: real with label 1, then G(noise).detach() with label 0, then D's step.
  params_zero_grad(&D.params);
  dcgan_forward(&ctx, &D, &aD, real, prob, N, 1);
  double errD_real = bce_loss_forward(&ctx, prob, ones, (size_t)N), D_x = mean_f(prob, N);
  bce_loss_backward(&ctx, dprob, prob, ones, (size_t)N, 1.0f);
  dcgan_backward(&ctx, &D, &aD, dprob, NULL, N, NULL);
  dcgan_forward(&ctx, &G, &aG, noise, fake, N, 1);
  dcgan_forward(&ctx, &D, &aD, fake, prob, N, 1);
  double errD_fake = bce_loss_forward(&ctx, prob, zeros, (size_t)N), D_G_z1 = mean_f(prob, N);
  bce_loss_backward(&ctx, dprob, prob, zeros, (size_t)N, 1.0f);
  dcgan_backward(&ctx, &D, &aD, dprob, NULL, N, NULL);
  check_scalar("errD_real", errD_real, fx_attr_double(fx, t, "errD_real"), KD, RTOL_F32);
  check_scalar("D_x", D_x, fx_attr_double(fx, t, "D_x"), KD, RTOL_F32);
  check_scalar("errD_fake", errD_fake, fx_attr_double(fx, t, "errD_fake"), KG, RTOL_F32);
  check_scalar("D_G_z1", D_G_z1, fx_attr_double(fx, t, "D_G_z1"), KG, RTOL_F32);
  double w_dgrad = compare_params(fx, "train/D/grad", &D.params, D.params.grad, "D grad", KG);
  adam_step(&ctx, &sD, D.params.data, D.params.grad, &ac);
  // Adam moves each weight by about lr sign(g): element-wise (K 1) unless g is near 0.
  double w_dafter = compare_params(fx, "train/D/after", &D.params, D.params.data, "D after step", 1);

  // (2) G: fake with label 1 through the updated D (its third forward in train mode).
  params_zero_grad(&G.params);
  dcgan_forward(&ctx, &D, &aD, fake, prob, N, 1);
  double errG = bce_loss_forward(&ctx, prob, ones, (size_t)N), D_G_z2 = mean_f(prob, N);
  bce_loss_backward(&ctx, dprob, prob, ones, (size_t)N, 1.0f);
  // D's input gradient alone, as the task runs it: G's gradients below check it; D's parameter
  // gradients must stay as they were.
  float *dgrad_before = xmalloc_floats(D.params.total);
  memcpy(dgrad_before, D.params.grad, sizeof(float) * D.params.total);
  dcgan_backward_input(&ctx, &D, &aD, dprob, dfake, N);
  test_check(memcmp(dgrad_before, D.params.grad, sizeof(float) * D.params.total) == 0,
             "dcgan_backward_input leaves D's parameter gradients untouched");
  free(dgrad_before);
  dcgan_backward(&ctx, &G, &aG, dfake, NULL, N, NULL);
  check_scalar("errG", errG, fx_attr_double(fx, t, "errG"), KG, RTOL_F32);
  check_scalar("D_G_z2", D_G_z2, fx_attr_double(fx, t, "D_G_z2"), KG, RTOL_F32);
  double w_ggrad = compare_params(fx, "train/G/grad", &G.params, G.params.grad, "G grad", KG);
  adam_step(&ctx, &sG, G.params.data, G.params.grad, &ac);
  double w_gafter = compare_params(fx, "train/G/after", &G.params, G.params.data, "G after step", 1);

  // Running statistics of both nets (G: 1 forward, D: 3), then G(fixed noise) in eval mode.
  double w_gbuf = compare_params(fx, "train/G/end", &G.buffers, G.buffers.data, "G end", KG);
  double w_dbuf = compare_params(fx, "train/D/end", &D.buffers, D.buffers.data, "D end", KG);
  check_nbt(fx, "train/G/end", &G);
  check_nbt(fx, "train/D/end", &D);
  size_t n;
  float *fixed = fx_read(fx, "train/fixed_noise", NULL, NULL, &n);
  int Nf = (int)(n / (size_t)c.nz);
  float *want = fx_read(fx, "train/fake_fixed", NULL, NULL, NULL);
  dcgan_forward(&ctx, &G, &aG, fixed, fake, Nf, 0);
  check_close("G(fixed noise) eval after the step", fake, want, (size_t)Nf * img, KG, RTOL_F32);
  printf("worst err: D grad %.2e, D after %.2e, G grad %.2e, G after %.2e, running stats G %.2e "
         "D %.2e\n", w_dgrad, w_dafter, w_ggrad, w_gafter, w_gbuf, w_dbuf);

  // Eval-mode case: init weights, random running statistics.
  fx_read_params(fx, "train/G/init", &G.params);
  fx_read_params(fx, "train/D/init", &D.params);
  fx_read_params(fx, "eval/G/buffers", &G.buffers);
  fx_read_params(fx, "eval/D/buffers", &D.buffers);
  int64_t nbt_before = G.layer[0].num_batches_tracked;
  float *enoise = fx_read(fx, "eval/noise", NULL, NULL, &n);
  int Ne = (int)(n / (size_t)c.nz);
  float *gwant = fx_read(fx, "eval/G_out", NULL, NULL, NULL);
  float *dwant = fx_read(fx, "eval/D_out", NULL, NULL, NULL);
  dcgan_forward(&ctx, &G, &aG, enoise, fake, Ne, 0);
  check_close("eval G(noise)", fake, gwant, (size_t)Ne * img, net_K(&G, Ne), RTOL_F32);
  dcgan_forward(&ctx, &D, &aD, real, prob, N, 0);
  check_close("eval D(real)", prob, dwant, (size_t)N, KD, RTOL_F32);
  test_check(G.layer[0].num_batches_tracked == nbt_before, "eval leaves num_batches_tracked");

  free(enoise); free(gwant); free(dwant); free(fixed); free(want);
  free(real); free(noise); free(fake); free(dfake);
  adam_free(&sD); adam_free(&sG);
  dcgan_acts_free(&aG); dcgan_acts_free(&aD);
  dcgan_net_free(&G); dcgan_net_free(&D);
}

// ---- finite differences at a tiny width
typedef struct {
  DcganNet *G, *D;
  DcganActs *aG, *aD;
  const float *z, *img, *r;  // G input, D input, output weights
  float *fake, *prob;
  int N, through_g;
} GcArg;

// L = sum_i r_i D(x)_i with x = img, or x = G(z) when through_g; both in train mode.
static double gc_loss(void *p) {
  GcArg *a = p;
  const float *x = a->img;
  if (a->through_g) {
    dcgan_forward(&ctx, a->G, a->aG, a->z, a->fake, a->N, 1);
    x = a->fake;
  }
  dcgan_forward(&ctx, a->D, a->aD, x, a->prob, a->N, 1);
  return dot_d(a->prob, a->r, (size_t)a->N);
}

// Larger weights than weights_init so that every gradient stands well above float32 noise.
static void gc_weights(DcganNet *n, uint64_t seed) {
  for (int i = 0; i < n->params.n; i++) {
    const ParamInfo *pi = &n->params.info[i];
    float *x = n->params.data + pi->offset;
    int is_bn = pi->ndim == 1;
    int is_bias = is_bn && strstr(pi->name, "bias") != NULL;
    fill_uniform(x, pi->numel, is_bias ? -0.3f : (is_bn ? 0.6f : -0.4f), is_bias ? 0.3f : (is_bn ? 1.4f : 0.4f),
                 seed + (uint64_t)i);
  }
}

// Checks a few coordinates of every parameter tensor of `net` and returns the worst error.
static double gc_params(const char *label, GcArg *a, DcganNet *net, const float *grad, double eps,
                        int per_tensor, double tol) {
  double worst = 0;
  for (int i = 0; i < net->params.n; i++) {
    const ParamInfo *pi = &net->params.info[i];
    char what[160];
    snprintf(what, sizeof what, "%s dL/d %s", label, pi->name);
    double e = gradcheck(what, gc_loss, a, net->params.data + pi->offset, grad + pi->offset,
                         pi->numel, eps, per_tensor, tol);
    if (e > worst) worst = e;
  }
  return worst;
}

static void finite_differences(void) {
  DcganConfig c = {3, 1, 1, 2};  // nz 3, ngf = ndf = 1, nc 2
  int N = 2;
  DcganNet G, D;
  dcgan_build_g(&G, &c, NULL);
  dcgan_build_d(&D, &c, NULL);
  gc_weights(&G, 100);
  gc_weights(&D, 200);
  // Smooth activations for the finite differences: with ReLU kinks in 64x64 maps, any step moves
  // some units across a kink and the differences are off by about 1e-2. The composition (buffers,
  // BN in training, conv and convT backward, the order of layers) is the same; the activations
  // themselves, ReLU and LeakyReLU included, are checked against PyTorch above and in test_linear.
  for (int l = 0; l < DCGAN_LAYERS - 1; l++) G.layer[l].act = D.layer[l].act = ACT_TANH;
  DcganActs aG, aD;
  dcgan_acts_alloc(&aG, &G, N);
  dcgan_acts_alloc(&aD, &D, N);
  size_t img = dcgan_out_size(&G);
  float *z = xmalloc_floats((size_t)N * c.nz), *x = xmalloc_floats((size_t)N * img);
  float *fake = xmalloc_floats((size_t)N * img), *dx = xmalloc_floats((size_t)N * img);
  float *dfake = xmalloc_floats((size_t)N * img), prob[2], r[2] = {0.7f, -1.3f};
  fill_uniform(z, (size_t)N * c.nz, -1.5f, 1.5f, 7);
  fill_uniform(x, (size_t)N * img, -1.0f, 1.0f, 8);
  GcArg a = {&G, &D, &aG, &aD, z, x, r, fake, prob, N, 0};

  // Steps and bounds: the probabilities are float32 (ulp 6e-8 near 0.5), so a step h leaves
  // noise of about 1e-7 / h in each difference; h = 3e-3 on the weights (1e-1 on the pixels,
  // whose gradients are ~1e-3) keeps both that and the h^2 truncation below 1.4e-3 of max|g|
  // (measured worst over ISAs and thread counts, the image), and a bound of 1e-2 still rejects
  // a gradient off by 1% of its largest coordinate.
  // D alone: w.r.t. its parameters and the image.
  params_zero_grad(&D.params);
  gc_loss(&a);
  dcgan_backward(&ctx, &D, &aD, r, dx, N, NULL);
  float *dgrad = xmalloc_floats(D.params.total);
  memcpy(dgrad, D.params.grad, sizeof(float) * D.params.total);
  double wd = gc_params("D", &a, &D, dgrad, 3e-3, 8, 1e-2);
  double wx = gradcheck("D dL/d image", gc_loss, &a, x, dx, (size_t)N * img, 1e-1, 60, 1e-2);

  // G through the fixed D: w.r.t. G's parameters.
  a.through_g = 1;
  params_zero_grad(&G.params);
  gc_loss(&a);
  dcgan_backward(&ctx, &D, &aD, r, dfake, N, NULL);
  dcgan_backward(&ctx, &G, &aG, dfake, NULL, N, NULL);
  float *ggrad = xmalloc_floats(G.params.total);
  memcpy(ggrad, G.params.grad, sizeof(float) * G.params.total);
  double wg = gc_params("G", &a, &G, ggrad, 3e-3, 8, 1e-2);
  printf("finite differences worst: D params %.2e, D image %.2e, G params %.2e\n", wd, wx, wg);

  free(z); free(x); free(fake); free(dx); free(dfake); free(dgrad); free(ggrad);
  dcgan_acts_free(&aG); dcgan_acts_free(&aD);
  dcgan_net_free(&G); dcgan_net_free(&D);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "dcgan.h5");
  train_iteration(&fx);
  fx_close(&fx);
  finite_differences();
  ctx_free(&ctx);
  return test_finish("dcgan");
}
