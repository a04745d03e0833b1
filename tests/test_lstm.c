// test_lstm.c: nn.LSTM parity (1, 2 and 3 layers; output, final states and every gradient),
// finite differences on every input and parameter, and dropout between layers: the masks
// must be applied consistently in forward and backward (gradcheck with the same Rng state for
// every loss evaluation, and a rebuild from single-layer LSTMs with the saved masks).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fastmath.h"
#include "ops/lstm.h"
#include "testlib.h"
#include "core/util.h"

#define MAXL 4
static Ctx ctx;
// Finite differences (testlib.c): rounding noise ~1e-7 / h against truncation ~h^2; h = 2e-2
// balances them. Worst measured over SSE4.1/AVX2/AVX-512 and 1/3 threads 9.6e-4 of max|g|; a
// missing term or other dropout masks give 0.26 or more.
#define GC_EPS 2e-2
#define GC_TOL 1e-2
static const char *PNAME[4] = {"weight_ih_l%d", "weight_hh_l%d", "bias_ih_l%d", "bias_hh_l%d"};

typedef struct {
  LstmDims d;
  float *x, *h0, *c0;              // (T,B,I), (L,B,H), (L,B,H)
  float *p[MAXL][4];               // w_ih, w_hh, b_ih, b_hh of each layer
  float *g[MAXL][4];               // their gradients
  LstmLayer layers[MAXL];
  LstmLayerGrad grads[MAXL];
  float *dout, *dhn, *dcn;         // upstream; dhn/dcn NULL = zero
  float *out, *hn, *cn, *dx, *dh0, *dc0;
  float *buf;
  LstmWork w;
  int train;
  Rng rng0;                        // every forward starts from this state
} Net;

static size_t pnumel(const LstmDims *d, int l, int k) {
  size_t H4 = 4 * (size_t)d->H, in = l == 0 ? d->I : d->H;
  return k == 0 ? H4 * in : k == 1 ? H4 * d->H : H4;
}

static void net_alloc(Net *n, const LstmDims *d) {
  memset(n, 0, sizeof *n);
  n->d = *d;
  size_t TB = (size_t)d->T * d->B, LBH = (size_t)d->L * d->B * d->H;
  n->out = calloc(TB * d->H, 4); n->hn = calloc(LBH, 4); n->cn = calloc(LBH, 4);
  n->dx = calloc(TB * d->I, 4); n->dh0 = calloc(LBH, 4); n->dc0 = calloc(LBH, 4);
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) n->g[l][k] = calloc(pnumel(d, l, k), 4);
  n->buf = xmalloc_floats(lstm_work_floats(d));
  lstm_work_point(&n->w, n->buf, d);
}

static void net_link(Net *n) {
  for (int l = 0; l < n->d.L; l++) {
    n->layers[l] = (LstmLayer){n->p[l][0], n->p[l][1], n->p[l][2], n->p[l][3]};
    n->grads[l] = (LstmLayerGrad){n->g[l][0], n->g[l][1], n->g[l][2], n->g[l][3]};
  }
}

static void net_free(Net *n) {
  free(n->x); free(n->h0); free(n->c0); free(n->dout); free(n->dhn); free(n->dcn);
  free(n->out); free(n->hn); free(n->cn); free(n->dx); free(n->dh0); free(n->dc0); free(n->buf);
  for (int l = 0; l < n->d.L; l++)
    for (int k = 0; k < 4; k++) { free(n->p[l][k]); free(n->g[l][k]); }
}

static void net_forward(Net *n) {
  Rng r = n->rng0;
  lstm_forward(&ctx, n->out, n->hn, n->cn, &n->w, n->x, n->h0, n->c0, n->layers, &n->d,
               n->train, &r);
}

static double net_loss(void *arg) {
  Net *n = arg;
  net_forward(n);
  size_t LBH = (size_t)n->d.L * n->d.B * n->d.H;
  double s = dot_d(n->out, n->dout, (size_t)n->d.T * n->d.B * n->d.H);
  if (n->dhn) s += dot_d(n->hn, n->dhn, LBH);
  if (n->dcn) s += dot_d(n->cn, n->dcn, LBH);
  return s;
}

// Forward and backward; parameter gradients start from `g0` everywhere (to see accumulation).
static void net_grads(Net *n, float g0) {
  for (int l = 0; l < n->d.L; l++)
    for (int k = 0; k < 4; k++)
      for (size_t i = 0; i < pnumel(&n->d, l, k); i++) n->g[l][k][i] = g0;
  net_forward(n);
  lstm_backward(&ctx, n->dx, n->dh0, n->dc0, n->grads, &n->w, n->dout, n->dhn, n->dcn, n->x,
                n->layers, &n->d);
  if (g0 != 0.0f)
    for (int l = 0; l < n->d.L; l++)
      for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < pnumel(&n->d, l, k); i++) n->g[l][k][i] -= g0;
}

static void net_gradcheck(Net *n, const char *tag, double eps, double tol) {
  char what[128];
  const LstmDims *d = &n->d;
  size_t LBH = (size_t)d->L * d->B * d->H;
  net_grads(n, 0.0f);
  snprintf(what, sizeof what, "%s dL/dx", tag);
  gradcheck(what, net_loss, n, n->x, n->dx, (size_t)d->T * d->B * d->I, eps, 80, tol);
  snprintf(what, sizeof what, "%s dL/dh0", tag);
  gradcheck(what, net_loss, n, n->h0, n->dh0, LBH, eps, 80, tol);
  snprintf(what, sizeof what, "%s dL/dc0", tag);
  gradcheck(what, net_loss, n, n->c0, n->dc0, LBH, eps, 80, tol);
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) {
      char nm[32];
      snprintf(nm, sizeof nm, PNAME[k], l);
      snprintf(what, sizeof what, "%s dL/d%s", tag, nm);
      gradcheck(what, net_loss, n, n->p[l][k], n->g[l][k], pnumel(d, l, k), eps, 60, tol);
    }
}

static void fixture_case(Fixture *fx, int c) {
  char grp[64], k[128], what[256], tag[64];
  snprintf(grp, sizeof grp, "lstm/case%d", c);
  LstmDims d = {(int)fx_attr_int(fx, grp, "T"), (int)fx_attr_int(fx, grp, "B"),
                (int)fx_attr_int(fx, grp, "I"), (int)fx_attr_int(fx, grp, "H"),
                (int)fx_attr_int(fx, grp, "L"), 0.0f, 0, 0};
  int ds = (int)fx_attr_int(fx, grp, "has_dstate");
  GENET_ASSERT(d.L <= MAXL);
  snprintf(tag, sizeof tag, "T%d B%d I%d H%d L%d%s", d.T, d.B, d.I, d.H, d.L, ds ? " dhn,dcn" : "");
#define RD(name) (snprintf(k, sizeof k, "%s/%s", grp, name), fx_read(fx, k, NULL, NULL, NULL))
  Net n;
  net_alloc(&n, &d);
  n.x = RD("x"); n.h0 = RD("h0"); n.c0 = RD("c0"); n.dout = RD("dout");
  if (ds) { n.dhn = RD("dhn"); n.dcn = RD("dcn"); }
  float *want_g[MAXL][4];
  for (int l = 0; l < d.L; l++)
    for (int q = 0; q < 4; q++) {
      char nm[32], dnm[40];
      snprintf(nm, sizeof nm, PNAME[q], l);
      snprintf(dnm, sizeof dnm, "d%s", nm);
      n.p[l][q] = RD(nm);
      want_g[l][q] = RD(dnm);
    }
  net_link(&n);
  float *out = RD("out"), *hn = RD("hn"), *cn = RD("cn"), *dx = RD("dx"), *dh0 = RD("dh0"),
        *dc0 = RD("dc0");
  size_t TBH = (size_t)d.T * d.B * d.H, LBH = (size_t)d.L * d.B * d.H;
  // K (testlib.c): T steps of L cells, each a sum over I (or H) inputs, H recurrent ones and
  // two biases; the weight gradients add a sum over the T * B positions.
  double K = (double)d.T * d.L * (d.I + d.H + 2) + (double)d.T * d.B;
  net_grads(&n, 0.015625f);  // gradients accumulate onto 1/64 (small: the subtraction stays exact)
#define CMP(got, want, cnt, name)                          \
  (snprintf(what, sizeof what, "%s %s", tag, name), check_close(what, got, want, cnt, K, RTOL_F32))
  CMP(n.out, out, TBH, "output");
  CMP(n.hn, hn, LBH, "hn");
  CMP(n.cn, cn, LBH, "cn");
  CMP(n.dx, dx, (size_t)d.T * d.B * d.I, "dx");
  CMP(n.dh0, dh0, LBH, "dh0");
  CMP(n.dc0, dc0, LBH, "dc0");
  for (int l = 0; l < d.L; l++)
    for (int q = 0; q < 4; q++) {
      char nm[32], dnm[64];
      snprintf(nm, sizeof nm, PNAME[q], l);
      snprintf(dnm, sizeof dnm, "d%s (accumulated)", nm);
      CMP(n.g[l][q], want_g[l][q], pnumel(&d, l, q), dnm);
      free(want_g[l][q]);
    }
  // Optional outputs may be skipped: hn/cn, dx, dh0, dc0 NULL leave the rest unchanged.
  float *gsave = malloc(pnumel(&d, d.L - 1, 0) * 4);
  memcpy(gsave, n.g[d.L - 1][0], pnumel(&d, d.L - 1, 0) * 4);
  for (int l = 0; l < d.L; l++)
    for (int q = 0; q < 4; q++) memset(n.g[l][q], 0, pnumel(&d, l, q) * 4);
  memset(n.out, 0, TBH * 4);
  lstm_forward(&ctx, n.out, NULL, NULL, &n.w, n.x, n.h0, n.c0, n.layers, &d, 0, NULL);
  lstm_backward(&ctx, NULL, NULL, NULL, n.grads, &n.w, n.dout, n.dhn, n.dcn, n.x, n.layers, &d);
  CMP(n.out, out, TBH, "output (no hn/cn)");
  CMP(n.g[d.L - 1][0], gsave, pnumel(&d, d.L - 1, 0), "top dweight_ih (dx/dh0/dc0 NULL)");
  free(gsave);
  // A carried state updated in place (hn = h0, cn = c0), and dh0 = dhn, dc0 = dcn likewise.
  float *hs = malloc(LBH * 4), *cs = malloc(LBH * 4);
  float *dhs = malloc(LBH * 4), *dcs = malloc(LBH * 4);
  memcpy(hs, n.h0, LBH * 4);
  memcpy(cs, n.c0, LBH * 4);
  for (size_t i = 0; i < LBH; i++) {
    dhs[i] = n.dhn ? n.dhn[i] : 0.0f;
    dcs[i] = n.dcn ? n.dcn[i] : 0.0f;
  }
  lstm_forward(&ctx, n.out, hs, cs, &n.w, n.x, hs, cs, n.layers, &d, 0, NULL);
  lstm_backward(&ctx, NULL, dhs, dcs, n.grads, &n.w, n.dout, dhs, dcs, n.x, n.layers, &d);
  CMP(n.out, out, TBH, "output (hn = h0, cn = c0 in place)");
  CMP(hs, hn, LBH, "hn (in place over h0)");
  CMP(cs, cn, LBH, "cn (in place over c0)");
  CMP(dhs, dh0, LBH, "dh0 (in place over dhn)");
  CMP(dcs, dc0, LBH, "dc0 (in place over dcn)");
  free(hs); free(cs); free(dhs); free(dcs);
#undef CMP
#undef RD
  net_gradcheck(&n, tag, GC_EPS, GC_TOL);
  if (ds) {
    // A planted bug: backward without the upstream gradient of the final cell state (a missing
    // term, as if dcn were dropped), against the loss that has it. Both checks must reject it.
    float *keep = n.dcn;
    n.dcn = NULL;
    net_grads(&n, 0.0f);
    n.dcn = keep;
    size_t nx = (size_t)d.T * d.B * d.I, where;
    double fd;
    snprintf(what, sizeof what, "%s dx without the dcn term: fixture check", tag);
    check_planted(what, close_err(n.dx, dx, nx, K, NULL), RTOL_F32);
    snprintf(what, sizeof what, "%s dx without the dcn term: finite differences", tag);
    check_planted(what, gradcheck_worst(net_loss, &n, n.x, n.dx, nx, GC_EPS, 80, &where, &fd),
                  GC_TOL);
  }
  free(out); free(hn); free(cn); free(dx); free(dh0); free(dc0);
  net_free(&n);
}

static void net_random(Net *n, const LstmDims *d, uint64_t seed) {
  net_alloc(n, d);
  size_t TB = (size_t)d->T * d->B, LBH = (size_t)d->L * d->B * d->H;
  n->x = malloc(TB * d->I * 4); fill_uniform(n->x, TB * d->I, -1.5f, 1.5f, seed);
  n->h0 = malloc(LBH * 4); fill_uniform(n->h0, LBH, -1, 1, seed + 1);
  n->c0 = malloc(LBH * 4); fill_uniform(n->c0, LBH, -1, 1, seed + 2);
  n->dout = malloc(TB * d->H * 4); fill_uniform(n->dout, TB * d->H, -1, 1, seed + 3);
  n->dhn = malloc(LBH * 4); fill_uniform(n->dhn, LBH, -1, 1, seed + 4);
  n->dcn = malloc(LBH * 4); fill_uniform(n->dcn, LBH, -1, 1, seed + 5);
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) {
      n->p[l][k] = malloc(pnumel(d, l, k) * 4);
      fill_uniform(n->p[l][k], pnumel(d, l, k), -0.7f, 0.7f, seed + 10 + 4 * l + k);
    }
  net_link(n);
}

// Dropout between layers: consistency of forward and backward masks, and the masks themselves.
static void dropout_case(void) {
  LstmDims d = {6, 3, 4, 5, 3, 0.4f, 0, 0};
  Net n;
  net_random(&n, &d, 100);
  n.train = 1;
  rng_init(&n.rng0, 7, 3);
  net_forward(&n);
  size_t TBH = (size_t)d.T * d.B * d.H, BH = (size_t)d.B * d.H, zeros = 0;
  int values_ok = n.w.dropped;
  for (size_t i = 0; i < (size_t)(d.L - 1) * TBH; i++) {
    float m = n.w.mask[i];
    zeros += m == 0.0f;
    values_ok &= m == 0.0f || m == 1.0f / (1.0f - d.p);
  }
  test_check(values_ok && zeros > 0 && zeros < (size_t)(d.L - 1) * TBH,
             "dropout masks hold 0 or 1/(1-p) (%zu of %zu dropped, p = 0.4)", zeros,
             (size_t)(d.L - 1) * TBH);
  // Rebuild: single-layer LSTMs chained by hand with the saved masks give the same output.
  float *masks = malloc((size_t)(d.L - 1) * TBH * 4), *want = malloc(TBH * 4);
  memcpy(masks, n.w.mask, (size_t)(d.L - 1) * TBH * 4);
  memcpy(want, n.out, TBH * 4);
  float *cur = malloc(TBH * 4), *nxt = malloc(TBH * 4);
  float *buf = NULL;
  const float *in = n.x;
  for (int l = 0; l < d.L; l++) {
    LstmDims d1 = {d.T, d.B, l == 0 ? d.I : d.H, d.H, 1, 0.0f, 0, 0};
    LstmWork w1;
    buf = xmalloc_floats(lstm_work_floats(&d1));
    lstm_work_point(&w1, buf, &d1);
    lstm_forward(&ctx, nxt, NULL, NULL, &w1, in, n.h0 + l * BH, n.c0 + l * BH, &n.layers[l], &d1,
                 1, NULL);
    free(buf);
    if (l < d.L - 1)
      for (size_t i = 0; i < TBH; i++) cur[i] = nxt[i] * masks[(size_t)l * TBH + i];
    in = cur;
  }
  check_close("3-layer dropout output == single layers chained with the saved masks", nxt, want,
              TBH, (double)d.T * d.L * (d.I + d.H + 2), RTOL_F32);
  // Evaluation ignores p: the same as p = 0.
  LstmDims d0 = d;
  d0.p = 0.0f;
  n.train = 0;
  net_forward(&n);
  memcpy(want, n.out, TBH * 4);
  n.d = d0;
  n.train = 1;
  net_forward(&n);
  n.d = d;
  check_close("eval with p = 0.4 equals train with p = 0", want, n.out, TBH, 1, 0.0);
  // The stream advances by one reservation per masked layer.
  Rng r = n.rng0, r2 = n.rng0;
  n.train = 1;
  lstm_forward(&ctx, n.out, n.hn, n.cn, &n.w, n.x, n.h0, n.c0, n.layers, &d, 1, &r);
  for (int l = 0; l < d.L - 1; l++) rng_reserve(&r2, TBH);
  test_check(r.counter == r2.counter, "rng advanced by (L-1) reservations of T*B*H words");
  net_gradcheck(&n, "dropout 0.4 T6 B3 I4 H5 L3", GC_EPS, GC_TOL);
  // Masks from another stream in backward than in the loss: the check must fail loudly.
  Rng keep = n.rng0;
  rng_init(&n.rng0, 8, 3);
  net_grads(&n, 0.0f);
  n.rng0 = keep;
  size_t where;
  double fd;
  double e =
      gradcheck_worst(net_loss, &n, n.x, n.dx, (size_t)d.T * d.B * d.I, GC_EPS, 80, &where, &fd);
  check_planted("dx from other dropout masks: finite differences", e, GC_TOL);
  free(masks); free(want); free(cur); free(nxt);
  net_free(&n);
}

// The cell's activations (src/base/fastmath.h) against double libm over the range gates see.
static void activation_sweep(void) {
  double ws = 0, wt = 0, as = 0, at = 0;
  for (double v = -30.0; v <= 30.0; v += 3.1e-5) {
    float x = (float)v;
    double s = 1.0 / (1.0 + exp(-(double)x)), t = tanh((double)x);
    double es = fabs(fastmath_sigmoid(x) - s) / s, et = fabs(fastmath_tanh(x) - t) / fabs(t);
    if (es > ws) { ws = es; as = x; }
    if (x != 0.0f && et > wt) { wt = et; at = x; }
  }
  test_check(ws < 5e-7, "fastmath_sigmoid on [-30, 30]: worst rel err %.2e at %.5f (bound 5e-7)",
             ws, as);
  test_check(wt < 5e-7, "fastmath_tanh on [-30, 30]: worst rel err %.2e at %.5f (bound 5e-7)", wt,
             at);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  activation_sweep();
  Fixture fx;
  fx_open(&fx, "lstm.h5");
  for (int c = 0; c < 5; c++) fixture_case(&fx, c);
  fx_close(&fx);
  dropout_case();
  ctx_free(&ctx);
  return test_finish("lstm");
}
