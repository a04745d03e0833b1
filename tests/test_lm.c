// test_lm.c: the language model against PyTorch (tests/fixtures/lm.h5, scripts/fixtures/
// fx_lm.py): from the same initial weights, each training step of the reference recipe
// (forward over a BPTT window with the carried state, backward, clip_grad_norm_, p -= lr g)
// gives the same loss, gradients before clipping, total norm, updated weights and final
// state, tied and untied. Then finite differences of the whole model's loss.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_model.h"
#include "optim/optim.h"
#include "data/params_io.h"
#include "testlib.h"
#include "core/util.h"

// Every parameter tensor of buf (laid out as m) against GROUP/<name> of the fixture.
static void check_params(Fixture *fx, const LmModel *m, const float *buf, const char *group,
                         double K) {
  for (int i = 0; i < m->params.n; i++) {
    const ParamInfo *pi = &m->params.info[i];
    char name[256];
    snprintf(name, sizeof name, "%s/%s", group, pi->name);
    size_t n;
    float *want = fx_read(fx, name, NULL, NULL, &n);
    GENET_ASSERT(n == pi->numel);
    check_close(name, buf + pi->offset, want, n, K, RTOL_F32);
    free(want);
  }
}

static void parity(Ctx *ctx, const char *g) {
  Fixture fx;
  fx_open(&fx, "lm.h5");
  LmConfig c = {.ntoken = (int)fx_attr_int(&fx, g, "ntoken"),
                .emsize = (int)fx_attr_int(&fx, g, "emsize"),
                .nhid = (int)fx_attr_int(&fx, g, "nhid"),
                .nlayers = (int)fx_attr_int(&fx, g, "nlayers"),
                .tied = (int)fx_attr_int(&fx, g, "tied")};
  int B = (int)fx_attr_int(&fx, g, "batch"), bptt = (int)fx_attr_int(&fx, g, "bptt");
  int steps = (int)fx_attr_int(&fx, g, "steps");
  double lr = fx_attr_double(&fx, g, "lr"), clip = fx_attr_double(&fx, g, "clip");
  LmModel m;
  lm_model_build(&m, &c, NULL);
  char name[256], err[600];
  H5File f;
  snprintf(name, sizeof name, "%s/lm.h5", GENET_FIXTURES);
  GENET_ASSERT(h5_open_read(&f, name, err, sizeof err) == 0);
  snprintf(name, sizeof name, "%s/init", g);
  if (params_read(&f, &m.params, m.params.data, name, err, sizeof err)) genet_die("%s", err);
  int rows = steps * bptt + 1;
  int32_t *tokens = xmalloc(sizeof(int32_t) * (size_t)rows * B);
  snprintf(name, sizeof name, "%s/tokens", g);
  GENET_ASSERT(h5_read_i32(&f, name, tokens, 2, (int64_t[]){rows, B}, err, sizeof err) == 0);
  h5_close(&f, err, sizeof err);

  // Reduction lengths (testlib.c): the state runs through bptt steps of nlayers cells, each a
  // sum over emsize or nhid inputs and nhid recurrent ones; the loss and the gradients add the
  // decoder (nhid), the softmax (ntoken) and the sums over the bptt * B positions.
  double Kh = (double)bptt * c.nlayers * (c.emsize + 2 * c.nhid + 2);
  double Kg = Kh + c.nhid + c.ntoken + (double)bptt * B;
  LmActs a;
  lm_acts_alloc(&a, &m, bptt, B);
  size_t hn = (size_t)c.nlayers * B * c.nhid;
  float *h = xcalloc(hn, sizeof(float)), *cc = xcalloc(hn, sizeof(float));
  for (int s = 1; s <= steps; s++) {
    const int32_t *x = tokens + (size_t)(s - 1) * bptt * B, *y = x + B;
    params_zero_grad(&m.params);
    double loss = lm_forward(ctx, &m, &a, x, y, bptt, h, cc, 1, NULL);
    lm_backward(ctx, &m, &a, x, y, NULL);
    char what[128];
    snprintf(name, sizeof name, "%s/step%d/loss", g, s);
    float *want = fx_read(&fx, name, NULL, NULL, NULL);
    snprintf(what, sizeof what, "%s step %d loss", g, s);
    check_scalar(what, loss, want[0], Kg, RTOL_F32);
    free(want);
    snprintf(name, sizeof name, "%s/step%d/grad", g, s);
    check_params(&fx, &m, m.params.grad, name, Kg);
    double norm = clip_grad_norm(ctx, m.params.grad, m.params.total, clip);
    snprintf(name, sizeof name, "%s/step%d/total_norm", g, s);
    want = fx_read(&fx, name, NULL, NULL, NULL);
    snprintf(what, sizeof what, "%s step %d total_norm", g, s);
    check_scalar(what, norm, want[0], Kg, RTOL_F32);
    free(want);
    SgdConfig sc = {.lr = lr};
    SgdState st = {.n = m.params.total};
    sgd_step(ctx, &st, m.params.data, m.params.grad, &sc);
    snprintf(name, sizeof name, "%s/step%d/param", g, s);
    // p - lr g: the error of g enters scaled by lr, against |p| (the K of g covers it).
    check_params(&fx, &m, m.params.data, name, Kg);
    const char *sn[2] = {"h", "c"};
    float *got[2] = {h, cc};
    for (int k = 0; k < 2; k++) {
      size_t n;
      snprintf(name, sizeof name, "%s/step%d/%s", g, s, sn[k]);
      want = fx_read(&fx, name, NULL, NULL, &n);
      GENET_ASSERT(n == hn);
      check_close(name, got[k], want, n, Kh, RTOL_F32);
      free(want);
    }
  }
  free(h);
  free(cc);
  free(tokens);
  lm_acts_free(&a);
  lm_model_free(&m);
  fx_close(&fx);
}

// ---- finite differences of the loss of one window (dropout off) w.r.t. every parameter
typedef struct {
  Ctx *ctx;
  LmModel *m;
  LmActs *a;
  const int32_t *x, *y;
  int T;
  const float *h0, *c0;
  float *h, *c;
  size_t hn;
} FdArg;

// Step and bound of the finite differences (testlib.c): h = 1e-2 balances truncation (h^2)
// against rounding (1e-7 / h) of the float32 forward: 3e-3 or 3e-2 both do worse. Worst
// measured over ISAs and thread counts 7.8e-4 of max|g|; the planted missing term gives 0.15.
#define FD_H 1e-2
#define FD_TOL 1e-2

static double fd_loss(void *p) {
  FdArg *f = p;
  memcpy(f->h, f->h0, sizeof(float) * f->hn);  // the same starting state every time
  memcpy(f->c, f->c0, sizeof(float) * f->hn);
  return lm_forward(f->ctx, f->m, f->a, f->x, f->y, f->T, f->h, f->c, 0, NULL);
}

static void finite_differences(Ctx *ctx, int tied) {
  LmConfig c = {.ntoken = 13, .emsize = tied ? 7 : 5, .nhid = 7, .nlayers = 2, .tied = tied};
  LmModel m;
  lm_model_build(&m, &c, NULL);
  Rng r;
  rng_init(&r, 99, 0);
  lm_init_weights(&m, &r);
  // Non-zero decoder bias and larger weights so every gradient is well away from zero.
  for (size_t i = 0; i < m.params.total; i++) m.params.data[i] *= 3.0f;
  fill_uniform(m.params.data + m.dec_b, (size_t)c.ntoken, -0.5f, 0.5f, 5);
  int T = 4, B = 3;
  int32_t tok[5 * 3];
  for (int i = 0; i < 15; i++) tok[i] = (int32_t)((i * 7 + 3) % c.ntoken);
  size_t hn = (size_t)c.nlayers * B * c.nhid;
  float *h0 = xmalloc_floats(hn), *c0 = xmalloc_floats(hn), *h = xmalloc_floats(hn), *cc = xmalloc_floats(hn);
  fill_uniform(h0, hn, -0.5f, 0.5f, 6);  // a carried state, as in the middle of an epoch
  fill_uniform(c0, hn, -0.5f, 0.5f, 7);
  LmActs a;
  lm_acts_alloc(&a, &m, T, B);
  FdArg f = {ctx, &m, &a, tok, tok + B, T, h0, c0, h, cc, hn};
  params_zero_grad(&m.params);
  fd_loss(&f);
  lm_backward(ctx, &m, &a, f.x, f.y, NULL);
  float *grad = xmalloc_floats(m.params.total);
  memcpy(grad, m.params.grad, sizeof(float) * m.params.total);
  for (int i = 0; i < m.params.n; i++) {
    const ParamInfo *pi = &m.params.info[i];
    char what[96];
    snprintf(what, sizeof what, "fd %s %s", tied ? "tied" : "untied", pi->name);
    gradcheck(what, fd_loss, &f, m.params.data + pi->offset, grad + pi->offset, pi->numel, FD_H,
              60, FD_TOL);
  }
  if (tied) {
    // A planted bug: the tied weight's gradient without the embedding's term (the decoder's
    // only), as if the two uses were not summed. The finite differences must reject it.
    size_t E = (size_t)c.emsize, where;
    for (int t = 0; t < T; t++)
      for (int b = 0; b < B; b++)
        for (size_t e = 0; e < E; e++)
          grad[m.enc_w + (size_t)f.x[t * B + b] * E + e] -= a.demb[((size_t)t * B + b) * E + e];
    double fd, worst = gradcheck_worst(fd_loss, &f, m.params.data + m.enc_w, grad + m.enc_w,
                                       (size_t)c.ntoken * E, FD_H, 60, &where, &fd);
    check_planted("fd tied encoder.weight without the embedding's term", worst, FD_TOL);
  }
  free(grad);
  free(h0);
  free(c0);
  free(h);
  free(cc);
  lm_acts_free(&a);
  lm_model_free(&m);
}

int main(void) {
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, 0);
  parity(&ctx, "tied");
  parity(&ctx, "untied");
  finite_differences(&ctx, 1);
  finite_differences(&ctx, 0);
  ctx_free(&ctx);
  return test_finish("lm");
}
