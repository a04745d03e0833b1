// dcgan_task.c: `task = dcgan`: the seed's DCGAN loop (pytorch/examples dcgan): per
// iteration, D on a real batch (label 1) and on G(noise) detached (label 0), Adam step of D;
// then G through the updated D with label 1, Adam step of G. Data-parallel: each rank takes
// batch/w images of every global batch and gradients are averaged, BatchNorm statistics are
// per rank (as DistributedDataParallel). Images come from a CIFAR-10-layout file (`genet
// prepare cifar10` or `synthetic-images`), read image by image (a rank reads only its own),
// resized to 64x64 as torchvision's Resize(64) and scaled to [-1, 1].
#include "tasks/dcgan_task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/ckpt.h"
#include "models/dcgan_model.h"
#include "data/image.h"
#include "ops/loss.h"
#include "optim/optim.h"
#include "data/params_io.h"
#include "core/util.h"

const CfgSpec dcgan_task_keys[] = {
    {"data", CFG_STRING, NULL, 0, -1, NULL, "HDF5 images in the cifar10 layout (genet prepare cifar10 | synthetic-images)", CFG_RESUME_APPLIES},
    {"nz", CFG_INT, "100", 1, 4096, NULL, "latent size", CFG_RESUME_FIXED},
    {"ngf", CFG_INT, "64", 1, 4096, NULL, "generator width", CFG_RESUME_FIXED},
    {"ndf", CFG_INT, "64", 1, 4096, NULL, "discriminator width", CFG_RESUME_FIXED},
    {"batch", CFG_INT, "64", 1, 1 << 20, NULL, "global batch (divided among ranks)", CFG_RESUME_FIXED},
    {"epochs", CFG_INT, "25", 1, 1e9, NULL, "passes over the training images", CFG_RESUME_APPLIES},
    {"lr", CFG_FLOAT, "0.0002", 1e-12, 10, NULL, "Adam learning rate of both networks", CFG_RESUME_APPLIES},
    {"beta1", CFG_FLOAT, "0.5", 0, 0.999999, NULL, "Adam beta1", CFG_RESUME_APPLIES},
    {"beta2", CFG_FLOAT, "0.999", 0, 0.999999, NULL, "Adam beta2", CFG_RESUME_APPLIES},
    {"log_interval", CFG_INT, "50", 1, 1e9, NULL, "iterations between progress lines (the reference prints every one)", CFG_RESUME_APPLIES},
    {"sample_every", CFG_INT, "100", 0, 1e9, NULL, "iterations between sample grids in out_dir (0: only at epoch ends)", CFG_RESUME_APPLIES},
    {"sync_bn", CFG_BOOL, "false", 0, -1, NULL, "BatchNorm statistics over the global batch (default: per rank, as DDP)", CFG_RESUME_APPLIES},
};
const int dcgan_task_nkeys = sizeof dcgan_task_keys / sizeof *dcgan_task_keys;

// Random streams (Philox, seed + stream id): weights 0 and 1, the fixed sample noise 2, the
// epoch order 3 + epoch, the noise of step s 2^40 + s. Each a function of the position, so a
// resumed run draws what it would have drawn; the noise is drawn for the global batch and
// each rank takes its rows, so it does not depend on the number of ranks either.
#define RNG_G_INIT 0
#define RNG_D_INIT 1
#define RNG_FIXED 2
#define RNG_EPOCH(e) (3 + (uint64_t)(e))
#define RNG_NOISE(step) ((1ull << 40) + (uint64_t)(step))

typedef struct {
  Trainer *t;
  DcganConfig mc;
  DcganNet g, d;
  AdamState ag, ad;
  AdamConfig acfg;
  GradSync *gsg, *gsd;       // bucketed gradient averaging of G and D
  double wait_s;             // time spent waiting for all-reduces since the last report
  int64_t buckets, buckets_early, stat_steps;
  int B, Bl;                 // global and per-rank batch
  int64_t epoch, batch;      // 0-based epoch and the next batch within it
  H5File data;               // open for the whole run: each rank reads only its images
  uint8_t *row;              // (3, h, w) one image as stored
  int64_t n;
  int h, w;
} Gan;

// ---- data: the epoch's order is a permutation from (seed, epoch); rank r takes its slice
// of every global batch. Batches that would be incomplete are dropped (drop_last).

static void epoch_order(const Gan *s, int64_t epoch, int64_t *perm) {
  Rng r;
  rng_init(&r, s->t->seed, RNG_EPOCH(epoch));
  for (int64_t i = 0; i < s->n; i++) perm[i] = i;
  for (int64_t i = s->n - 1; i > 0; i--) {  // Fisher-Yates
    uint64_t x = ((uint64_t)rng_u32(&r) << 32) | rng_u32(&r);
    int64_t j = (int64_t)(x % (uint64_t)(i + 1)), tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

// Image idx resized to 64x64 as Resize(64) (PIL bilinear), then ToTensor and Normalize(0.5, 0.5).
static void load_image(Gan *s, int64_t idx, float *out) {
  char err[GENET_ERR_MAX];
  if (h5_read_rows_u8(&s->data, "train/images", s->row, idx, 1, 3, (int64_t[]){3, s->h, s->w}, err, sizeof err))
    comm_abort(&s->t->comm, "%s", err);
  Image src = {.h = s->h, .w = s->w, .px = xmalloc((size_t)s->h * s->w * 3)}, big;
  const uint8_t *chw = s->row;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < s->h * s->w; i++) src.px[(size_t)i * 3 + c] = chw[(size_t)c * s->h * s->w + i];
  image_resize_short(&big, &src, DCGAN_IMG);
  Image crop;
  image_center_crop(&crop, &big, DCGAN_IMG, DCGAN_IMG);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < DCGAN_IMG * DCGAN_IMG; i++)
      out[(size_t)c * DCGAN_IMG * DCGAN_IMG + i] = (crop.px[(size_t)i * 3 + c] / 255.0f - 0.5f) / 0.5f;
  image_free(&src);
  image_free(&big);
  image_free(&crop);
}

// ---- checkpoint contents (docs/CHECKPOINTS.md)

static int save_net(H5File *f, const DcganNet *n, const AdamState *a, const char *name) {
  char g[128];
  int rc = 0;
  snprintf(g, sizeof g, "params/%s", name);
  rc |= params_write(f, &n->params, n->params.data, g);
  snprintf(g, sizeof g, "buffers/%s", name);
  rc |= params_write(f, &n->buffers, n->buffers.data, g);
  for (int l = 0; l < DCGAN_LAYERS; l++) {
    if (n->layer[l].bn_idx < 0) continue;
    snprintf(g, sizeof g, "buffers/%s/main.%d.num_batches_tracked", name, n->layer[l].bn_idx);
    rc |= h5_write_scalar_i64(f, g, n->layer[l].num_batches_tracked);
  }
  snprintf(g, sizeof g, "optim/%s/exp_avg", name);
  rc |= params_write(f, &n->params, a->exp_avg, g);
  snprintf(g, sizeof g, "optim/%s/exp_avg_sq", name);
  rc |= params_write(f, &n->params, a->exp_avg_sq, g);
  snprintf(g, sizeof g, "optim/%s/step", name);
  rc |= h5_write_scalar_i64(f, g, a->step);
  return rc;
}

static int load_net(H5File *f, DcganNet *n, AdamState *a, const char *name, char *err, size_t errlen) {
  char g[128];
  int rc;
  snprintf(g, sizeof g, "params/%s", name);
  if ((rc = params_read(f, &n->params, n->params.data, g, err, errlen))) return rc;
  snprintf(g, sizeof g, "buffers/%s", name);
  if ((rc = params_read(f, &n->buffers, n->buffers.data, g, err, errlen))) return rc;
  for (int l = 0; l < DCGAN_LAYERS; l++) {
    if (n->layer[l].bn_idx < 0) continue;
    snprintf(g, sizeof g, "buffers/%s/main.%d.num_batches_tracked", name, n->layer[l].bn_idx);
    if (h5_read_scalar_i64(f, g, &n->layer[l].num_batches_tracked, err, errlen)) return -1;
  }
  snprintf(g, sizeof g, "optim/%s/exp_avg", name);
  if ((rc = params_read(f, &n->params, a->exp_avg, g, err, errlen))) return rc;
  snprintf(g, sizeof g, "optim/%s/exp_avg_sq", name);
  if ((rc = params_read(f, &n->params, a->exp_avg_sq, g, err, errlen))) return rc;
  snprintf(g, sizeof g, "optim/%s/step", name);
  return h5_read_scalar_i64(f, g, &a->step, err, errlen) ? -1 : 0;
}

// init_weights = FILE: params/ and buffers/ of netG and netD (another run's checkpoint).
static void load_init_weights(Gan *s, const char *path) {
  H5File f;
  char err[GENET_ERR_MAX], g[64];
  int rc = ckpt_open(&f, path, err, sizeof err);
  const char *nets[2] = {"netG", "netD"};
  DcganNet *n[2] = {&s->g, &s->d};
  for (int i = 0; i < 2 && !rc; i++) {
    snprintf(g, sizeof g, "params/%s", nets[i]);
    rc = params_read(&f, &n[i]->params, n[i]->params.data, g, err, sizeof err);
    snprintf(g, sizeof g, "buffers/%s", nets[i]);
    if (!rc) rc = params_read(&f, &n[i]->buffers, n[i]->buffers.data, g, err, sizeof err);
  }
  char e2[GENET_ERR_MAX];
  if (f.id >= 0) h5_close(&f, e2, sizeof e2);
  if (rc) trainer_fail(s->t, "init_weights = %s: %s", path, err);
  trainer_log(s->t, "| initial weights from %s\n", path);
}

static int save_state(H5File *f, void *arg) {
  Gan *s = arg;
  int rc = save_net(f, &s->g, &s->ag, "netG") | save_net(f, &s->d, &s->ad, "netD");
  rc |= h5_write_scalar_i64(f, "train/epoch", s->epoch);
  rc |= h5_write_scalar_i64(f, "train/batch", s->batch);
  rc |= h5_write_scalar_i64(f, "rng/seed", (int64_t)s->t->seed);
  rc |= h5_write_str(f, "rng/scheme", "philox4x32-10; G init 0, D init 1, fixed noise 2, epoch order 3 + epoch, noise of step s 2^40 + s (global batch, rank r takes its rows)");
  return rc ? -1 : 0;
}

static int load_state(H5File *f, void *arg, char *err, size_t errlen) {
  Gan *s = arg;
  int rc = load_net(f, &s->g, &s->ag, "netG", err, errlen);
  if (!rc) rc = load_net(f, &s->d, &s->ad, "netD", err, errlen);
  if (rc) return rc;
  if (h5_read_scalar_i64(f, "train/epoch", &s->epoch, err, errlen) ||
      h5_read_scalar_i64(f, "train/batch", &s->batch, err, errlen))
    return -1;
  return 0;
}

// ---- one iteration of the reference loop; returns the numbers it prints (rank means).

typedef struct {
  double err_d, err_g, d_x, d_g_z1, d_g_z2;
} GanStats;

static double mean_of(const float *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

static void account(Gan *s, const GradSync *gs) {
  GradSyncStats st = gradsync_stats(gs);
  s->wait_s += st.wait_s;
  s->buckets += st.buckets;
  s->buckets_early += st.buckets_early;
}

static GanStats iteration(Gan *s, DcganActs *ag, DcganActs *ad, const float *real, float *z,
                          float *fake, float *dfake, float *out, float *dout, float *ones,
                          float *zeros) {
  Trainer *t = s->t;
  Ctx *ctx = &t->ctx;
  int N = s->Bl;
  GanStats st;
  // (1) D: real with label 1, G(z) detached with label 0.
  params_zero_grad(&s->d.params);
  dcgan_forward(ctx, &s->d, ad, real, out, N, 1);
  double err_real = bce_loss_forward(ctx, out, ones, (size_t)N);
  st.d_x = mean_of(out, N);
  bce_loss_backward(ctx, dout, out, ones, (size_t)N, 1.0f);
  dcgan_backward(ctx, &s->d, ad, dout, NULL, N);
  Rng r;
  rng_init(&r, t->seed, RNG_NOISE(t->step));
  rng_fill_normal(&r, z, (size_t)s->B * s->mc.nz, 0.0f, 1.0f);
  dcgan_forward(ctx, &s->g, ag, z + (size_t)t->comm.rank * N * s->mc.nz, fake, N, 1);
  dcgan_forward(ctx, &s->d, ad, fake, out, N, 1);
  double err_fake = bce_loss_forward(ctx, out, zeros, (size_t)N);
  st.d_g_z1 = mean_of(out, N);
  bce_loss_backward(ctx, dout, out, zeros, (size_t)N, 1.0f);
  gradsync_begin(s->gsd);  // D's gradients are final layer by layer in this backward
  dcgan_backward_sync(ctx, &s->d, ad, dout, NULL, N, s->gsd);
  gradsync_finish(s->gsd);
  account(s, s->gsd);
  adam_step(ctx, &s->ad, s->d.params.data, s->d.params.grad, &s->acfg);
  // (2) G: through the updated D with label 1 (D's gradients from here are not used).
  params_zero_grad(&s->g.params);
  dcgan_forward(ctx, &s->d, ad, fake, out, N, 1);
  double err_g = bce_loss_forward(ctx, out, ones, (size_t)N);
  st.d_g_z2 = mean_of(out, N);
  bce_loss_backward(ctx, dout, out, ones, (size_t)N, 1.0f);
  dcgan_backward(ctx, &s->d, ad, dout, dfake, N);
  gradsync_begin(s->gsg);
  dcgan_backward_sync(ctx, &s->g, ag, dfake, NULL, N, s->gsg);
  gradsync_finish(s->gsg);
  account(s, s->gsg);
  adam_step(ctx, &s->ag, s->g.params.data, s->g.params.grad, &s->acfg);
  double w = t->comm.size;
  st.err_d = comm_sum_double(&t->comm, err_real + err_fake) / w;
  st.err_g = comm_sum_double(&t->comm, err_g) / w;
  st.d_x = comm_sum_double(&t->comm, st.d_x) / w;
  st.d_g_z1 = comm_sum_double(&t->comm, st.d_g_z1) / w;
  st.d_g_z2 = comm_sum_double(&t->comm, st.d_g_z2) / w;
  return st;
}

// Grids as the reference: the real batch, and G(fixed noise) with G in training mode, as
// there. Every rank generates its rows of the global batch (BatchNorm may be synchronized,
// so all must take part); a sum gathers both batches on rank 0, which writes them.
static void save_samples(Gan *s, DcganActs *ag, const float *real, const float *fixed, float *img,
                         float *all) {
  Trainer *t = s->t;
  size_t isz = (size_t)3 * DCGAN_IMG * DCGAN_IMG, mine = isz * s->Bl, off = mine * t->comm.rank;
  char path[GENET_PATH_MAX + 64], err[700];
  if (t->comm.rank == 0 && make_dirs(t->out_dir, err, sizeof err))
    comm_abort(&t->comm, "out_dir = %s: %s", t->out_dir, err);
  memset(all, 0, sizeof(float) * isz * s->B);
  memcpy(all + off, real, sizeof(float) * mine);
  comm_allreduce_sum(&t->comm, all, isz * s->B);
  snprintf(path, sizeof path, "%s/real_samples.png", t->out_dir);
  if (t->comm.rank == 0 && image_grid_png(path, all, s->B, 3, DCGAN_IMG, DCGAN_IMG, 8, 2, 1, err, sizeof err))
    comm_abort(&t->comm, "%s", err);
  dcgan_forward(&t->ctx, &s->g, ag, fixed + (size_t)t->comm.rank * s->Bl * s->mc.nz, img, s->Bl, 1);
  memset(all, 0, sizeof(float) * isz * s->B);
  memcpy(all + off, img, sizeof(float) * mine);
  comm_allreduce_sum(&t->comm, all, isz * s->B);
  snprintf(path, sizeof path, "%s/fake_samples_epoch_%03lld.png", t->out_dir, (long long)s->epoch);
  if (t->comm.rank == 0 && image_grid_png(path, all, s->B, 3, DCGAN_IMG, DCGAN_IMG, 8, 2, 1, err, sizeof err))
    comm_abort(&t->comm, "%s", err);
}

// Opens the images and checks their shape; reads none yet (a rank reads its own, by row).
static void open_data(Gan *s, const char *path) {
  H5File f;
  char err[GENET_ERR_MAX];
  int64_t dims[4] = {0};
  if (ckpt_open(&f, path, err, sizeof err) || h5_shape(&f, "train/images", dims, 4, err, sizeof err) != 4)
    trainer_fail(s->t, "data = %s: %s", path, err[0] ? err : "train/images must be (n, 3, h, w) uint8");
  if (dims[1] != 3 || dims[2] < 1 || dims[3] < 1 || dims[2] > 4096 || dims[3] > 4096)
    trainer_fail(s->t, "data = %s: train/images is (%lld, %lld, %lld, %lld), expected (n, 3, h, w)",
                 path, (long long)dims[0], (long long)dims[1], (long long)dims[2], (long long)dims[3]);
  s->n = dims[0];
  s->h = (int)dims[2];
  s->w = (int)dims[3];
  s->row = xmalloc((size_t)3 * s->h * s->w);
  // One read at the start, so a damaged file is named before any work, not in mid-epoch.
  if (h5_read_rows_u8(&f, "train/images", s->row, s->n - 1, 1, 3, dims + 1, err, sizeof err))
    trainer_fail(s->t, "data = %s: %s", path, err);
  s->data = f;
}

int dcgan_task_run(Trainer *t) {
  Gan s;
  memset(&s, 0, sizeof s);
  s.t = t;
  const Config *cfg = &t->cfg;
  s.B = (int)config_int(cfg, "batch");
  if (s.B % t->comm.size)
    trainer_fail(t, "batch = %d does not divide among %d ranks: use a multiple of %d", s.B,
                 t->comm.size, t->comm.size);
  s.Bl = s.B / t->comm.size;
  s.mc = (DcganConfig){.nz = (int)config_int(cfg, "nz"), .ngf = (int)config_int(cfg, "ngf"),
                       .ndf = (int)config_int(cfg, "ndf"), .nc = 3};
  open_data(&s, config_str(cfg, "data"));
  int64_t nbatches = s.n / s.B, epochs = config_int(cfg, "epochs");
  if (nbatches < 1)
    trainer_fail(t, "data = %s: %lld images, fewer than one batch of %d", config_str(cfg, "data"),
                 (long long)s.n, s.B);
  dcgan_build_g(&s.g, &s.mc);
  dcgan_build_d(&s.d, &s.mc);
  adam_config_default(&s.acfg);
  s.acfg.lr = config_float(cfg, "lr");
  s.acfg.beta1 = config_float(cfg, "beta1");
  s.acfg.beta2 = config_float(cfg, "beta2");
  adam_init(&s.ag, s.g.params.total);
  adam_init(&s.ad, s.d.params.total);
  trainer_log(t, "| data %s: %lld images %dx%d -> 64x64, %lld batches of %d an epoch\n",
              config_str(cfg, "data"), (long long)s.n, s.h, s.w, (long long)nbatches, s.B);
  trainer_log(t, "| G: %zu floats, D: %zu floats (nz %d, ngf %d, ndf %d)\n", s.g.params.total,
              s.d.params.total, s.mc.nz, s.mc.ngf, s.mc.ndf);
  if (!trainer_resume(t, load_state, &s)) {
    Rng r;
    rng_init(&r, t->seed, RNG_G_INIT);
    dcgan_init_weights(&s.g, &r);
    rng_init(&r, t->seed, RNG_D_INIT);
    dcgan_init_weights(&s.d, &r);
    const char *iw = config_str(cfg, "init_weights");
    if (iw[0]) load_init_weights(&s, iw);
  }
  if (config_bool(cfg, "sync_bn")) s.g.sync_bn = s.d.sync_bn = &t->comm;
  size_t bucket = (size_t)(config_float(cfg, "bucket_mb") * (1 << 20));
  s.gsg = gradsync_create(&t->comm, &s.g.params, bucket);
  s.gsd = gradsync_create(&t->comm, &s.d.params, bucket);
  gradsync_broadcast_params(s.gsg);
  gradsync_broadcast_params(s.gsd);

  size_t isz = (size_t)3 * DCGAN_IMG * DCGAN_IMG;
  DcganActs ag, ad;
  dcgan_acts_alloc(&ag, &s.g, s.Bl);
  dcgan_acts_alloc(&ad, &s.d, s.Bl);
  float *real = xmalloc_floats(isz * s.Bl), *fake = xmalloc_floats(isz * s.Bl);
  float *dfake = xmalloc_floats(isz * s.Bl), *img = xmalloc_floats(isz * s.Bl);
  float *z = xmalloc_floats((size_t)s.mc.nz * s.B), *fixed = xmalloc_floats((size_t)s.mc.nz * s.B);
  float *all = xmalloc_floats(isz * s.B);
  float *out = xmalloc_floats(s.Bl), *dout = xmalloc_floats(s.Bl);
  float *ones = xmalloc_floats(s.Bl), *zeros = xmalloc_floats(s.Bl);
  for (int i = 0; i < s.Bl; i++) ones[i] = 1.0f, zeros[i] = 0.0f;
  Rng fr;
  rng_init(&fr, t->seed, RNG_FIXED);
  rng_fill_normal(&fr, fixed, (size_t)s.mc.nz * s.B, 0.0f, 1.0f);
  int64_t *perm = xmalloc(sizeof(int64_t) * (size_t)s.n);
  int64_t log_interval = config_int(cfg, "log_interval"), sample_every = config_int(cfg, "sample_every");
  int stopped = 0;
  int nothing = trainer_nothing_to_do(t, s.epoch >= epochs ? "all epochs are done; raise epochs to train further" : NULL);
  for (; !nothing && s.epoch < epochs && !stopped; s.epoch++, s.batch = 0) {
    epoch_order(&s, s.epoch, perm);
    while (s.batch < nbatches) {
      const int64_t *mine = perm + s.batch * s.B + (int64_t)t->comm.rank * s.Bl;
      for (int i = 0; i < s.Bl; i++) load_image(&s, mine[i], real + isz * i);
      GanStats st = iteration(&s, &ag, &ad, real, z, fake, dfake, out, dout, ones, zeros);
      s.stat_steps++;
      int64_t i = s.batch;
      t->step++;
      s.batch++;
      if (i % log_interval == 0 || s.batch == nbatches)
        trainer_log(t, "[%lld/%lld][%lld/%lld] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f\n",
                    (long long)s.epoch, (long long)epochs, (long long)i, (long long)nbatches, st.err_d,
                    st.err_g, st.d_x, st.d_g_z1, st.d_g_z2);
      if (sample_every > 0 && i % sample_every == 0) save_samples(&s, &ag, real, fixed, img, all);
      int stop = trainer_should_stop(t);
      if (stop || trainer_checkpoint_due(t)) trainer_save(t, save_state, &s);
      if (stop) {
        trainer_log(t, "| stopped at step %lld (%s): resume with the same job\n", (long long)t->step,
                    trainer_signalled(t) ? "signal" : "max_steps");
        stopped = 1;
        break;
      }
    }
    if (!stopped) save_samples(&s, &ag, real, fixed, img, all);
    if (t->comm.size > 1 && s.buckets)
      trainer_log(t, "| all-reduce: %.2f ms waited per step, %lld of %lld buckets started during backward\n",
                  1e3 * s.wait_s / (double)(s.stat_steps ? s.stat_steps : 1), (long long)s.buckets_early,
                  (long long)s.buckets);
    s.wait_s = 0;
    s.buckets = s.buckets_early = s.stat_steps = 0;
  }
  if (!stopped && !nothing) {
    s.batch = 0;
    trainer_save(t, save_state, &s);
    trainer_log(t, "| done: %lld epochs; samples in %s\n", (long long)epochs, t->out_dir);
  }
  float *bufs[] = {real, fake, dfake, img, z, fixed, out, dout, ones, zeros, all};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  free(perm);
  char err[256];
  h5_close(&s.data, err, sizeof err);
  free(s.row);
  gradsync_free(s.gsg);
  gradsync_free(s.gsd);
  dcgan_acts_free(&ag);
  dcgan_acts_free(&ad);
  adam_free(&s.ag);
  adam_free(&s.ad);
  dcgan_net_free(&s.g);
  dcgan_net_free(&s.d);
  return 0;
}
