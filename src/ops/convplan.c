// convplan.c: convolution and deconvolution on oneDNN primitives, created once per shape.
//
// Layouts: every primitive is created with dnnl_format_tag_any for activations and weights,
// so oneDNN picks its fastest (blocked, e.g. nChw16c / OIhw16i16o on AVX-512) layouts. The
// caller's NCHW / PyTorch-weight buffers are reordered into the plan's scratch buffers on the
// way in and back on the way out (arg_in / arg_out below: the only places layouts change).
// When oneDNN picks the caller's own layout (e.g. nchw for a 3-channel input) the caller's
// buffer is used directly, with no copy.
#include "ops/convplan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/dnnl_util.h"
#include "core/primcache.h"
#include "core/util.h"

typedef struct {
  float *p;
  size_t bytes;
} Scratch;

typedef struct {
  ConvShape s;
  dnnl_memory_desc_t x_md, w_md, b_md, y_md;  // the caller's layouts
  // Index [bias]: with and without a bias. fwd_pd[0] and fwd[0] belong to the cache entry
  // (the hint for the backward primitives); the rest are created when first needed, so a
  // shape used with a bias forward and a frozen-weight backward shares one plan.
  dnnl_primitive_desc_t fwd_pd[2], bwd_w_pd[2], bwd_d_pd;
  dnnl_primitive_t fwd[2], bwd_w[2], bwd_d;
  dnnl_primitive_desc_t dw_acc_pd[2];         // reorder diff weights -> dw with dw += ...
  dnnl_primitive_t dw_acc[2];
  struct ConvScratch *sc;  // the context's, shared with its other plans
} ConvPlan;

// The scratch buffers of one call: every call fills what it reads, so one set per context
// serves all its plans (ops on a context run one at a time), sized by the largest shape. Kept
// per plan, they summed to about a second copy of a network's activations (VGG19 at 512 px:
// some 400 MB).
typedef struct ConvScratch {
  Scratch xs;   // src (forward, backward weights) or diff_src (backward data)
  Scratch ys;   // dst (forward) or diff_dst (backward)
  Scratch ys2;  // diff_dst again when backward data wants another layout than backward weights
  Scratch ws;   // weights in the forward or backward-data layout
  Scratch dws;  // diff weights in the backward-weights layout
  Scratch dbs;  // (Cout) diff bias
} ConvScratch;

static void scratch_fit(Scratch *s, size_t bytes) {
  if (s->bytes >= bytes) return;
  free(s->p);
  s->p = xmalloc_floats((bytes + sizeof(float) - 1) / sizeof(float));
  s->bytes = bytes;
}

static void plan_free(void *aux) {
  ConvPlan *p = aux;
  dnnl_primitive_t prims[] = {p->fwd[1], p->bwd_w[0], p->bwd_w[1], p->bwd_d, p->dw_acc[0],
                              p->dw_acc[1]};
  dnnl_primitive_desc_t pds[] = {p->fwd_pd[1], p->bwd_w_pd[0], p->bwd_w_pd[1], p->bwd_d_pd,
                                 p->dw_acc_pd[0], p->dw_acc_pd[1]};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
    if (prims[i]) dnnl_primitive_destroy(prims[i]);
    if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
  }
  free(p);
}

static void scratch_free(void *aux) {
  ConvScratch *sc = aux;
  Scratch *all[] = {&sc->xs, &sc->ys, &sc->ys2, &sc->ws, &sc->dws, &sc->dbs};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->p);
  free(sc);
}

static ConvScratch *scratch_get(Ctx *ctx) {
  int key[1] = {0xC0AF};
  PrimEntry *e = primcache_find(ctx->prims, key, 1);
  if (e) return e->aux;
  e = primcache_add_aux(ctx->prims, key, 1);
  e->aux = xcalloc(1, sizeof(ConvScratch));
  e->aux_free = scratch_free;
  return e->aux;
}

static dnnl_memory_desc_t any_md(int ndims, const dnnl_dim_t *dims) {
  return dn_md(ndims, dims, dnnl_format_tag_any);
}

// The operation descriptors; conv and deconv take the same arguments in oneDNN.
typedef struct {
  dnnl_memory_desc_t x, w, b, y;  // format any (b plain)
  dnnl_dims_t strides, pad_l, pad_r;
  dnnl_alg_kind_t alg;
} OpDescs;

static OpDescs op_descs(const ConvShape *s) {
  OpDescs o;
  o.x = any_md(4, (dnnl_dim_t[]){s->N, s->Cin, s->H, s->W});
  o.w = any_md(4, (dnnl_dim_t[]){s->Cout, s->Cin, s->K, s->K});
  o.b = dn_md(1, (dnnl_dim_t[]){s->Cout}, dnnl_x);
  o.y = any_md(4, (dnnl_dim_t[]){s->N, s->Cout, s->Ho, s->Wo});
  // Symmetric padding as PyTorch; oneDNN checks the output size with the same floor division.
  o.strides[0] = o.strides[1] = s->stride;
  o.pad_l[0] = o.pad_l[1] = o.pad_r[0] = o.pad_r[1] = s->pad;
  o.alg = s->kind == CONVPLAN_CONV ? dnnl_convolution_direct : dnnl_deconvolution_direct;
  return o;
}

static dnnl_primitive_desc_t make_pd(Ctx *ctx, const dnnl_convolution_desc_t *d,
                                     const_dnnl_primitive_desc_t hint) {
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, d, NULL, ctx->engine, hint));
  return pd;
}

// The forward's primitive: with the shape's (leaky) ReLU as an eltwise post-op when it has one.
static dnnl_primitive_desc_t make_fwd_pd_attr(Ctx *ctx, const dnnl_convolution_desc_t *d,
                                              const ConvShape *s) {
  if (!s->relu) return make_pd(ctx, d, NULL);
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
  DNNL_CHECK(dnnl_primitive_attr_create(&attr));
  DNNL_CHECK(dnnl_post_ops_create(&po));
  DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, s->slope, 0.0f));
  DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, d, attr, ctx->engine, NULL));
  dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
  return pd;
}

static dnnl_primitive_desc_t make_fwd_pd(Ctx *ctx, const ConvShape *s, int bias) {
  OpDescs o = op_descs(s);
  dnnl_convolution_desc_t d;
  if (s->kind == CONVPLAN_CONV)
    DNNL_CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, o.alg, &o.x, &o.w,
                                                  bias ? &o.b : NULL, &o.y, o.strides, o.pad_l,
                                                  o.pad_r));
  else
    DNNL_CHECK(dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_training, o.alg, &o.x,
                                                    &o.w, bias ? &o.b : NULL, &o.y, o.strides,
                                                    o.pad_l, o.pad_r));
  return make_fwd_pd_attr(ctx, &d, s);
}

// The caller's activation layout: blk 0 NCHW, else nChw{blk}c.
static dnnl_format_tag_t act_tag(int blk, int C) {
  GENET_ASSERT(blk == 0 || ((blk == 8 || blk == 16) && C % blk == 0));
  return blk == 16 ? dnnl_aBcd16b : blk == 8 ? dnnl_aBcd8b : dnnl_nchw;
}

static int convplan_block_cpu(Ctx *ctx) {
  int key[1] = {0xC0B1};
  PrimEntry *e = primcache_find(ctx->prims, key, 1);
  if (e) return (int)(intptr_t)e->aux;
  // A mid-network shape (64 -> 64 channels, 3x3 on 16x16): the layout oneDNN picks there is
  // the one it picks for every layer whose channels are a multiple of the block.
  ConvShape s = {CONVPLAN_CONV, 8, 64, 16, 16, 64, 16, 16, 3, 1, 1, 0, 0, 0, 0.0f};
  dnnl_primitive_desc_t pd = make_fwd_pd(ctx, &s, 0);
  const dnnl_memory_desc_t *dst = dn_pd_md(pd, dnnl_query_dst_md);
  int blk = 0;
  for (int b = 16; b >= 8; b /= 2) {
    dnnl_memory_desc_t m = dn_md(4, (dnnl_dim_t[]){8, 64, 16, 16}, act_tag(b, 64));
    if (dnnl_memory_desc_equal(&m, dst)) blk = b;
  }
  dnnl_primitive_desc_destroy(pd);
  e = primcache_add_aux(ctx->prims, key, 1);
  e->aux = (void *)(intptr_t)blk;
  return blk;
}

static ConvPlan *plan_get(Ctx *ctx, const ConvShape *s) {
  int slope_bits;
  memcpy(&slope_bits, &s->slope, sizeof slope_bits);
  int key[12] = {0xC0A0 + s->kind, s->N, s->Cin, s->H, s->W, s->Cout, s->Ho, s->K, s->stride,
                 s->pad, (s->xblk * 256 + s->yblk) * 2 + (s->relu != 0), s->relu ? slope_bits : 0};
  PrimEntry *e = primcache_find(ctx->prims, key, 12);
  if (e) return e->aux;
  e = primcache_add(ctx->prims, key, 12, make_fwd_pd(ctx, s, 0));
  ConvPlan *p = xcalloc(1, sizeof(ConvPlan));
  p->s = *s;
  p->sc = scratch_get(ctx);
  p->x_md = dn_md(4, (dnnl_dim_t[]){s->N, s->Cin, s->H, s->W}, act_tag(s->xblk, s->Cin));
  // PyTorch's conv weight (Cout, Cin, K, K) is oihw; its transposed-conv weight
  // (Cin, Cout, K, K) is, in oneDNN's (out, in) naming, iohw.
  p->w_md = dn_md(4, (dnnl_dim_t[]){s->Cout, s->Cin, s->K, s->K},
                  s->kind == CONVPLAN_CONV ? dnnl_oihw : dnnl_iohw);
  p->b_md = dn_md(1, (dnnl_dim_t[]){s->Cout}, dnnl_x);
  p->y_md = dn_md(4, (dnnl_dim_t[]){s->N, s->Cout, s->Ho, s->Wo}, act_tag(s->yblk, s->Cout));
  p->fwd_pd[0] = e->pd;
  p->fwd[0] = e->prim;
  e->aux = p;
  e->aux_free = plan_free;
  return p;
}

static void plan_make_fwd_bias(Ctx *ctx, ConvPlan *p) {
  p->fwd_pd[1] = make_fwd_pd(ctx, &p->s, 1);
  DNNL_CHECK(dnnl_primitive_create(&p->fwd[1], p->fwd_pd[1]));
}

static void plan_make_bwd_data(Ctx *ctx, ConvPlan *p) {
  OpDescs o = op_descs(&p->s);
  // A few input channels (RGB images): oneDNN's choice for diff_src pads them to a 16-wide
  // block, 5x the work for Cin = 3; plain NCHW runs the same gradient 2-3x faster.
  if (p->s.Cin < 16) o.x = dn_md(4, (dnnl_dim_t[]){p->s.N, p->s.Cin, p->s.H, p->s.W}, dnnl_nchw);
  dnnl_convolution_desc_t d;
  if (p->s.kind == CONVPLAN_CONV)
    DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&d, o.alg, &o.x, &o.w, &o.y, o.strides,
                                                        o.pad_l, o.pad_r));
  else
    DNNL_CHECK(dnnl_deconvolution_backward_data_desc_init(&d, o.alg, &o.x, &o.w, &o.y,
                                                          o.strides, o.pad_l, o.pad_r));
  p->bwd_d_pd = make_pd(ctx, &d, p->fwd_pd[0]);
  DNNL_CHECK(dnnl_primitive_create(&p->bwd_d, p->bwd_d_pd));
}

static void plan_make_bwd_weights(Ctx *ctx, ConvPlan *p, int bias) {
  OpDescs o = op_descs(&p->s);
  dnnl_convolution_desc_t d;
  if (p->s.kind == CONVPLAN_CONV)
    DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(
        &d, o.alg, &o.x, &o.w, bias ? &o.b : NULL, &o.y, o.strides, o.pad_l, o.pad_r));
  else
    DNNL_CHECK(dnnl_deconvolution_backward_weights_desc_init(
        &d, o.alg, &o.x, &o.w, bias ? &o.b : NULL, &o.y, o.strides, o.pad_l, o.pad_r));
  p->bwd_w_pd[bias] = make_pd(ctx, &d, p->fwd_pd[0]);
  DNNL_CHECK(dnnl_primitive_create(&p->bwd_w[bias], p->bwd_w_pd[bias]));
  // dw += diff weights, converting the layout in the same pass (a reorder with a sum post-op).
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
  DNNL_CHECK(dnnl_primitive_attr_create(&attr));
  DNNL_CHECK(dnnl_post_ops_create(&po));
  DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.0f));
  DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
  DNNL_CHECK(dnnl_reorder_primitive_desc_create(
      &p->dw_acc_pd[bias], dn_pd_md(p->bwd_w_pd[bias], dnnl_query_diff_weights_md), ctx->engine,
      &p->w_md, ctx->engine, attr));
  DNNL_CHECK(dnnl_primitive_create(&p->dw_acc[bias], p->dw_acc_pd[bias]));
  dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
}

// A memory object in layout `want` holding the caller's input `user` (in layout `plain`):
// the caller's buffer itself when the layouts agree, else scratch after a reorder.
static dnnl_memory_t arg_in(Ctx *ctx, Scratch *sc, const dnnl_memory_desc_t *plain,
                            const dnnl_memory_desc_t *want, const float *user) {
  if (dnnl_memory_desc_equal(plain, want)) return dn_mem(ctx, want, (void *)user);
  scratch_fit(sc, dnnl_memory_desc_get_size(want));
  dnnl_memory_t m = dn_mem(ctx, want, sc->p);
  dnnl_memory_t u = dn_mem(ctx, plain, (void *)user);
  dn_reorder(ctx, u, m);
  dnnl_memory_destroy(u);
  return m;
}

// A memory object in layout `want` for an output that arg_out_finish copies to `user`.
static dnnl_memory_t arg_out(Ctx *ctx, Scratch *sc, const dnnl_memory_desc_t *plain,
                             const dnnl_memory_desc_t *want, float *user) {
  if (dnnl_memory_desc_equal(plain, want)) return dn_mem(ctx, want, user);
  scratch_fit(sc, dnnl_memory_desc_get_size(want));
  return dn_mem(ctx, want, sc->p);
}

// Reorders an output back into the caller's layout (nothing to do when it was written there)
// and releases the memory object.
static void arg_out_finish(Ctx *ctx, dnnl_memory_t m, const dnnl_memory_desc_t *plain,
                           float *user) {
  void *h;
  DNNL_CHECK(dnnl_memory_get_data_handle(m, &h));
  if (h != (void *)user) {
    dnnl_memory_t u = dn_mem(ctx, plain, user);
    dn_reorder(ctx, m, u);
    dnnl_memory_destroy(u);
  }
  dnnl_memory_destroy(m);
}

static void convplan_forward_cpu(Ctx *ctx, const ConvShape *s, float *y, const float *x,
                                 const float *w, const float *b) {
  ConvPlan *p = plan_get(ctx, s);
  int bias = b != NULL;
  if (!p->fwd[bias]) plan_make_fwd_bias(ctx, p);
  dnnl_primitive_desc_t pd = p->fwd_pd[bias];
  dnnl_memory_t xm = arg_in(ctx, &p->sc->xs, &p->x_md, dn_pd_md(pd, dnnl_query_src_md), x);
  dnnl_memory_t wm = arg_in(ctx, &p->sc->ws, &p->w_md, dn_pd_md(pd, dnnl_query_weights_md), w);
  dnnl_memory_t ym = arg_out(ctx, &p->sc->ys, &p->y_md, dn_pd_md(pd, dnnl_query_dst_md), y);
  dnnl_memory_t bm = b ? dn_mem(ctx, &p->b_md, (void *)b) : NULL;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym},
                             {DNNL_ARG_BIAS, bm}};
  dn_run(ctx, p->fwd[bias], b ? 4 : 3, args);
  arg_out_finish(ctx, ym, &p->y_md, y);
  dnnl_memory_destroy(xm);
  dnnl_memory_destroy(wm);
  if (bm) dnnl_memory_destroy(bm);
}

static void convplan_backward_cpu(Ctx *ctx, const ConvShape *s, float *dx, float *dw, float *db,
                                  const float *dy, const float *x, const float *w) {
  GENET_ASSERT(dw || !db);
  ConvPlan *p = plan_get(ctx, s);
  int bias = db != NULL;
  const dnnl_memory_desc_t *dy_w = NULL;
  dnnl_memory_t dym = NULL;
  if (dw) {
    if (!p->bwd_w[bias]) plan_make_bwd_weights(ctx, p, bias);
    dnnl_primitive_desc_t pd = p->bwd_w_pd[bias];
    dy_w = dn_pd_md(pd, dnnl_query_diff_dst_md);
    dym = arg_in(ctx, &p->sc->ys, &p->y_md, dy_w, dy);
    dnnl_memory_t xm = arg_in(ctx, &p->sc->xs, &p->x_md, dn_pd_md(pd, dnnl_query_src_md), x);
    const dnnl_memory_desc_t *dw_md = dn_pd_md(pd, dnnl_query_diff_weights_md);
    scratch_fit(&p->sc->dws, dnnl_memory_desc_get_size(dw_md));
    scratch_fit(&p->sc->dbs, sizeof(float) * (size_t)s->Cout);
    dnnl_memory_t dwm = dn_mem(ctx, dw_md, p->sc->dws.p);
    dnnl_memory_t dbm = db ? dn_mem(ctx, &p->b_md, p->sc->dbs.p) : NULL;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym},
                               {DNNL_ARG_DIFF_WEIGHTS, dwm}, {DNNL_ARG_DIFF_BIAS, dbm}};
    dn_run(ctx, p->bwd_w[bias], db ? 4 : 3, args);
    // Parameter gradients accumulate: the reorder's sum post-op adds into dw.
    dnnl_memory_t um = dn_mem(ctx, &p->w_md, dw);
    dnnl_exec_arg_t acc[2] = {{DNNL_ARG_FROM, dwm}, {DNNL_ARG_TO, um}};
    dn_run(ctx, p->dw_acc[bias], 2, acc);
    dnnl_memory_destroy(um);
    if (db)
      for (int c = 0; c < s->Cout; c++) db[c] += p->sc->dbs.p[c];
    dnnl_memory_destroy(xm);
    dnnl_memory_destroy(dwm);
    if (dbm) dnnl_memory_destroy(dbm);
  }
  if (dx) {
    if (!p->bwd_d) plan_make_bwd_data(ctx, p);
    const dnnl_memory_desc_t *dy_d = dn_pd_md(p->bwd_d_pd, dnnl_query_diff_dst_md);
    // Reuse dy's reordered copy when backward data wants the same layout.
    if (!dym) {
      dym = arg_in(ctx, &p->sc->ys, &p->y_md, dy_d, dy);
    } else if (!dnnl_memory_desc_equal(dy_w, dy_d)) {
      dnnl_memory_destroy(dym);
      dym = arg_in(ctx, &p->sc->ys2, &p->y_md, dy_d, dy);  // ys still holds dy for bwd weights
    }
    dnnl_memory_t wm = arg_in(ctx, &p->sc->ws, &p->w_md, dn_pd_md(p->bwd_d_pd, dnnl_query_weights_md), w);
    dnnl_memory_t dxm = arg_out(ctx, &p->sc->xs, &p->x_md, dn_pd_md(p->bwd_d_pd, dnnl_query_diff_src_md), dx);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DIFF_SRC, dxm}};
    dn_run(ctx, p->bwd_d, 3, args);
    arg_out_finish(ctx, dxm, &p->x_md, dx);
    dnnl_memory_destroy(wm);
  }
  if (dym) dnnl_memory_destroy(dym);
}

// ---- entries (core/dispatch.h). oneDNN is the CPU's: a CUDA convolution belongs in
// kernels/ and is chosen by conv2d_* / conv_transpose2d_*, so these stay CPU only.

void convplan_forward(Ctx *ctx, const ConvShape *s, float *y, const float *x, const float *w,
                      const float *b) {
  DISPATCH_CPU(ctx, convplan_forward_cpu(ctx, s, y, x, w, b));
}

void convplan_backward(Ctx *ctx, const ConvShape *s, float *dx, float *dw, float *db,
                       const float *dy, const float *x, const float *w) {
  DISPATCH_CPU(ctx, convplan_backward_cpu(ctx, s, dx, dw, db, dy, x, w));
}

int convplan_block(Ctx *ctx) {
  return DISPATCH_CPU(ctx, convplan_block_cpu(ctx));
}
