// style_task.c: `task = style`: neural style transfer as Gatys et al. and the seed: the pixels
// of one image are optimized with L-BFGS (torch.optim.LBFGS defaults, no line search) so that
// its VGG19 features match the content image's at the content layers and its Gram matrices
// match the style image's (the mean of the style images' Grams when several are given) at the
// style layers. Images get the seed's Caffe preprocessing: Resize(size) (short side), BGR,
// minus the ImageNet mean, times 255. The loss is evaluated `max_evals` times (the seed's
// "Iteration: 500" counts closure evaluations); a checkpoint holds the image and the L-BFGS
// state, so a stopped run resumes exactly. neural-style's controls on top: style_blend (the
// Grams' weights), style_scale, tv_weight (total variation on the image), init = image:PATH,
// pooling = avg (VGG19's pools averaging) and original_colors (the written image's chroma the
// content's).
#include "tasks/style_task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5safe.h"
#include "ops/add.h"
#include "ops/gram.h"
#include "data/image.h"
#include "optim/lbfgs.h"
#include "ops/loss.h"
#include "ops/scale.h"
#include "ops/tv.h"
#include "tasks/style_image.h"
#include "tasks/style_pairs.h"
#include "core/dir.h"
#include "core/rng.h"
#include "core/util.h"
#include "models/vgg_model.h"
#include "train/runlog.h"

const CfgSpec style_task_keys[] = {
    {"content", CFG_STRING, "", 0, -1, NULL, "content image (PNG or JPEG); required unless pairs is given", CFG_RESUME_FIXED},
    {"pairs", CFG_STRING, "", 0, -1, NULL, "FILE of `CONTENT STYLE[,STYLE...] [OUTPUT]` lines in place of content and style: each its own job (checkpoint_dir/pair_<k>, out_dir/pair_<k>), the pairs shared over the ranks (mpirun, srun), finished pairs skipped on resume, out_dir/index.html at the end (docs/STYLE_PAIRS.md)", CFG_RESUME_FIXED},
    {"style", CFG_STRING, "", 0, -1, NULL, "style image(s), comma-separated (their Grams are averaged, or blended by style_blend)", CFG_RESUME_FIXED},
    {"style_blend", CFG_STRING, "", 0, -1, NULL, "w1,w2,...: one weight per style image; the target Grams are sum_i w_i G_i / sum_i w_i (empty: the mean, as neural-style's -style_blend_weights)", CFG_RESUME_FIXED},
    {"style_scale", CFG_FLOAT, "1", 0.01, 100, NULL, "the style images' short side is round(size x style_scale) (neural-style's -style_scale)", CFG_RESUME_FIXED},
    {"vgg", CFG_STRING, "data/vgg19.h5", 0, -1, NULL, "VGG19 weights (scripts/get-data.sh vgg19), or `random` (`random/N`: width 1/N): seeded random weights, nothing to download (textures transfer, less well)", CFG_RESUME_APPLIES},
    {"size", CFG_INT, "512", 16, 8192, NULL, "short side of every image after Resize, as the seed's imsize", CFG_RESUME_FIXED},
    {"sizes", CFG_STRING, "", 0, -1, NULL, "s1,s2,...: coarse to fine, in place of size: max_evals evaluations at each short side in turn, each stage starting from the previous result (as written, 8-bit) resized up; result_<s>.png after each stage", CFG_RESUME_FIXED},
    {"layers", CFG_CHOICE, "gatys", 0, -1, "gatys|seed", "layer preset: Gatys' relu1_1..relu5_1 + relu4_2, or the seed's relu1_1..relu4_1, relu4_4 + relu4_2", CFG_RESUME_FIXED},
    {"style_layers", CFG_STRING, "", 0, -1, NULL, "override the preset's style layers (comma-separated names, e.g. relu1_1,relu2_1)", CFG_RESUME_FIXED},
    {"content_layers", CFG_STRING, "", 0, -1, NULL, "override the preset's content layers", CFG_RESUME_FIXED},
    {"style_weight", CFG_FLOAT, "1000", 0, 1e30, NULL, "style layer l weighs style_weight / n_l^2 (n_l its channels in VGG19), as the seed's 1e3/n^2", CFG_RESUME_APPLIES},
    {"content_weight", CFG_FLOAT, "1", 0, 1e30, NULL, "weight of each content layer", CFG_RESUME_APPLIES},
    {"max_evals", CFG_INT, "500", 1, 1e9, NULL, "loss evaluations (the seed's max_iter = 500), checked between L-BFGS steps as the seed's loop: the last step ends whole, up to max_iter x 5/4 evaluations past it", CFG_RESUME_APPLIES},
    {"show_every", CFG_INT, "50", 1, 1e9, NULL, "print the loss every this many evaluations", CFG_RESUME_APPLIES},
    {"lr", CFG_FLOAT, "1", 1e-9, 1e9, NULL, "L-BFGS step", CFG_RESUME_APPLIES},
    {"max_iter", CFG_INT, "20", 1, 1e6, NULL, "L-BFGS iterations per optimizer step", CFG_RESUME_APPLIES},
    {"history", CFG_INT, "100", 1, 1e5, NULL, "L-BFGS history size", CFG_RESUME_FIXED},
    {"init", CFG_STRING, "content", 0, -1, NULL, "starting image: content (the content image, as the seed), noise (N(0, 50^2) from the seed), or image:PATH (an image resized to the content's size)", CFG_RESUME_FIXED},
    {"tv_weight", CFG_FLOAT, "0", 0, 1e30, NULL, "total-variation weight: adds tv_weight/2 x the sum of squared neighbour differences of the image, whose gradient is neural-style's TVLoss (its default 1e-3; 0, the seed's, turns it off)", CFG_RESUME_APPLIES},
    {"pooling", CFG_CHOICE, "max", 0, -1, "max|avg", "VGG19's five pools: max (torchvision, the seed) or avg (AvgPool2d, as Gatys et al. and neural-style's -pooling avg; CPU only)", CFG_RESUME_FIXED},
    {"original_colors", CFG_BOOL, "false", 0, -1, NULL, "true: the written image keeps the content's colours: its luminance Y with the content's U and V (YUV, as neural-style's -original_colors 1)", CFG_RESUME_APPLIES},
};
const int style_task_nkeys = sizeof style_task_keys / sizeof *style_task_keys;

#define MAX_TAPS 16
#define STYLE_VGG_STREAM 1  // vgg = random: the weights' Philox stream
#define MAX_STYLES 8
#define MAX_STAGES 8

typedef struct {
  int layer;               // features index
  int style;               // 1: Gram target, 0: content target
  float weight;
  int C, HW;               // of the optimized image's features there
  float *target;           // style: (C, C) Gram; content: (C, HW) features
  float *G, *dG;           // style scratch: (C, C)
  float *d;                // (C, HW) a second tap of a layer: its gradient before it joins (else NULL)
} Tap;

// Every buffer below lives on the device of the VGG's parameters (dev: NULL on the CPU); the host
// keeps only the images as loaded and what it writes to files, in short-lived copies.
typedef struct {
  Trainer *t;
  const Ctx *dev;          // where the buffers live (s->vgg.params.ctx)
  float *content;          // (1, 3, H, W) the content image, preprocessed
  char *style_list;        // the `style` key, cut into names
  VggNet vgg;
  VggActs acts;            // for the optimized image
  Tap tap[MAX_TAPS];
  int ntap, last;
  uint8_t keep[VGG19_LAYERS];  // the taps' layers: outputs kept apart (vgg_acts_alloc_keep)
  int H, W;
  float *img, *grad;       // (1, 3, H, W) the optimized image (preprocessed) and dloss/dimg
  Lbfgs opt;
  int64_t evals;           // closure evaluations, the seed's n_iter
  int64_t show;
  double last_loss;
  float tv_weight;         // tv_weight: the image's TV term weighs tv_weight / 2
  float *init_img;         // host (1, 3, H, W): init = image:PATH, preprocessed; else NULL
  char *styles[MAX_STYLES];  // into style_list
  int nstyle, blended;
  float blend[MAX_STYLES];   // style_blend's weights summing to 1 (blended)
  int sizes[MAX_STAGES], nstage, stage;  // `sizes` (or `size` alone) and the one running
} Style;

// ---- images (style_image.c has the conversions)

// Reads and resizes an image (short side `size`) onto s's device (ctx_alloc'd), preprocessed.
static float *load_image(Style *s, const char *path, int size, int *h, int *w) {
  char err[GENET_ERR_MAX];
  float *x = style_image_load(path, size, h, w, err, sizeof err);
  if (!x) trainer_fail(s->t, "%s", err);
  size_t bytes = sizeof(float) * 3 * (size_t)*h * *w;
  float *d = ctx_alloc(s->dev, bytes);
  ctx_upload(s->dev, d, x, bytes);
  free(x);
  return d;
}

// The image as written: with colors and original_colors, the content's chroma.
static void result_image(Style *s, Image *out, int colors) {
  size_t n = (size_t)3 * s->H * s->W;
  float *img = xmalloc_floats(n), *con = NULL;
  ctx_download(s->dev, img, s->img, sizeof(float) * n);
  if (colors && config_bool(&s->t->cfg, "original_colors")) {
    con = xmalloc_floats(n);
    ctx_download(s->dev, con, s->content, sizeof(float) * n);
  }
  style_image_result(out, img, con, s->H, s->W);
  free(img);
  free(con);
}

// out_dir/name on rank 0.
static void save_image(Style *s, const char *name) {
  Trainer *t = s->t;
  if (t->comm.rank != 0) return;
  char path[GENET_PATH_MAX + 64], err[700];
  if (dir_make(t->out_dir, err, sizeof err)) trainer_fail(t, "out_dir = %s: %s", t->out_dir, err);
  snprintf(path, sizeof path, "%s/%s", t->out_dir, name);
  Image out;
  result_image(s, &out, 1);
  if (image_write_png(path, &out, err, sizeof err)) trainer_fail(t, "%s", err);
  image_free(&out);
}

// ---- layers

static int parse_layers(Trainer *t, const char *list, int *out, int max, const char *key) {
  char *copy = xstrdup(list), *save = NULL;
  int n = 0;
  for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
    int i = vgg_layer_index(p);
    if (i < 0) trainer_fail(t, "%s: unknown VGG19 layer '%s' (names such as relu1_1, conv4_2, pool3)", key, p);
    if (n == max) trainer_fail(t, "%s: more than %d layers", key, max);
    out[n++] = i;
  }
  free(copy);
  if (!n) trainer_fail(t, "%s: no layers", key);
  return n;
}

static void setup_taps(Style *s) {
  const Config *cfg = &s->t->cfg;
  int seed = !strcmp(config_str(cfg, "layers"), "seed");
  const char *sl = config_str(cfg, "style_layers"), *cl = config_str(cfg, "content_layers");
  if (!sl[0]) sl = seed ? "relu1_1,relu2_1,relu3_1,relu4_1,relu4_4" : "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1";
  if (!cl[0]) cl = "relu4_2";
  int si[MAX_TAPS], ci[MAX_TAPS];
  int ns = parse_layers(s->t, sl, si, MAX_TAPS / 2, "style_layers");
  int nc = parse_layers(s->t, cl, ci, MAX_TAPS / 2, "content_layers");
  double sw = config_float(cfg, "style_weight"), cw = config_float(cfg, "content_weight");
  s->last = 0;
  for (int k = 0; k < ns + nc; k++) {
    Tap *p = &s->tap[s->ntap++];
    p->style = k < ns;
    p->layer = p->style ? si[k] : ci[k - ns];
    s->last = p->layer > s->last ? p->layer : s->last;
  }
  // The optimized image's activations, as far up as the highest tap, give the taps' shapes;
  // only the tapped conv outputs are kept apart from their ReLUs'.
  memset(s->keep, 0, sizeof s->keep);
  for (int k = 0; k < s->ntap; k++) s->keep[s->tap[k].layer] = 1;
  vgg_acts_alloc_keep(&s->acts, &s->vgg, s->H, s->W, s->last, s->keep);
  for (int k = 0; k < s->ntap; k++) {
    Tap *p = &s->tap[k];
    int C, H, W;
    vgg_out_shape(&s->acts, p->layer, &C, &H, &W);
    p->C = C;
    p->HW = H * W;
    // n_l of the seed's 1e3 / n^2 is the layer's width in VGG19 (64 ... 512).
    double n = (double)C * s->vgg.div;
    p->weight = (float)(p->style ? sw / (n * n) : cw);
  }
}

// Targets: content features of the content image; Grams of each style image, averaged (blend
// NULL: each added as G / nstyle, the seed's arithmetic) or blended (G x blend[i], the weights
// already summing to 1; so `1,0` is the first image's Gram exactly and `1,1` the mean's bits).
static void make_targets(Style *s, const float *content, char **styles, int nstyle, int size,
                         const float *blend) {
  Ctx *ctx = &s->t->ctx;
  // The content's forward runs in s->acts (its size); the style images' in acts of their own
  // made while s->acts is freed, so that at most one set of activations is alive (two doubled
  // the peak memory: ctx_alloc touches every page).
  vgg_forward(ctx, &s->vgg, &s->acts, content);
  for (int k = 0; k < s->ntap; k++) {
    Tap *p = &s->tap[k];
    if (p->style) {
      p->target = ctx_alloc(s->dev, sizeof(float) * p->C * p->C);  // zeroed
      p->G = ctx_alloc(s->dev, sizeof(float) * p->C * p->C);
      p->dG = ctx_alloc(s->dev, sizeof(float) * p->C * p->C);
    } else {
      p->target = ctx_alloc(s->dev, sizeof(float) * p->C * p->HW);
      ctx_copy(ctx, p->target, vgg_out(&s->acts, p->layer), sizeof(float) * (size_t)p->C * p->HW);
    }
  }
  vgg_acts_free(&s->acts);
  VggActs a;
  for (int i = 0; i < nstyle; i++) {
    int h, w;
    float *img = load_image(s, styles[i], size, &h, &w);
    trainer_log(s->t, "|   style %s: %d x %d, weight %g\n", styles[i], w, h,
                blend ? blend[i] : 1.0 / nstyle);
    vgg_acts_alloc_keep(&a, &s->vgg, h, w, s->last, s->keep);
    vgg_forward(ctx, &s->vgg, &a, img);
    for (int k = 0; k < s->ntap; k++) {
      Tap *p = &s->tap[k];
      if (!p->style) continue;
      int C, H, W;
      vgg_out_shape(&a, p->layer, &C, &H, &W);
      gram_forward(ctx, p->G, vgg_out(&a, p->layer), 1, C, H * W);
      if (blend) {
        scale_inplace(ctx, p->G, (size_t)C * C, blend[i]);
        add_inplace(ctx, p->target, p->G, (size_t)C * C, 1.0f);
      } else {
        add_inplace(ctx, p->target, p->G, (size_t)C * C, (float)nstyle);
      }
    }
    vgg_acts_free(&a);
    ctx_release(s->dev, img);
  }
  vgg_acts_alloc_keep(&s->acts, &s->vgg, s->H, s->W, s->last, s->keep);
}

// ---- the closure L-BFGS calls: loss and dloss/dimg at the current image

// The taps' gradients at `layer`, made as VGG's backward pass reaches it (vgg_backward_fn):
// the first tap of the layer writes into dout, a second into its own buffer, then added.
static void tap_grads(void *arg, int layer, float *dout) {
  Style *s = arg;
  Ctx *ctx = &s->t->ctx;
  int first = 1;
  for (int k = 0; k < s->ntap; k++) {
    Tap *p = &s->tap[k];
    if (p->layer != layer) continue;
    const float *F = vgg_out(&s->acts, p->layer);
    size_t n = (size_t)p->C * p->HW;
    float *dst = first ? dout : p->d;
    if (p->style)
      style_loss_backward(ctx, dst, p->dG, p->G, p->target, F, 1, p->C, p->HW, p->weight);
    else
      mse_loss_backward(ctx, dst, F, p->target, n, p->weight);
    if (!first) add_inplace(ctx, dout, dst, n, 1.0f);
    first = 0;
  }
}

static float closure(void *arg) {
  Style *s = arg;
  Ctx *ctx = &s->t->ctx;
  vgg_forward(ctx, &s->vgg, &s->acts, s->img);
  double loss = 0, part[2] = {0, 0};  // the content and the style taps' parts
  for (int k = 0; k < s->ntap; k++) {
    Tap *p = &s->tap[k];
    const float *F = vgg_out(&s->acts, p->layer);
    double before = loss;
    if (p->style)
      loss += p->weight * (double)style_loss_forward(ctx, p->G, F, p->target, 1, p->C, p->HW);
    else
      loss += p->weight * (double)mse_loss_forward(ctx, F, p->target, (size_t)p->C * p->HW);
    part[p->style != 0] += loss - before;
  }
  vgg_backward_fn(ctx, &s->vgg, &s->acts, s->keep, tap_grads, s, s->grad);
  double tv = 0;
  if (s->tv_weight > 0) {  // tv_weight / 2 x tv(img): gradient tv_weight x the differences
    float half = 0.5f * s->tv_weight;
    tv = half * tv_loss_forward(ctx, s->img, 1, 3, s->H, s->W);
    tv_loss_backward(ctx, s->grad, s->img, 1, 3, s->H, s->W, half);
    loss += tv;
  }
  s->evals++;
  s->t->work_done = s->stage * config_int(&s->t->cfg, "max_evals") + s->evals;
  s->last_loss = loss;
  if (s->evals % s->show == s->show - 1) {  // the seed's test, and its label n + 1
    trainer_log(s->t, "Iteration: %lld, loss: %f\n", (long long)s->evals + 1, loss);
    runlog_metric(s->t, "train/loss", loss);
    runlog_metric(s->t, "train/style_loss", part[1]);
    runlog_metric(s->t, "train/content_loss", part[0]);
    if (s->tv_weight > 0) runlog_metric(s->t, "train/tv_loss", tv);
  }
  return (float)loss;
}

// ---- checkpoint contents

static void build_stage(Style *s, int stage);
static void free_stage(Style *s);

static int style_save(Trainer *t, void *task, H5File *f) {
  Style *s = task;
  int64_t dims[4] = {1, 3, s->H, s->W};
  size_t n = (size_t)3 * s->H * s->W;
  float *img = xmalloc_floats(n);
  ctx_download(s->dev, img, s->img, sizeof(float) * n);
  int rc = h5_write_f32(f, "state/image", img, 4, dims);
  free(img);
  rc |= lbfgs_save(f, &s->opt, "optim/lbfgs");
  rc |= h5_write_scalar_i64(f, "train/evals", s->evals);
  if (s->nstage > 1) rc |= h5_write_scalar_i64(f, "train/stage", s->stage);
  return rc ? -1 : 0;
}

static int style_load(Trainer *t, void *task, H5File *f, int version, char *err, size_t errlen) {
  Style *s = task;
  int64_t stage = 0;  // sizes: the stage the checkpoint is in (absent: the first)
  if (h5_exists(f, "train/stage") &&
      h5_read_scalar_i64_min(f, "train/stage", &stage, 0, err, errlen))
    return -1;
  if (stage >= s->nstage) {
    snprintf(err, errlen, "%s: train/stage is %lld, this job has %d stage%s (sizes)", f->path,
             (long long)stage, s->nstage, s->nstage == 1 ? "" : "s");
    return -2;
  }
  if (stage != s->stage) {
    free_stage(s);
    build_stage(s, (int)stage);
  }
  int64_t dims[4] = {1, 3, s->H, s->W}, have[4] = {0};
  if (h5_shape(f, "state/image", have, 4, err, errlen) == 4 &&
      (have[2] != dims[2] || have[3] != dims[3])) {
    snprintf(err, errlen, "%s: state/image is %lld x %lld, this job's image %d x %d", f->path,
             (long long)have[2], (long long)have[3], s->H, s->W);
    return -2;
  }
  size_t n = (size_t)3 * s->H * s->W;
  float *img = xmalloc_floats(n);
  int bad = h5_read_f32(f, "state/image", img, 4, dims, err, errlen);
  if (!bad) ctx_upload(s->dev, s->img, img, sizeof(float) * n);
  free(img);
  if (bad) return -1;
  int rc = lbfgs_load(f, &s->opt, "optim/lbfgs", err, errlen);
  if (rc) return rc;
  if (h5_read_scalar_i64_min(f, "train/evals", &s->evals, 0, err, errlen)) return -1;
  t->work_done = s->stage * config_int(&t->cfg, "max_evals") + s->evals;
  return 0;
}

// ---- setup: VGG19, the images, the taps and their targets, L-BFGS

// vgg = random or random/N: VGG19 at width 1/N with seeded random weights; returns N (1 for
// plain `random`), or 0 when vgg names a file.
static int random_vgg_width(Trainer *t, const char *vgg) {
  if (strncmp(vgg, "random", 6) != 0 || (vgg[6] && vgg[6] != '/')) return 0;
  if (!vgg[6]) return 1;
  char *end;
  long n = strtol(vgg + 7, &end, 10);
  if (*end || end == vgg + 7 || n < 1 || n > 64 || 64 % n != 0)
    trainer_fail(t, "vgg = %s: expected random or random/N with N dividing 64 (1, 2, 4, ..., 64)",
                 vgg);
  return (int)n;
}

// style_blend = w1,w2,...: one weight >= 0 per style image, normalized to sum 1 into out;
// returns 0 when the key is empty (the mean).
static int parse_blend(Trainer *t, const char *text, int nstyle, float *out) {
  if (!text[0]) return 0;
  char *copy = xstrdup(text), *save = NULL;
  double w[MAX_STYLES + 1], sum = 0;
  int n = 0;
  for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
    char *end;
    double v = strtod(p, &end);
    if (*end || end == p || !(v >= 0) || !isfinite(v))
      trainer_fail(t, "style_blend = %s: '%s' is not a weight >= 0", text, p);
    if (n <= MAX_STYLES) w[n] = v;
    n++;
    sum += v;
  }
  free(copy);
  if (n != nstyle)
    trainer_fail(t, "style_blend = %s: %d weight%s for %d style image%s (one per image of `style`)",
                 text, n, n == 1 ? "" : "s", nstyle, nstyle == 1 ? "" : "s");
  if (!(sum > 0)) trainer_fail(t, "style_blend = %s: the weights sum to 0", text);
  for (int i = 0; i < n; i++) out[i] = (float)(w[i] / sum);
  return 1;
}

// sizes = s1,s2,...: the stages' short sides (each 16..8192); empty: `size` alone.
static void parse_sizes(Trainer *t, Style *s) {
  const char *text = config_str(&t->cfg, "sizes");
  s->nstage = 0;
  if (!text[0]) {
    s->sizes[s->nstage++] = (int)config_int(&t->cfg, "size");
    return;
  }
  char *copy = xstrdup(text), *save = NULL;
  for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
    char *end;
    long v = strtol(p, &end, 10);
    if (*end || end == p || v < 16 || v > 8192)
      trainer_fail(t, "sizes = %s: '%s' is not a short side in 16..8192", text, p);
    if (s->nstage == MAX_STAGES) trainer_fail(t, "sizes = %s: more than %d stages", text, MAX_STAGES);
    s->sizes[s->nstage++] = (int)v;
  }
  free(copy);
  if (!s->nstage) trainer_fail(t, "sizes = %s: no size", text);
}

// The short side of the style images at content size `size` (style_scale).
static int style_size(Trainer *t, int size) {
  double scaled = floor(size * config_float(&t->cfg, "style_scale") + 0.5);
  if (scaled < 16 || scaled > 8192)
    trainer_fail(t, "style_scale = %g: the style images' short side would be %.0f (size %d), "
                 "outside 16..8192", config_float(&t->cfg, "style_scale"), scaled, size);
  return (int)scaled;
}

// Everything that depends on the stage's size: the content image, the taps and their targets,
// the image and its gradient, a fresh L-BFGS.
static void build_stage(Style *s, int stage) {
  Trainer *t = s->t;
  const Config *cfg = &t->cfg;
  int size = s->sizes[stage];
  s->stage = stage;
  s->evals = 0;
  s->ntap = 0;
  s->content = load_image(s, config_str(cfg, "content"), size, &s->H, &s->W);
  if (s->nstage > 1)
    trainer_log(t, "| stage %d/%d: short side %d (%d x %d) from step %lld\n", stage + 1, s->nstage,
                size, s->W, s->H, (long long)t->step);
  setup_taps(s);
  make_targets(s, s->content, s->styles, s->nstyle, style_size(t, size),
               s->blended ? s->blend : NULL);
  // The taps' gradients go into VGG's backward scratch (tap_grads); only a second tap on one
  // layer needs a buffer of its own.
  for (int k = 0; k < s->ntap; k++) {
    int before = 0;
    for (int j = 0; j < k; j++) before |= s->tap[j].layer == s->tap[k].layer;
    if (before) s->tap[k].d = ctx_alloc(s->dev, sizeof(float) * (size_t)s->tap[k].C * s->tap[k].HW);
  }
  size_t n = (size_t)3 * s->H * s->W;
  s->img = ctx_alloc(s->dev, sizeof(float) * n);
  s->grad = ctx_alloc(s->dev, sizeof(float) * n);
  LbfgsConfig lc;
  lbfgs_config_default(&lc);
  lc.lr = config_float(cfg, "lr");
  lc.history_size = (int)config_int(cfg, "history");
  lbfgs_config_set_max_iter(&lc, (int)config_int(cfg, "max_iter"));
  lbfgs_init_for(&t->ctx, &s->opt, &lc, n);  // its vectors beside the image
  t->work_done = stage * config_int(cfg, "max_evals");
}

static void free_stage(Style *s) {
  for (int k = 0; k < s->ntap; k++) {
    ctx_release(s->dev, s->tap[k].target);
    ctx_release(s->dev, s->tap[k].G);
    ctx_release(s->dev, s->tap[k].dG);
    ctx_release(s->dev, s->tap[k].d);
    memset(&s->tap[k], 0, sizeof s->tap[k]);
  }
  s->ntap = 0;
  lbfgs_free(&s->opt);
  vgg_acts_free(&s->acts);
  ctx_release(s->dev, s->img);
  ctx_release(s->dev, s->grad);
  ctx_release(s->dev, s->content);
  s->img = s->grad = s->content = NULL;
}

static void style_setup(Trainer *t, void *task) {
  Style *s = task;
  s->t = t;
  if (t->comm.size > 1)
    trainer_fail(t, "task = style optimizes one image in one process: start it without mpirun "
                    "(got %d ranks), or give pairs = FILE to share many pairs over the ranks",
                 t->comm.size);
  const Config *cfg = &t->cfg;
  if (!config_str(cfg, "content")[0])
    trainer_fail(t, "missing required key 'content' (the content image; or pairs = FILE)");
  if (!config_str(cfg, "style")[0])
    trainer_fail(t, "missing required key 'style' (the style image(s); or pairs = FILE)");
  char err[GENET_ERR_MAX];
  const char *vgg = config_str(cfg, "vgg");
  int random_div = random_vgg_width(t, vgg);
  if (random_div)
    vgg19_random(&s->vgg, &t->ctx, random_div, t->seed, STYLE_VGG_STREAM);
  else if (vgg19_load(&s->vgg, &t->ctx, vgg, err, sizeof err))
    trainer_fail(t, "vgg = %s: %s", vgg, err);
  s->dev = s->vgg.params.ctx;
  s->vgg.avg_pool = !strcmp(config_str(cfg, "pooling"), "avg");
  s->tv_weight = (float)config_float(cfg, "tv_weight");
  if (t->ctx.dev != DEV_CPU && (s->vgg.avg_pool || s->tv_weight > 0))
    trainer_fail(t, "%s runs on the CPU only for now (device = cpu)",
                 s->vgg.avg_pool ? "pooling = avg" : "tv_weight > 0");
  const char *init = config_str(cfg, "init");
  if (strcmp(init, "content") && strcmp(init, "noise") &&
      (strncmp(init, "image:", 6) || !init[6]))
    trainer_fail(t, "init = %s: expected content, noise or image:PATH", init);
  char *save = NULL;
  s->style_list = xstrdup(config_str(cfg, "style"));
  for (char *p = strtok_r(s->style_list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    while (*p == ' ') p++;
    if (s->nstyle == MAX_STYLES) trainer_fail(t, "style: more than %d images", MAX_STYLES);
    s->styles[s->nstyle++] = p;
  }
  if (!s->nstyle) trainer_fail(t, "style: no image given");
  s->blended = parse_blend(t, config_str(cfg, "style_blend"), s->nstyle, s->blend);
  parse_sizes(t, s);
  for (int k = 0; k < s->nstage; k++) style_size(t, s->sizes[k]);  // every stage's, before work
  build_stage(s, 0);
  if (!strncmp(init, "image:", 6)) {  // resized to the content's H x W
    int h = s->H, w = s->W;
    if (!(s->init_img = style_image_load(init + 6, 0, &h, &w, err, sizeof err)))
      trainer_fail(t, "init = %s: %s", init, err);
  }
  s->show = config_int(cfg, "show_every");
  t->work_unit = "eval";  // the progress line counts evaluations of max_evals, over the stages
  t->work_total = config_int(cfg, "max_evals") * s->nstage;
  char from[GENET_PATH_MAX + 64];
  if (random_div)
    snprintf(from, sizeof from, "random weights (seed %llu, width 1/%d)",
             (unsigned long long)t->seed, random_div);
  else
    snprintf(from, sizeof from, "%s (width 1/%d)", vgg, s->vgg.div);
  trainer_log(t, "| content %s (%d x %d), %d style image%s, VGG19 from %s, %d taps, "
              "features up to %s\n", config_str(cfg, "content"), s->W, s->H, s->nstyle,
              s->nstyle == 1 ? "" : "s", from, s->ntap, vgg_layer_name(s->last));
  if (random_div)
    trainer_log(t, "| NOTE: VGG19 has RANDOM weights (vgg = random): the result carries the style's "
                "colours and textures, not a trained network's; for real style transfer: "
                "scripts/get-data.sh vgg19, then vgg = data/vgg19.h5\n");
  for (int k = 0; k < s->ntap; k++)
    trainer_log(t, "|   %-8s %-7s weight %g\n", vgg_layer_name(s->tap[k].layer),
                s->tap[k].style ? "style" : "content", s->tap[k].weight);
}

// The starting image: the content image (as the seed), init = image:PATH's, or noise.
static void style_init(Trainer *t, void *task) {
  Style *s = task;
  if (s->stage != 0) {  // a resume that fell back to a fresh start after loading a later stage
    free_stage(s);
    build_stage(s, 0);
  }
  size_t n = (size_t)3 * s->H * s->W;
  if (!strcmp(config_str(&t->cfg, "init"), "content")) {
    ctx_copy(&t->ctx, s->img, s->content, sizeof(float) * n);
  } else if (s->init_img) {
    ctx_upload(s->dev, s->img, s->init_img, sizeof(float) * n);
  } else {  // drawn on the host, as on the CPU, then uploaded
    Rng r;
    float *x = xmalloc_floats(n);
    rng_init(&r, t->seed, 0);
    rng_fill_normal(&r, x, n, 0.0f, 50.0f);  // about the spread of preprocessed pixels
    ctx_upload(s->dev, s->img, x, sizeof(float) * n);
    free(x);
  }
}

// The end of a stage: its result written (result_<size>.png), the next stage built, and its
// image the result as written (8 bits, RGB, without original_colors' chroma) resized to the
// new content size: a function of the previous stage's image alone, so a resume anywhere
// repeats it exactly.
static void next_stage(Style *s) {
  char name[64];
  snprintf(name, sizeof name, "result_%d.png", s->sizes[s->stage]);
  save_image(s, name);
  Image prev, up;
  result_image(s, &prev, 0);
  free_stage(s);
  build_stage(s, s->stage + 1);
  image_resize(&up, &prev, s->H, s->W);
  image_free(&prev);
  size_t hw = (size_t)s->H * s->W;
  float *x = xmalloc_floats(3 * hw);
  style_image_preprocess(x, &up);
  image_free(&up);
  ctx_upload(s->dev, s->img, x, sizeof(float) * 3 * hw);
  free(x);
}

// One optimizer.step(closure): up to max_iter L-BFGS iterations, in the next stage when this
// one has done its evaluations.
static void style_step(Trainer *t, void *task) {
  Style *s = task;
  if (s->evals > config_int(&t->cfg, "max_evals") && s->stage + 1 < s->nstage) next_stage(s);
  lbfgs_step(&t->ctx, &s->opt, s->img, s->grad, closure, s);
  trainer_loss(t, s->last_loss);
}

// The seed's `while n_iter[0] <= max_iter`.
static const char *style_finished(Trainer *t, void *task) {
  Style *s = task;
  return s->stage + 1 == s->nstage && s->evals > config_int(&t->cfg, "max_evals")
             ? "all max_evals evaluations are done; raise max_evals to go on" : NULL;
}

static void style_on_checkpoint(Trainer *t, void *task) { save_image(task, "result.png"); }

static void style_end(Trainer *t, void *task) {
  Style *s = task;
  trainer_log(t, "| done: %lld evaluations, loss %f; image in %s/result.png\n", (long long)s->evals,
              s->last_loss, t->out_dir);
}

static void style_free(Trainer *t, void *task) {
  Style *s = task;
  free_stage(s);
  vgg_net_free(&s->vgg);
  free(s->style_list);
  free(s->init_img);
}

// pairs = FILE: the pairs over the ranks (style_pairs.c), each its own Trainer; else -1.
static int style_run_instead(Comm *comm, const Config *cfg, const char *job, int nover, char **over,
                             TaskResolve resolve) {
  if (!config_str(cfg, "pairs")[0]) return -1;
  return style_pairs_main(comm, cfg, job, nover, over, resolve);
}

const TaskOps style_task_ops = {
    .name = "style",
    .best = "train/loss",
    .keys = style_task_keys,
    .nkeys = &style_task_nkeys,
    .size = sizeof(Style),
    .rng_scheme = "philox4x32-10; noise image (init = noise): stream 0; vgg = random: stream 1, in layer order",
    .accumulates = 0,
    .cuda = 1,
    .setup = style_setup,
    .init = style_init,
    .save = style_save,
    .load = style_load,
    .step = style_step,
    .finished = style_finished,
    .on_checkpoint = style_on_checkpoint,
    .end = style_end,
    .free = style_free,
    .run_instead = style_run_instead,
};
