// fast_style_task.c: `task = fast_style`, pytorch/examples fast_neural_style's `train`: every
// step takes a batch of content images (Resize(image_size) + CenterCrop, values in [0, 255]),
// stylizes them with the TransformerNet and minimizes the perceptual loss against VGG16
// (content at relu2_2, Grams of one style image at relu1_2, relu2_2, relu3_3, relu4_3;
// models/perceptual_model.h), with Adam. Data-parallel: rank r takes its slice of every global
// batch, the loss is each rank's batch mean and the gradients are averaged. Images come from
// `genet prepare images DIR OUT.h5` (uint8 `images` (n, 3, s, s)), read by each rank image by
// image. The epoch's order is a permutation from (seed, epoch); incomplete batches are dropped.
#include "tasks/fast_style_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/h5safe.h"
#include "data/image.h"
#include "data/params_io.h"
#include "models/perceptual_model.h"
#include "models/transformer_model.h"
#include "models/vgg_model.h"
#include "optim/optim.h"
#include "train/runlog.h"

const CfgSpec fast_style_task_keys[] = {
    {"data", CFG_STRING, NULL, 0, -1, NULL, "content images: HDF5 from `genet prepare images DIR OUT.h5`", CFG_RESUME_APPLIES},
    {"style", CFG_STRING, NULL, 0, -1, NULL, "the style image (PNG or JPEG)", CFG_RESUME_FIXED},
    {"style_size", CFG_INT, "0", 0, 8192, NULL, "short side the style image is resized to (0: as it is, the reference's default)", CFG_RESUME_FIXED},
    {"vgg", CFG_STRING, "data/vgg16.h5", 0, -1, NULL, "VGG16 weights (scripts/get-data.sh vgg16), or `random` (`random/N`: width 1/N): seeded random weights, nothing to download (a random loss network transfers textures, less well)", CFG_RESUME_APPLIES},
    {"width", CFG_INT, "32", 1, 1024, NULL, "the transformer's first width c (c, 2c, 4c channels; 32 the reference)", CFG_RESUME_FIXED},
    {"image_size", CFG_INT, "256", 16, 4096, NULL, "content images are resized (short side) and centre-cropped to this; a multiple of 4", CFG_RESUME_FIXED},
    {"batch", CFG_INT, "4", 1, 1 << 20, NULL, "global batch, divided among ranks (the reference's 4 per GPU is 4 x ranks)", CFG_RESUME_FIXED},
    {"epochs", CFG_INT, "2", 1, 1e9, NULL, "passes over the content images", CFG_RESUME_APPLIES},
    {"lr", CFG_FLOAT, "0.001", 1e-12, 10, NULL, "Adam learning rate", CFG_RESUME_APPLIES},
    {"content_weight", CFG_FLOAT, "1e5", 0, 1e30, NULL, "weight of the content loss (MSE at relu2_2)", CFG_RESUME_APPLIES},
    {"style_weight", CFG_FLOAT, "1e10", 0, 1e30, NULL, "weight of the style loss (sum over the 4 taps of the MSE of Grams / C H W)", CFG_RESUME_APPLIES},
    {"log_interval", CFG_INT, "500", 1, 1e9, NULL, "steps between progress lines (the reference's)", CFG_RESUME_APPLIES},
};
const int fast_style_task_nkeys = sizeof fast_style_task_keys / sizeof *fast_style_task_keys;

// Random streams (Philox, seed + stream id): the transformer's weights 0, a random VGG's 1,
// the epoch order 2 + epoch. Functions of the position: resume and any world size draw alike.
#define RNG_INIT 0
#define RNG_VGG 1
#define RNG_EPOCH(e) (2 + (uint64_t)(e))

typedef struct {
  Trainer *t;
  TransformerNet net;
  VggNet vgg;
  Perceptual loss;
  TransformerActs acts;
  AdamState adam;
  AdamConfig acfg;
  int set;
  int B, Bl, S;              // global and per-rank batch, image side
  H5File data;
  uint8_t *row;              // (3, h, w) one image as stored
  int64_t n, *perm;
  int h, w;
  const Ctx *dev;
  float *xh;                 // (Bl, 3, S, S) host batch
  float *x, *dy;             // [dev] (Bl, 3, S, S): the batch, the loss gradient w.r.t. y
  double cw, sw;
  int64_t log_interval;
  double agg_c, agg_s;       // sums since the last progress line (the reference's agg_*)
  int64_t agg_n;
} FastStyle;

// ---- data

static void read_image(FastStyle *s, int64_t idx, float *out) {
  char err[GENET_ERR_MAX];
  if (h5_read_rows_u8(&s->data, "images", s->row, idx, 1, 3, (int64_t[]){3, s->h, s->w}, err, sizeof err))
    comm_abort(&s->t->comm, "%s", err);
  size_t hw = (size_t)s->h * s->w, S2 = (size_t)s->S * s->S;
  if (s->h == s->S && s->w == s->S) {  // prepared at this size: Resize and CenterCrop change nothing
    for (size_t i = 0; i < 3 * hw; i++) out[i] = s->row[i];
    return;
  }
  Image src = {.h = s->h, .w = s->w, .px = xmalloc(hw * 3)}, big, crop;
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < hw; i++) src.px[i * 3 + c] = s->row[c * hw + i];
  if (image_resize_short(&big, &src, s->S, "images", err, sizeof err)) comm_abort(&s->t->comm, "%s", err);
  image_center_crop(&crop, &big, s->S, s->S);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < S2; i++) out[c * S2 + i] = crop.px[i * 3 + c];
  image_free(&src);
  image_free(&big);
  image_free(&crop);
}

static void open_data(FastStyle *s, const char *path) {
  char err[GENET_ERR_MAX] = "";
  int64_t d[4] = {0};
  if (h5safe_open(&s->data, path, err, sizeof err) || h5_shape(&s->data, "images", d, 4, err, sizeof err) != 4 ||
      d[1] != 3 || d[0] < 1 || d[2] < 1 || d[3] < 1 || d[2] > 8192 || d[3] > 8192)
    trainer_fail(s->t, "data = %s: %s", path, err[0] ? err : "`images` must be (n, 3, h, w) uint8 (genet prepare images)");
  s->n = d[0];
  s->h = (int)d[2];
  s->w = (int)d[3];
  s->row = xmalloc((size_t)3 * s->h * s->w);
  if (h5_read_rows_u8(&s->data, "images", s->row, s->n - 1, 1, 3, d + 1, err, sizeof err))
    trainer_fail(s->t, "data = %s: %s", path, err);
}

static void permutation(const FastStyle *s, int64_t epoch) {
  Rng r;
  rng_init(&r, s->t->seed, RNG_EPOCH(epoch));
  for (int64_t i = 0; i < s->n; i++) s->perm[i] = i;
  for (int64_t i = s->n - 1; i > 0; i--) {  // Fisher-Yates
    uint64_t x = ((uint64_t)rng_u32(&r) << 32) | rng_u32(&r);
    int64_t j = (int64_t)(x % (uint64_t)(i + 1)), tmp = s->perm[i];
    s->perm[i] = s->perm[j];
    s->perm[j] = tmp;
  }
}

// ---- setup

// vgg = random or random/N: returns N (1 for `random`), 0 when vgg names a file.
static int random_div(Trainer *t, const char *vgg) {
  if (strncmp(vgg, "random", 6) != 0 || (vgg[6] && vgg[6] != '/')) return 0;
  if (!vgg[6]) return 1;
  char *end;
  long n = strtol(vgg + 7, &end, 10);
  if (*end || end == vgg + 7 || n < 1 || n > 64 || 64 % n != 0)
    trainer_fail(t, "vgg = %s: expected random or random/N with N dividing 64 (1, 2, 4, ..., 64)", vgg);
  return (int)n;
}

static void load_style(FastStyle *s) {
  Trainer *t = s->t;
  const char *path = config_str(&t->cfg, "style");
  int size = (int)config_int(&t->cfg, "style_size");
  char err[GENET_ERR_MAX];
  Image img, rs;
  if (image_read(&img, path, err, sizeof err)) trainer_fail(t, "style = %s: %s", path, err);
  if (size > 0) {
    if (image_resize_short(&rs, &img, size, path, err, sizeof err)) trainer_fail(t, "%s", err);
    image_free(&img);
    img = rs;
  }
  if (img.h < 16 || img.w < 16)
    trainer_fail(t, "style = %s: %d x %d; VGG16 to relu4_3 needs at least 16 x 16", path, img.h, img.w);
  size_t hw = (size_t)img.h * img.w;
  float *h = xmalloc_floats(3 * hw), *d = ctx_alloc(s->dev, sizeof(float) * 3 * hw);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < hw; i++) h[c * hw + i] = img.px[i * 3 + c];
  ctx_upload(s->dev, d, h, sizeof(float) * 3 * hw);
  perceptual_set_style(&s->loss, &t->ctx, d, img.h, img.w);
  trainer_log(t, "| style %s: %d x %d\n", path, img.w, img.h);
  ctx_release(s->dev, d);
  free(h);
  image_free(&img);
}

static void fast_style_setup(Trainer *t, void *task) {
  FastStyle *s = task;
  s->t = t;
  const Config *cfg = &t->cfg;
  char err[GENET_ERR_MAX];
  s->B = (int)config_int(cfg, "batch");
  s->Bl = trainer_micro_batch(t, s->B, "images");
  s->S = (int)config_int(cfg, "image_size");
  if (s->S % 4) trainer_fail(t, "image_size = %d: expected a multiple of 4 (the transformer halves it twice)", s->S);
  open_data(s, config_str(cfg, "data"));
  t->steps_per_epoch = s->n / s->B;
  t->epochs = config_int(cfg, "epochs");
  if (t->steps_per_epoch < 1)
    trainer_fail(t, "data = %s: %lld images, fewer than one batch of %d", config_str(cfg, "data"), (long long)s->n, s->B);
  const char *vgg = config_str(cfg, "vgg");
  int div = random_div(t, vgg);
  if (div) {
    vgg16_random(&s->vgg, &t->ctx, div, t->seed, RNG_VGG);
    trainer_log(t, "| NOTE: vgg = %s: the loss network is VGG16 at width 1/%d with SEEDED RANDOM weights, not "
                   "ImageNet's: styles transfer as textures, less well. For the reference's results run "
                   "scripts/get-data.sh vgg16 and set vgg = data/vgg16.h5\n", vgg, div);
  } else if (vgg16_load(&s->vgg, &t->ctx, vgg, err, sizeof err)) {
    trainer_fail(t, "vgg = %s: %s", vgg, err);
  }
  transformer_build(&s->net, (int)config_int(cfg, "width"), &t->ctx);
  s->dev = s->net.params.ctx;
  s->set = trainer_add_params(t, &s->net.params);
  adam_config_default(&s->acfg);
  s->acfg.lr = config_float(cfg, "lr");
  adam_init_for(&s->adam, &s->net.params);
  transformer_acts_alloc(&s->acts, &s->net, s->Bl, s->S, s->S);
  perceptual_init(&s->loss, &s->vgg, s->S, s->S);
  load_style(s);
  size_t isz = (size_t)3 * s->S * s->S;
  s->xh = xmalloc_floats(isz * s->Bl);
  s->x = ctx_alloc(s->dev, sizeof(float) * isz * s->Bl);
  s->dy = ctx_alloc(s->dev, sizeof(float) * isz * s->Bl);
  s->perm = xmalloc(sizeof(int64_t) * (size_t)s->n);
  s->cw = config_float(cfg, "content_weight");
  s->sw = config_float(cfg, "style_weight");
  s->log_interval = config_int(cfg, "log_interval");
  trainer_log(t, "| data %s: %lld images %dx%d -> %dx%d, %lld batches of %d an epoch\n", config_str(cfg, "data"),
              (long long)s->n, s->w, s->h, s->S, s->S, (long long)t->steps_per_epoch, s->B);
  trainer_log(t, "| transformer: %zu floats (width %d); VGG16 at width 1/%d\n", s->net.params.total,
              s->net.width, s->vgg.div);
}

static void fast_style_init(Trainer *t, void *task) {
  FastStyle *s = task;
  Rng r;
  rng_init(&r, t->seed, RNG_INIT);
  transformer_init_weights(&s->net, &r);
}

static void fast_style_epoch_begin(Trainer *t, void *task) {
  FastStyle *s = task;
  permutation(s, t->epoch);
  if (t->batch > 0) return;  // resumed in mid-epoch: the sums come from the checkpoint
  s->agg_c = s->agg_s = 0;
  s->agg_n = 0;
}

// ---- one step

static void fast_style_step(Trainer *t, void *task) {
  FastStyle *s = task;
  Ctx *ctx = &t->ctx;
  size_t isz = (size_t)3 * s->S * s->S;
  const int64_t *mine = s->perm + t->batch * s->B + (int64_t)t->comm.rank * s->Bl;
  for (int i = 0; i < s->Bl; i++) read_image(s, mine[i], s->xh + isz * i);
  ctx_upload(s->dev, s->x, s->xh, sizeof(float) * isz * s->Bl);
  const float *y = transformer_forward(ctx, &s->net, &s->acts, s->x);
  double c, st;
  perceptual_loss(&s->loss, ctx, y, s->x, s->Bl, s->cw, s->sw, s->dy, &c, &st);
  trainer_grads_zero(t, s->set);
  transformer_backward(ctx, &s->net, &s->acts, s->dy, NULL, trainer_grad_ready(t, s->set, 0));
  trainer_grads_reduce(t, s->set);
  adam_step(ctx, &s->adam, s->net.params.data, s->net.params.grad, &s->acfg);
  c = trainer_mean(t, c);
  st = trainer_mean(t, st);
  trainer_loss(t, c + st);
  s->agg_c += c;
  s->agg_s += st;
  s->agg_n++;
  int64_t i = t->batch;
  if ((i + 1) % s->log_interval == 0 || i + 1 == t->steps_per_epoch) {
    trainer_log(t, "Epoch %lld:\t[%lld/%lld]\tcontent: %.6f\tstyle: %.6f\ttotal: %.6f\n", (long long)t->epoch + 1,
                (long long)(i + 1) * s->B, (long long)t->steps_per_epoch * s->B, s->agg_c / s->agg_n,
                s->agg_s / s->agg_n, (s->agg_c + s->agg_s) / s->agg_n);
    double ms = runlog_step_ms(t);
    const char *tag[] = {"train/loss", "train/content_loss", "train/style_loss", "speed/ms_per_step", "speed/images_per_s"};
    double v[] = {c + st, c, st, ms, 1e3 * s->B / ms};
    for (int k = 0; k < 5; k++) runlog_metric(t, tag[k], v[k]);
  }
}

// ---- checkpoints: params/<state_dict key> (so `genet stylize` and init_weights read
// scripts/torch_to_h5.py's files too) and optim/transformer

static int fast_style_save(Trainer *t, void *task, H5File *f) {
  FastStyle *s = task;
  int rc = params_write(f, &s->net.params, s->net.params.data, "params");
  rc |= adam_save(f, &s->adam, &s->net.params, "optim/transformer");
  double agg[3] = {s->agg_c, s->agg_s, (double)s->agg_n};  // the progress line's sums this epoch
  rc |= h5_write_f64(f, "state/agg_losses", agg, 3);
  return rc ? -1 : 0;
}

static int fast_style_load(Trainer *t, void *task, H5File *f, int version, char *err, size_t errlen) {
  FastStyle *s = task;
  int rc = params_read(f, &s->net.params, s->net.params.data, "params", err, errlen);
  if (!rc) rc = adam_load(f, &s->adam, &s->net.params, "optim/transformer", err, errlen);
  double agg[3];
  if (!rc && h5_read_f64(f, "state/agg_losses", agg, 3, err, errlen)) rc = -1;
  if (rc) return rc;
  s->agg_c = agg[0];
  s->agg_s = agg[1];
  s->agg_n = (int64_t)agg[2];
  return 0;
}

static int fast_style_load_weights(Trainer *t, void *task, H5File *f, char *err, size_t errlen) {
  FastStyle *s = task;
  return params_read(f, &s->net.params, s->net.params.data, "params", err, errlen);
}

static void fast_style_end(Trainer *t, void *task) {
  trainer_log(t, "| done: %lld epochs; stylize with genet stylize %s IMAGE [OUT] (its newest checkpoint)\n", (long long)t->epochs,
              t->ckpt_dir);
}

static void fast_style_free(Trainer *t, void *task) {
  FastStyle *s = task;
  ctx_release(s->dev, s->x);
  ctx_release(s->dev, s->dy);
  free(s->xh);
  free(s->perm);
  if (s->row) h5_close(&s->data, NULL, 0);
  free(s->row);
  if (s->loss.vgg) perceptual_free(&s->loss);
  if (s->acts.N) transformer_acts_free(&s->acts);
  adam_free(&s->adam);
  transformer_free(&s->net);
  vgg_net_free(&s->vgg);
}

const TaskOps fast_style_task_ops = {
    .name = "fast_style",
    .keys = fast_style_task_keys,
    .nkeys = &fast_style_task_nkeys,
    .size = sizeof(FastStyle),
    .rng_scheme = "philox4x32-10; transformer init 0, random VGG16 1, epoch order 2 + epoch (global batch, rank r takes its slice)",
    .accumulates = 0,
    .cuda = 1,
    .setup = fast_style_setup,
    .init = fast_style_init,
    .load_weights = fast_style_load_weights,
    .save = fast_style_save,
    .load = fast_style_load,
    .epoch_begin = fast_style_epoch_begin,
    .step = fast_style_step,
    .end = fast_style_end,
    .free = fast_style_free,
};
