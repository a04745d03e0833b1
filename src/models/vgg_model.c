// vgg_model.c: VGG19 features with frozen weights, composed from the conv, ReLU and max-pool
// ops. Forward keeps every module's output (torchvision without in-place ReLUs); backward runs
// the chain from the highest tapped layer down to the image with two scratch buffers.
#include "models/vgg_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activations.h"
#include "ops/add.h"
#include "ops/conv.h"
#include "data/h5io.h"
#include "ops/pool.h"
#include "core/rng.h"
#include "core/util.h"

// torchvision's configuration "E": channels per conv (each conv is followed by a ReLU), 0 =
// max-pool. Same list as scripts/vgg19_to_h5.py.
static const int vgg_cfg_e[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0,
                                512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
#define VGG_CFG_N ((int)(sizeof vgg_cfg_e / sizeof vgg_cfg_e[0]))
// torchvision's configuration "D" (VGG16), as scripts/vgg19_to_h5.py's CFG_D.
static const int vgg_cfg_d[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                                512, 512, 512, 0, 512, 512, 512, 0};

// One architecture of the family: its configuration, layer count and file's writer.
typedef struct {
  const char *name, *script;
  const int *cfg;
  int ncfg, nlayers;
} VggArch;
static const VggArch vgg19_arch = {"VGG19", "scripts/vgg19_to_h5.py", vgg_cfg_e, VGG_CFG_N,
                                   VGG19_LAYERS};
static const VggArch vgg16_arch = {"VGG16", "scripts/vgg16_to_h5.py", vgg_cfg_d,
                                   (int)(sizeof vgg_cfg_d / sizeof vgg_cfg_d[0]), VGG16_LAYERS};

// Names of features[0..36] as in the literature: block b, conv c within it.
static const char *const vgg_names[VGG19_LAYERS] = {
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4",
    "pool5"};

int vgg_layer_index(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < VGG19_LAYERS; i++)
    if (strcmp(name, vgg_names[i]) == 0) return i;
  return -1;
}

const char *vgg_layer_name(int index) {
  return (index >= 0 && index < VGG19_LAYERS) ? vgg_names[index] : NULL;
}

static void vgg_build_arch(VggNet *v, const VggArch *arch, int div, const Ctx *ctx) {
  GENET_ASSERT(div >= 1 && 64 % div == 0);
  memset(v, 0, sizeof *v);
  v->div = div;
  params_init(&v->params);
  int i = 0, cin = 3;
  char name[PARAM_NAME_LEN];
  for (int k = 0; k < arch->ncfg; k++) {
    if (arch->cfg[k] == 0) {
      v->layer[i++] = (VggLayer){.kind = VGG_POOL, .Cin = cin, .Cout = cin};
      continue;
    }
    int cout = arch->cfg[k] / div;
    VggLayer *L = &v->layer[i];
    *L = (VggLayer){.kind = VGG_CONV, .Cin = cin, .Cout = cout};
    int wshape[4] = {cout, cin, 3, 3};
    snprintf(name, sizeof name, "features.%d.weight", i);
    L->w = params_add(&v->params, name, 4, wshape);
    snprintf(name, sizeof name, "features.%d.bias", i);
    L->b = params_add(&v->params, name, 1, &cout);
    v->layer[i + 1] = (VggLayer){.kind = VGG_RELU, .Cin = cout, .Cout = cout};
    i += 2;
    cin = cout;
  }
  GENET_ASSERT(i == arch->nlayers);
  params_alloc_on(&v->params, ctx);
  // The weights never train: their gradient buffer (as large as the weights, 80 MB at full
  // width, every page touched) is given back.
  ctx_release(v->params.ctx, v->params.grad);
  v->params.grad = NULL;
}

void vgg19_build(VggNet *v, int div, const Ctx *ctx) { vgg_build_arch(v, &vgg19_arch, div, ctx); }

void vgg16_build(VggNet *v, int div, const Ctx *ctx) { vgg_build_arch(v, &vgg16_arch, div, ctx); }

void vgg_net_free(VggNet *v) {
  params_free(&v->params);
  memset(v, 0, sizeof *v);
}

// Shape of dataset `name` as text "(a, b, ...)".
static void vgg_shape_text(char *s, size_t n, const int64_t *d, int nd) {
  size_t k = (size_t)snprintf(s, n, "(");
  for (int i = 0; i < nd && k < n; i++)
    k += (size_t)snprintf(s + k, n - k, i ? ", %lld" : "%lld", (long long)d[i]);
  if (k < n) snprintf(s + k, n - k, ")");
}

static int vgg_load_arch(VggNet *v, const VggArch *arch, const Ctx *ctx, const char *path,
                         char *err, size_t errlen) {
  char hint[96];
  snprintf(hint, sizeof hint, "not a %s features file (%s writes one)", arch->name, arch->script);
  memset(v, 0, sizeof *v);
  H5File f;
  if (h5_open_read(&f, path, err, errlen)) return -1;
  int64_t d[8];
  int nd, rc = -1, built = 0;
  float *host = NULL;  // params_staging: the weights as read, uploaded at the end
  const char *first = "params/features.0.weight";
  if (!h5_exists(&f, first)) {
    snprintf(err, errlen, "%s: no dataset %s: %s", path, first, hint);
    goto cleanup;
  }
  if ((nd = h5_shape(&f, first, d, 8, err, errlen)) < 0) goto cleanup;
  // The first conv fixes the width: (64/div, 3, 3, 3) with div dividing 64.
  if (nd != 4 || d[0] < 1 || d[0] > 64 || 64 % d[0] != 0 || d[1] != 3 || d[2] != 3 || d[3] != 3) {
    char s[128];
    vgg_shape_text(s, sizeof s, d, nd);
    snprintf(err, errlen, "%s: %s has shape %s, expected (64/div, 3, 3, 3) with div dividing 64",
             path, first, s);
    goto cleanup;
  }
  vgg_build_arch(v, arch, (int)(64 / d[0]), ctx);
  built = 1;
  host = params_staging(&v->params);
  for (int i = 0; i < v->params.n; i++) {
    const ParamInfo *pi = &v->params.info[i];
    char name[128];
    snprintf(name, sizeof name, "params/%s", pi->name);
    if (!h5_exists(&f, name)) {
      snprintf(err, errlen, "%s: no dataset %s: %s", path, name, hint);
      goto cleanup;
    }
    if ((nd = h5_shape(&f, name, d, 8, err, errlen)) < 0) goto cleanup;
    int same = nd == pi->ndim;
    for (int k = 0; same && k < nd; k++) same = d[k] == pi->shape[k];
    if (!same) {
      int64_t want[PARAM_MAX_DIMS];
      for (int k = 0; k < pi->ndim; k++) want[k] = pi->shape[k];
      char a[128], b[128];
      vgg_shape_text(a, sizeof a, d, nd);
      vgg_shape_text(b, sizeof b, want, pi->ndim);
      snprintf(err, errlen, "%s: %s has shape %s, expected %s (%s features at div %d)", path,
               name, a, b, arch->name, v->div);
      goto cleanup;
    }
    if (h5_read_f32(&f, name, host + pi->offset, nd, d, err, errlen)) goto cleanup;
  }
  params_staged(&v->params, host);
  host = NULL;
  rc = 0;
cleanup:
  if (host && host != v->params.data) free(host);
  h5_close(&f, NULL, 0);
  if (rc && built) vgg_net_free(v);
  return rc;
}

int vgg19_load(VggNet *v, const Ctx *ctx, const char *path, char *err, size_t errlen) {
  return vgg_load_arch(v, &vgg19_arch, ctx, path, err, errlen);
}

int vgg16_load(VggNet *v, const Ctx *ctx, const char *path, char *err, size_t errlen) {
  return vgg_load_arch(v, &vgg16_arch, ctx, path, err, errlen);
}

static void vgg_random_arch(VggNet *v, const VggArch *arch, const Ctx *ctx, int div,
                            uint64_t seed, uint64_t stream) {
  vgg_build_arch(v, arch, div, ctx);
  float *host = params_staging(&v->params);  // zero: the biases stay so
  Rng r;
  rng_init(&r, seed, stream);
  for (int i = 0; i < arch->nlayers; i++) {
    const VggLayer *L = &v->layer[i];
    if (L->kind != VGG_CONV) continue;
    // He et al.'s N(0, 2 / fan_in): after each ReLU the features keep the input's scale, so
    // the Gram matrices of every layer stay in range and no layer's loss swamps the others.
    rng_fill_normal(&r, host + L->w, (size_t)L->Cout * L->Cin * 9, 0.0f,
                    sqrtf(2.0f / (float)(L->Cin * 9)));
  }
  params_staged(&v->params, host);
}

void vgg19_random(VggNet *v, const Ctx *ctx, int div, uint64_t seed, uint64_t stream) {
  vgg_random_arch(v, &vgg19_arch, ctx, div, seed, stream);
}

void vgg16_random(VggNet *v, const Ctx *ctx, int div, uint64_t seed, uint64_t stream) {
  vgg_random_arch(v, &vgg16_arch, ctx, div, seed, stream);
}

void vgg_acts_alloc(VggActs *a, const VggNet *v, int H, int W, int last) {
  vgg_acts_alloc_keep(a, v, H, W, last, NULL);
}

// A conv output sharing its ReLU's buffer: out[i] == out[i + 1].
static int vgg_shared(const VggActs *a, int i) {
  return i < a->last && a->out[i] && a->out[i] == a->out[i + 1];
}

void vgg_acts_alloc_keep(VggActs *a, const VggNet *v, int H, int W, int last, const uint8_t *keep) {
  GENET_ASSERT(last >= 0 && last < VGG19_LAYERS && H >= 1 && W >= 1);
  memset(a, 0, sizeof *a);
  a->H = H;
  a->W = W;
  a->last = last;
  a->ctx = v->params.ctx;
  a->in = ctx_alloc(a->ctx, sizeof(float) * 3 * (size_t)H * W);
  int h = H, w = W;
  for (int i = 0; i <= last; i++) {
    const VggLayer *L = &v->layer[i];
    if (L->kind == VGG_POOL) {
      // Floor mode: a pool needs at least a 2x2 input (PyTorch refuses a zero-size output).
      GENET_ASSERT(h >= 2 && w >= 2);
      h = maxpool2d_out_size(h, 2, 2);
      w = maxpool2d_out_size(w, 2, 2);
    }
    a->C[i] = L->Cout;
    a->Ho[i] = h;
    a->Wo[i] = w;
    size_t n = (size_t)L->Cout * h * w;
    if (L->kind == VGG_RELU && i > 0 && keep && !keep[i - 1]) {
      a->out[i] = a->out[i - 1];  // conv i - 1 writes here and its ReLU runs in place
      continue;
    }
    a->out[i] = ctx_alloc(a->ctx, sizeof(float) * n);
  }
}

void vgg_acts_free(VggActs *a) {
  ctx_release(a->ctx, a->in);
  for (int i = 0; i < VGG19_LAYERS; i++) {
    if (!vgg_shared(a, i)) ctx_release(a->ctx, a->out[i]);
    ctx_release(a->ctx, a->ws[i]);
  }
  for (int k = 0; k < a->nspare; k++) ctx_release(a->ctx, a->spare[k]);
  memset(a, 0, sizeof *a);
}

const float *vgg_out(const VggActs *a, int i) {
  GENET_ASSERT(i >= 0 && i <= a->last && !vgg_shared(a, i));
  return a->out[i];
}

void vgg_out_shape(const VggActs *a, int i, int *C, int *H, int *W) {
  GENET_ASSERT(i >= 0 && i <= a->last);
  *C = a->C[i];
  *H = a->Ho[i];
  *W = a->Wo[i];
}

// Input shape of features[i]: the image for i = 0, else the previous output.
static void vgg_in_shape(const VggActs *a, int i, int *H, int *W) {
  *H = i ? a->Ho[i - 1] : a->H;
  *W = i ? a->Wo[i - 1] : a->W;
}

void vgg_forward(Ctx *ctx, const VggNet *v, VggActs *a, const float *img) {
  ctx_copy(ctx, a->in, img, sizeof(float) * 3 * (size_t)a->H * a->W);
  const float *x = a->in;
  for (int i = 0; i <= a->last; i++) {
    const VggLayer *L = &v->layer[i];
    int h, w;
    vgg_in_shape(a, i, &h, &w);
    switch (L->kind) {
      case VGG_CONV:
        conv2d_forward(ctx, a->out[i], x, v->params.data + L->w, v->params.data + L->b, 1, L->Cin,
                       h, w, L->Cout, 3, 1, 1);
        break;
      case VGG_RELU:
        act_forward(ctx, ACT_RELU, 0.f, a->out[i], x, (size_t)L->Cout * h * w);
        break;
      case VGG_POOL:
        if (v->avg_pool) {
          avgpool2d_forward(ctx, a->out[i], x, 1, L->Cin, h, w, 2, 2);
          break;
        }
        // The workspace is sized on first use: it depends on the device (oneDNN's choice on
        // the CPU, one int32 argmax per output on CUDA), hence on ctx.
        if (!a->ws[i])
          a->ws[i] = ctx_alloc(a->ctx, maxpool2d_workspace_size(ctx, 1, L->Cin, h, w, 2, 2));
        maxpool2d_forward(ctx, a->out[i], a->ws[i], x, 1, L->Cin, h, w, 2, 2);
        break;
    }
    x = a->out[i];
  }
}

// vgg_backward's taps as a VggTapGrad: a copy of dtap[layer].
typedef struct {
  float *const *dtap;
  const VggActs *a;
  Ctx *ctx;
} DtapCopy;

static void dtap_copy(void *arg, int layer, float *dout) {
  DtapCopy *d = arg;
  const VggActs *a = d->a;
  ctx_copy(d->ctx, dout, d->dtap[layer],
           sizeof(float) * (size_t)a->C[layer] * a->Ho[layer] * a->Wo[layer]);
}

void vgg_backward(Ctx *ctx, const VggNet *v, VggActs *a, float *const *dtap, float *dimg) {
  uint8_t tapped[VGG19_LAYERS] = {0};
  for (int i = 0; i <= a->last; i++) tapped[i] = dtap[i] != NULL;
  DtapCopy d = {dtap, a, ctx};
  vgg_backward_fn(ctx, v, a, tapped, dtap_copy, &d, dimg);
}

static size_t vgg_nout(const VggActs *a, int i) {
  return (size_t)a->C[i] * a->Ho[i] * a->Wo[i];
}

// The buffers a backward pass may write: dead activation buffers and a's spare ones.
typedef struct {
  float *p[VGG19_LAYERS + VGG_SPARE];
  size_t n[VGG19_LAYERS + VGG_SPARE];  // floats
  int len;
} VggFree;

// p (a spare buffer or an output's) is free again, with its whole size.
static void vgg_give(const VggActs *a, VggFree *f, float *p) {
  GENET_ASSERT(f->len < VGG19_LAYERS + VGG_SPARE);
  size_t n = 0;
  for (int k = 0; k < a->nspare && !n; k++)
    if (a->spare[k] == p) n = a->spare_n[k];
  for (int i = 0; i <= a->last && !n; i++)
    if (a->out[i] == p) n = vgg_nout(a, i);
  GENET_ASSERT(n > 0);
  for (int k = 0; k < f->len; k++) GENET_ASSERT(f->p[k] != p);  // given twice: taken twice
  f->p[f->len] = p;
  f->n[f->len++] = n;
}

// The smallest free buffer of at least n floats (the first of equals), else a new spare one
// kept in a for the next passes. A spare is as large as the largest output, so that later
// needs fit it once it is free again (sized to each need, VGG19 took one per block: as much as
// two of the largest).
static float *vgg_take(VggActs *a, VggFree *f, size_t n) {
  int best = -1;
  for (int k = 0; k < f->len; k++)
    if (f->n[k] >= n && (best < 0 || f->n[k] < f->n[best])) best = k;
  if (best < 0) {
    GENET_ASSERT(a->nspare < VGG_SPARE);
    size_t big = n;
    for (int i = 0; i <= a->last; i++) big = vgg_nout(a, i) > big ? vgg_nout(a, i) : big;
    a->spare[a->nspare] = ctx_alloc(a->ctx, sizeof(float) * big);
    a->spare_n[a->nspare] = big;
    return a->spare[a->nspare++];
  }
  float *p = f->p[best];
  f->len--;
  for (int k = best; k < f->len; k++) {  // keep the order: the choice is the same every pass
    f->p[k] = f->p[k + 1];
    f->n[k] = f->n[k + 1];
  }
  return p;
}

void vgg_backward_fn(Ctx *ctx, const VggNet *v, VggActs *a, const uint8_t *tapped,
                     VggTapGrad tap_grad, void *arg, float *dimg) {
  int top = -1;
  for (int i = a->last; i >= 0 && top < 0; i--)
    if (tapped[i]) top = i;
  if (top < 0) {
    ctx_zero(ctx, dimg, sizeof(float) * 3 * (size_t)a->H * a->W);
    return;
  }
  // No second copy of the activations: a ReLU's input gradient is written over its own output
  // (read by nothing below it: a conv's input gradient needs no activation), a max pool after
  // an untapped ReLU writes over that ReLU's output with the ReLU's mask applied first (the
  // pool's output is the ReLU's output at the maximum, so masking by it is the same mask), and
  // every other gradient goes into a dead buffer (the layers above, the pools' outputs once
  // read) or a spare one. Alive until their layer's turn: the ReLUs' outputs (their masks),
  // the tapped outputs, and a fused pool's output.
  VggFree fr = {.len = 0};
  for (int k = 0; k < a->nspare; k++) vgg_give(a, &fr, a->spare[k]);
  uint8_t live[VGG19_LAYERS] = {0};  // the buffer of out[i] (owned by i) is still to be read
  for (int i = 0; i <= a->last; i++) {
    if (vgg_shared(a, i)) continue;  // conv i's output is ReLU i + 1's buffer
    int fused_pool = v->layer[i].kind == VGG_POOL && !v->avg_pool && i > 0 &&
                     v->layer[i - 1].kind == VGG_RELU && !tapped[i - 1];
    live[i] = i <= top && (tapped[i] || v->layer[i].kind == VGG_RELU || fused_pool);
    if (!live[i]) vgg_give(a, &fr, a->out[i]);
  }
  float *g = vgg_take(a, &fr, vgg_nout(a, top));  // dloss/d out[i], i from top down
  tap_grad(arg, top, g);
  int masked = 0;  // g is already ReLU i's input gradient (a fused pool above wrote it)
  for (int i = top; i >= 0; i--) {
    const VggLayer *L = &v->layer[i];
    size_t nout = vgg_nout(a, i);
    if (i != top && tapped[i]) {
      float *t = vgg_take(a, &fr, nout);
      tap_grad(arg, i, t);
      add_inplace(ctx, g, t, nout, 1.0f);
      vgg_give(a, &fr, t);
    }
    int h, w;
    vgg_in_shape(a, i, &h, &w);
    size_t nin = i ? vgg_nout(a, i - 1) : (size_t)3 * h * w;
    const float *x = i ? a->out[i - 1] : a->in;
    float *dx;
    switch (L->kind) {
      case VGG_RELU:  // over its own output, which only it reads
        dx = a->out[i];
        if (!masked) act_backward(ctx, ACT_RELU, 0.f, dx, g, a->out[i], nout);
        masked = 0;
        break;
      case VGG_CONV:
        dx = i ? vgg_take(a, &fr, nin) : dimg;
        conv2d_backward(ctx, dx, NULL, NULL, g, x, v->params.data + L->w, 1, L->Cin, h, w,
                        L->Cout, 3, 1, 1);
        if (!vgg_shared(a, i) && live[i]) vgg_give(a, &fr, a->out[i]);  // a tapped conv's own
        break;
      case VGG_POOL:
        if (v->avg_pool) {
          dx = vgg_take(a, &fr, nin);
          avgpool2d_backward(ctx, dx, g, 1, L->Cin, h, w, 2, 2);
        } else if (i > 0 && v->layer[i - 1].kind == VGG_RELU && !tapped[i - 1]) {
          act_backward(ctx, ACT_RELU, 0.f, g, g, a->out[i], nout);  // ReLU i - 1's mask
          dx = a->out[i - 1];
          maxpool2d_backward(ctx, dx, g, a->ws[i], 1, L->Cin, h, w, 2, 2);
          masked = 1;
        } else {
          dx = vgg_take(a, &fr, nin);
          maxpool2d_backward(ctx, dx, g, a->ws[i], 1, L->Cin, h, w, 2, 2);
        }
        if (live[i]) vgg_give(a, &fr, a->out[i]);
        break;
      default:
        GENET_ASSERT(0);
    }
    // g's buffer is dead now, unless it is the ReLU's own output that dx overwrote
    if (g != dx) vgg_give(a, &fr, g);
    g = dx;
  }
}
