// test_transformer.c: fast neural style's TransformerNet (src/models/transformer_model.h) against
// PyTorch (tests/fixtures/transformer.h5, scripts/fixtures/fx_transformer.py): forward, the input
// gradient and every parameter gradient of sum(y * r), at width 2, batch 2, an 18 x 20 input
// (output 20 x 20), by testlib's rule with the chain's reduction length; the forward-only buffer
// layout (genet stylize's) gives the same bytes.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/transformer_model.h"
#include "testlib.h"

static Ctx ctx;

// The reduction length of the chain (testlib.c): each unit's forward (Cin K^2 products),
// backward to its input (Cout K^2), the weight gradient's and InstanceNorm's sums over positions.
static double net_K(const TransformerNet *n, const TransformerActs *a) {
  double K = 0;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    K += (double)u->K * u->K * (u->Cin + u->Cout) + (double)a->N * a->ho[i] * a->wo[i] +
         (u->norm ? 2.0 * a->ho[i] * a->wo[i] : 0);
  }
  return K;
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "transformer.h5");
  int width = (int)fx_attr_int(&fx, "net", "width"), N = (int)fx_attr_int(&fx, "net", "N");
  int H = (int)fx_attr_int(&fx, "net", "H"), W = (int)fx_attr_int(&fx, "net", "W");
  TransformerNet net;
  transformer_build(&net, width, NULL);
  int nt = fx_read_params(&fx, "net/init", &net.params);
  test_check(nt == 16 * 4 - 2, "%d tensors under the reference's state_dict names", nt);
  TransformerActs a;
  transformer_acts_alloc(&a, &net, N, H, W);
  size_t nx, ny, nr;
  float *x = fx_read(&fx, "net/x", NULL, NULL, &nx);
  float *want_y = fx_read(&fx, "net/y", NULL, NULL, &ny);
  float *r = fx_read(&fx, "net/r", NULL, NULL, &nr);
  float *want_dx = fx_read(&fx, "net/dx", NULL, NULL, NULL);
  int ho = transformer_out_size(H), wo = transformer_out_size(W);
  test_check(nx == (size_t)N * 3 * H * W && ny == (size_t)N * 3 * ho * wo && a.ho[15] == ho &&
                 a.wo[15] == wo,
             "output %d x %d for input %d x %d, as PyTorch", a.ho[15], a.wo[15], H, W);
  double K = net_K(&net, &a);
  const float *y = transformer_forward(&ctx, &net, &a, x);
  check_close("forward y", y, want_y, ny, K, RTOL_F32);
  float *dx = xmalloc_floats(nx);
  params_zero_grad(&net.params);
  transformer_backward(&ctx, &net, &a, r, dx, NULL);
  check_close("dx", dx, want_dx, nx, K, RTOL_F32);
  // Parameter gradients, unit by unit. A conv bias before an InstanceNorm, and the bias of a
  // residual block's second norm (every reader of the residual stream is a conv on reflection
  // padding then a norm, blind to a per-channel constant), have a gradient of exactly zero:
  // what genet computes there is the rounding of a sum of the upstream gradient, so those
  // tensors (max|want| < 1e-12) are judged by the same rule with max|want| taken over the
  // unit's four gradients: |got| <= rtol sqrt(K) max_unit|want|.
  for (int u = 0; u < TRANSFORMER_UNITS; u++) {
    const TransformerUnit *U = &net.unit[u];
    size_t offs[4] = {U->w, U->b, U->nw, U->nb};
    int nten = U->norm ? 4 : 2;
    float *want[4];
    size_t n[4];
    const ParamInfo *pi[4];
    double unit_max = 0;
    for (int j = 0; j < nten; j++) {
      pi[j] = NULL;
      for (int i = 0; i < net.params.n; i++)
        if (net.params.info[i].offset == offs[j]) pi[j] = &net.params.info[i];
      GENET_ASSERT(pi[j]);
      char k[160];
      snprintf(k, sizeof k, "net/grad/%s", pi[j]->name);
      want[j] = fx_read(&fx, k, NULL, NULL, &n[j]);
      for (size_t e = 0; e < n[j]; e++) unit_max = fabs(want[j][e]) > unit_max ? fabs(want[j][e]) : unit_max;
    }
    for (int j = 0; j < nten; j++) {
      char what[200];
      snprintf(what, sizeof what, "grad %s", pi[j]->name);
      const float *got = net.params.grad + pi[j]->offset;
      double m = 0, g = 0;
      for (size_t e = 0; e < n[j]; e++) m = fabs(want[j][e]) > m ? fabs(want[j][e]) : m;
      if (m >= 1e-12) {
        check_close(what, got, want[j], n[j], K, RTOL_F32);
      } else {
        for (size_t e = 0; e < n[j]; e++) g = fabs(got[e]) > g ? fabs(got[e]) : g;
        double bound = RTOL_F32 * sqrt(K) * unit_max;
        test_check(g <= bound, "%-40s zero in PyTorch: max|got| %.3g <= rtol sqrt(K) max_unit|want| = %.3g", what, g, bound);
      }
    }
    for (int j = 0; j < nten; j++) free(want[j]);
  }
  // A second forward on the same buffers gives the same bytes (no state carried between passes).
  float *y1 = copy_floats(y, ny);
  y = transformer_forward(&ctx, &net, &a, x);
  test_check(!memcmp(y, y1, ny * sizeof(float)), "second forward identical");
  // genet stylize's layout (buffers shared by the units, outputs in three rotating ones): the
  // same bytes as the training layout's forward.
  TransformerActs af;
  transformer_acts_alloc_forward(&af, &net, N, H, W);
  const float *yf = transformer_forward(&ctx, &net, &af, x);
  test_check(af.ho[15] == ho && af.wo[15] == wo && !memcmp(yf, y1, ny * sizeof(float)),
             "forward-only buffers: forward identical");
  transformer_acts_free(&af);
  free(y1);
  free(x), free(want_y), free(r), free(want_dx), free(dx);
  transformer_acts_free(&a);
  transformer_free(&net);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("transformer");
}
