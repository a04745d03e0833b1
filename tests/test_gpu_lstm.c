// test_gpu_lstm.c (label gpu): lstm_forward and lstm_backward on CUDA against the CPU on random
// inputs, 1, 2 and 3 layers at odd sizes (several blocks per kernel), with and without initial
// and final-state gradients, a carried state updated in place, training with p = 0, evaluation
// with p > 0 (no dropout applied), and training with dropout between layers on a data-parallel
// rank's columns (the CUDA dropout draws the CPU's masks: compared exactly, with the streams'
// positions). Every output and the whole work buffer start as NaN on the device, so an
// element a kernel never writes (or reads before it is written) fails; the parameter gradients
// start from the same non-zero values on both sides, so a kernel that overwrites instead of
// accumulating fails.
// Bounds: testlib's rule with K as tests/test_lstm.c's (T steps of L cells, each a sum over
// in + H + 2 terms; the weight gradients add a sum over T * B positions); fp32 1e-5, TF32 2e-3.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gpulib.h"
#include "ops/lstm.h"
#include "testlib.h"

#define MAXL 3
static Ctx gpu, cpu;

typedef struct {
  LstmDims d;
  int state;    // h0, c0 given (else NULL)
  int dstate;   // dhn, dcn given (else NULL)
  int inplace;  // on the device hn = h0, cn = c0, dh0 = dhn, dc0 = dcn (needs state, dstate)
  int train;
  int tf32;
} Case;

static size_t pnumel(const LstmDims *d, int l, int k) {
  size_t H4 = 4 * (size_t)d->H, in = l == 0 ? d->I : d->H;
  return k == 0 ? H4 * in : k == 1 ? H4 * d->H : H4;
}

static float *up_or_null(const float *x, size_t n) { return x ? gpu_upload(&gpu, x, n) : NULL; }

static void run_case(const Case *cs, uint64_t seed) {
  const LstmDims *d = &cs->d;
  GENET_ASSERT(d->L <= MAXL && (!cs->inplace || (cs->state && cs->dstate)));
  const size_t TB = (size_t)d->T * d->B, TBH = TB * d->H, LBH = (size_t)d->L * d->B * d->H;
  const size_t TBI = TB * d->I, nwork = lstm_work_floats(d);
  char what_m[200];
  const int dropped = cs->train && d->p > 0.0f && d->L > 1;
  char tag[160], drop[64] = "";
  if (d->p > 0.0f)
    snprintf(drop, sizeof drop, " p %.1f cols [%d, %d) of %d", d->p, d->b0, d->b0 + d->B,
             d->Bg ? d->Bg : d->B);
  snprintf(tag, sizeof tag, "T%d B%d I%d H%d L%d%s%s%s%s%s %s", d->T, d->B, d->I, d->H, d->L,
           cs->state ? " h0,c0" : "", cs->dstate ? " dhn,dcn" : "", cs->inplace ? " in-place" : "",
           cs->train ? " train" : " eval", drop, cs->tf32 ? "tf32" : "fp32");
  // ---- inputs (host)
  float *x = uniform_floats(TBI, -1.5f, 1.5f, seed), *dout = uniform_floats(TBH, -1, 1, seed + 1);
  float *h0 = cs->state ? uniform_floats(LBH, -1, 1, seed + 2) : NULL;
  float *c0 = cs->state ? uniform_floats(LBH, -1, 1, seed + 3) : NULL;
  float *dhn = cs->dstate ? uniform_floats(LBH, -1, 1, seed + 4) : NULL;
  float *dcn = cs->dstate ? uniform_floats(LBH, -1, 1, seed + 5) : NULL;
  float *p[MAXL][4], *g0[MAXL][4], *g[MAXL][4], *dp[MAXL][4], *dg[MAXL][4];
  LstmLayer layers[MAXL], dlayers[MAXL];
  LstmLayerGrad grads[MAXL], dgrads[MAXL];
  for (int l = 0; l < d->L; l++) {
    for (int k = 0; k < 4; k++) {
      size_t n = pnumel(d, l, k);
      p[l][k] = uniform_floats(n, -0.7f, 0.7f, seed + 10 + 8 * l + k);
      g0[l][k] = uniform_floats(n, -0.5f, 0.5f, seed + 14 + 8 * l + k);
      g[l][k] = xmalloc(n * sizeof(float));
      memcpy(g[l][k], g0[l][k], n * sizeof(float));
      dp[l][k] = gpu_upload(&gpu, p[l][k], n);
      dg[l][k] = gpu_upload(&gpu, g0[l][k], n);
    }
    layers[l] = (LstmLayer){p[l][0], p[l][1], p[l][2], p[l][3]};
    grads[l] = (LstmLayerGrad){g[l][0], g[l][1], g[l][2], g[l][3]};
    dlayers[l] = (LstmLayer){dp[l][0], dp[l][1], dp[l][2], dp[l][3]};
    dgrads[l] = (LstmLayerGrad){dg[l][0], dg[l][1], dg[l][2], dg[l][3]};
  }
  // ---- the CPU
  float *out = xmalloc(TBH * 4), *hn = xmalloc(LBH * 4), *cn = xmalloc(LBH * 4);
  float *dx = xmalloc(TBI * 4), *dh0 = xmalloc(LBH * 4), *dc0 = xmalloc(LBH * 4);
  float *buf = xmalloc_floats(nwork);
  LstmWork w;
  lstm_work_point(&w, buf, d);
  Rng rc, rg;  // the same stream on both devices
  rng_init(&rc, seed, 3);
  rg = rc;
  lstm_forward(&cpu, out, hn, cn, &w, x, h0, c0, layers, d, cs->train, &rc);
  lstm_backward(&cpu, dx, dh0, dc0, grads, &w, dout, dhn, dcn, x, layers, d);
  // ---- the GPU: outputs and the work buffer NaN
  float *dX = gpu_upload(&gpu, x, TBI), *dDOUT = gpu_upload(&gpu, dout, TBH);
  float *dH0 = up_or_null(h0, LBH), *dC0 = up_or_null(c0, LBH);
  float *dDHN = up_or_null(dhn, LBH), *dDCN = up_or_null(dcn, LBH);
  float *dOUT = gpu_nan(&gpu, TBH), *dDX = gpu_nan(&gpu, TBI), *dBUF = gpu_nan(&gpu, nwork);
  float *dHN = cs->inplace ? dH0 : gpu_nan(&gpu, LBH);
  float *dCN = cs->inplace ? dC0 : gpu_nan(&gpu, LBH);
  float *dDH0 = cs->inplace ? dDHN : gpu_nan(&gpu, LBH);
  float *dDC0 = cs->inplace ? dDCN : gpu_nan(&gpu, LBH);
  LstmWork dw;
  lstm_work_point(&dw, dBUF, d);
  gpu_set_tf32(&gpu, cs->tf32);
  lstm_forward(&gpu, dOUT, dHN, dCN, &dw, dX, dH0, dC0, dlayers, d, cs->train, &rg);
  lstm_backward(&gpu, dDX, dDH0, dDC0, dgrads, &dw, dDOUT, dDHN, dDCN, dX, dlayers, d);
  gpu_set_tf32(&gpu, 0);
  test_check(dw.dropped == dropped && w.dropped == dropped, "%s: dropout %s on both devices", tag,
             dropped ? "applied" : "not applied");
  test_check(rg.counter == rc.counter && rg.pos == rc.pos,
             "%s: the Rng stream at the same position after forward on both devices", tag);
  // ---- compare
  if (dropped) {  // the masks: the same bits (0 or 1/(1-p)), whatever the precision
    size_t nm = (size_t)(d->L - 1) * TBH;
    float *gm = xmalloc(nm * sizeof(float));
    gpu_download(&gpu, gm, dw.mask, nm);
    snprintf(what_m, sizeof what_m, "%s dropout masks (exact)", tag);
    check_close(what_m, gm, w.mask, nm, 1, 0.0);
    free(gm);
  }
  const double rtol = cs->tf32 ? 2e-3 : 1e-5;
  const double Kf = (double)d->T * d->L * (d->I + d->H + 2), Kb = Kf + (double)TB;
  size_t most = TBI > TBH ? TBI : TBH;
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) most = pnumel(d, l, k) > most ? pnumel(d, l, k) : most;
  float *got = xmalloc(most * sizeof(float));
  char what[256];
#define CMP(dev, want, n, K, name)                                              \
  (gpu_download(&gpu, got, dev, n), snprintf(what, sizeof what, "%s %s", tag, name), \
   check_close(what, got, want, n, K, rtol))
  CMP(dOUT, out, TBH, Kf, "output");
  CMP(dHN, hn, LBH, Kf, cs->inplace ? "hn (in place over h0)" : "hn");
  CMP(dCN, cn, LBH, Kf, cs->inplace ? "cn (in place over c0)" : "cn");
  CMP(dDX, dx, TBI, Kb, "dx");
  CMP(dDH0, dh0, LBH, Kb, cs->inplace ? "dh0 (in place over dhn)" : "dh0");
  CMP(dDC0, dc0, LBH, Kb, cs->inplace ? "dc0 (in place over dcn)" : "dc0");
  static const char *PN[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) {
      char nm[64];
      snprintf(nm, sizeof nm, "d%s_l%d (accumulated onto non-zero)", PN[k], l);
      CMP(dg[l][k], g[l][k], pnumel(d, l, k), Kb, nm);
    }
#undef CMP
  // ---- free
  free(got);
  gpu_free(dX), gpu_free(dDOUT), gpu_free(dH0), gpu_free(dC0), gpu_free(dDHN), gpu_free(dDCN);
  gpu_free(dOUT), gpu_free(dDX), gpu_free(dBUF);
  if (!cs->inplace) gpu_free(dHN), gpu_free(dCN), gpu_free(dDH0), gpu_free(dDC0);
  for (int l = 0; l < d->L; l++)
    for (int k = 0; k < 4; k++) {
      free(p[l][k]), free(g0[l][k]), free(g[l][k]);
      gpu_free(dp[l][k]), gpu_free(dg[l][k]);
    }
  free(x), free(dout), free(h0), free(c0), free(dhn), free(dcn);
  free(out), free(hn), free(cn), free(dx), free(dh0), free(dc0), free(buf);
}

int main(void) {
  gpu_test_begin("gpu_lstm", &gpu, &cpu);
  // One layer with every state; two layers at sizes that give the cell kernels (B*H = 1540)
  // and the bias-gradient kernel (4H = 308 columns) several blocks; two layers carrying the
  // state in place, in evaluation with p > 0; three layers in training with p = 0.4, this
  // rank holding columns [2, 5) of 7.
  const Case cases[] = {
      {{6, 3, 7, 9, 1, 0.0f, 0, 0}, 1, 1, 0, 1, 0},
      {{5, 20, 11, 77, 2, 0.0f, 0, 0}, 0, 0, 0, 1, 0},
      {{4, 5, 6, 13, 2, 0.3f, 0, 0}, 1, 1, 1, 0, 0},
      {{6, 3, 4, 5, 3, 0.4f, 7, 2}, 1, 1, 0, 1, 0},
  };
  const int ncases = (int)(sizeof cases / sizeof cases[0]);
  for (int i = 0; i < ncases; i++) run_case(&cases[i], 100 + 50 * (uint64_t)i);
  for (int i = 0; i < ncases; i++) {  // the same with TF32 GEMMs
    Case c = cases[i];
    c.tf32 = 1;
    run_case(&c, 100 + 50 * (uint64_t)i);
  }
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_lstm");
}
