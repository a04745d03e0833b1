// dcgan_task.c: `task = dcgan`: the seed's DCGAN step (pytorch/examples dcgan): D on a real
// batch (label 1) and on G(noise) detached (label 0), Adam step of D; then G through the
// updated D with label 1, Adam step of G. Data-parallel: each rank takes batch/w images of every
// global batch (in k micro-batches with accumulate = k) and gradients are averaged; BatchNorm
// statistics are per rank and micro-batch (as DistributedDataParallel with no_sync). Images come from a CIFAR-10-layout file (`genet
// prepare cifar10` or `synthetic-images`), read image by image (a rank reads only its own),
// resized to 64x64 (image_size) as torchvision's Resize(64) and scaled to [-1, 1].
#include "tasks/dcgan_task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5safe.h"
#include "metrics/swd.h"
#include "models/dcgan_model.h"
#include "data/image.h"
#include "ops/loss.h"
#include "optim/optim.h"
#include "data/params_io.h"
#include "core/dir.h"
#include "core/stage.h"
#include "core/util.h"
#include "train/runlog.h"

const CfgSpec dcgan_task_keys[] = {
    {"data", CFG_STRING, NULL, 0, -1, NULL, "HDF5 images in the cifar10 layout (genet prepare cifar10 | synthetic-images)", CFG_RESUME_APPLIES},
    {"nz", CFG_INT, "100", 1, 4096, NULL, "latent size", CFG_RESUME_FIXED},
    {"ngf", CFG_INT, "64", 1, 4096, NULL, "generator width", CFG_RESUME_FIXED},
    {"ndf", CFG_INT, "64", 1, 4096, NULL, "discriminator width", CFG_RESUME_FIXED},
    {"image_size", CFG_INT, "64", 32, 64, NULL, "image side: 64 the reference; 32 drops one layer of each network", CFG_RESUME_FIXED},
    {"batch", CFG_INT, "64", 1, 1 << 20, NULL, "global batch (divided among ranks)", CFG_RESUME_FIXED},
    {"epochs", CFG_INT, "25", 1, 1e9, NULL, "passes over the training images", CFG_RESUME_APPLIES},
    {"lr", CFG_FLOAT, "0.0002", 1e-12, 10, NULL, "Adam learning rate of both networks", CFG_RESUME_APPLIES},
    {"beta1", CFG_FLOAT, "0.5", 0, 0.999999, NULL, "Adam beta1", CFG_RESUME_APPLIES},
    {"beta2", CFG_FLOAT, "0.999", 0, 0.999999, NULL, "Adam beta2", CFG_RESUME_APPLIES},
    {"log_interval", CFG_INT, "50", 1, 1e9, NULL, "iterations between progress lines (the reference prints every one)", CFG_RESUME_APPLIES},
    {"sample_every", CFG_INT, "100", 0, 1e9, NULL, "iterations between sample grids in out_dir (0: only at epoch ends)", CFG_RESUME_APPLIES},
    {"swd", CFG_BOOL, "true", 0, -1, NULL, "at each epoch end, the sliced Wasserstein distance (x1e3; Karras et al.; lower is better) between swd_images images of G in evaluation mode from fixed noise and a fixed sample of as many training images", CFG_RESUME_APPLIES},
    {"swd_images", CFG_INT, "1024", 2, 1 << 20, NULL, "images in each SWD set (at most the training images; cost grows with it)", CFG_RESUME_APPLIES},
    {"sync_bn", CFG_BOOL, "false", 0, -1, NULL, "BatchNorm statistics over the global batch (default: per rank, as DDP)", CFG_RESUME_APPLIES},
};
const int dcgan_task_nkeys = sizeof dcgan_task_keys / sizeof *dcgan_task_keys;

// Random streams (Philox, seed + stream id): weights 0 and 1, the fixed sample noise 2, the
// epoch order 3 + epoch, the noise of step s 2^40 + s, the SWD's real sample 2^41 and its
// generated set's noise 2^41 + 1. Each a function of the position, so a resumed run draws what
// it would have drawn; the noise is drawn for the global batch and each rank takes its rows,
// so it does not depend on the number of ranks either.
#define RNG_G_INIT 0
#define RNG_D_INIT 1
#define RNG_FIXED 2
#define RNG_EPOCH(e) (3 + (uint64_t)(e))
#define RNG_NOISE(step) ((1ull << 40) + (uint64_t)(step))
#define RNG_SWD_REAL (1ull << 41)
#define RNG_SWD_NOISE ((1ull << 41) + 1)

typedef struct {
  Trainer *t;
  DcganConfig mc;
  int S;                     // image side (image_size)
  DcganNet g, d;
  int set_g, set_d;          // the trainer's parameter sets
  AdamState ag, ad;
  AdamConfig acfg;
  int B, Bl, Bm;             // global, per-rank and micro-batch sizes
  H5File data;               // open for the whole run: each rank reads only its images
  uint8_t *row;              // (3, h, w) one image as stored
  int64_t n, *perm;          // images; this epoch's order
  int h, w;
  int64_t log_interval, sample_every;
  DcganActs *actg;           // (accumulate) G's passes, kept until G's backward
  DcganActs actd;            // D's (each backward follows its forward)
  // Host buffers, and [dev] ones on the networks' device (s->dev; on the CPU the [dev] twin of
  // a host buffer is the buffer itself).
  const Ctx *dev;
  // A step's batch, prepared and copied during the step before (see prefetch): this rank's
  // images (Bl, 3, 64, 64) as loaded, then the global batch's noise (B, nz). The stage's
  // tags are the steps its slots hold.
  Stage batch;
  int real_slot;             // the slot of the last step's images: the real grid's rows
  float *img;                // (Bl, 3, 64, 64) a grid's rows
  float *fixed;              // (B, nz) the grids' fixed noise
  float *all, *all_real;     // (B, 3, 64, 64) the generated grid, the real one, gathered
  float *outh;               // (Bm) D's output, for the printed means
  float *imgd, *fixedd;      // [dev] twins of img, fixed
  float *zd;                 // on a device: (B, nz) G's input for the SWD's images
  float *fake, *dfake;       // [dev] (Bl, 3, 64, 64)
  float *out, *dout, *ones, *zeros;  // [dev] (Bm)
  // SWD (rank 0, swd = true): swd_n fixed real images and the noise of as many generated ones,
  // both drawn at setup; swd_gen takes G's images at each epoch end.
  int swd_n;
  float *swd_real, *swd_z, *swd_gen;  // (swd_n, 3, S, S), (swd_n, nz), (swd_n, 3, S, S)
} Gan;

// ---- data: the epoch's order is a permutation from (seed, epoch); rank r takes its slice
// of every global batch. Batches that would be incomplete are dropped (drop_last).

// perm = a permutation of 0..n-1 from stream `stream` of the seed.
static void permutation(const Gan *s, uint64_t stream, int64_t n, int64_t *perm) {
  Rng r;
  rng_init(&r, s->t->seed, stream);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {  // Fisher-Yates
    uint64_t x = ((uint64_t)rng_u32(&r) << 32) | rng_u32(&r);
    int64_t j = (int64_t)(x % (uint64_t)(i + 1)), tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

static void epoch_order(const Gan *s, int64_t epoch, int64_t *perm) {
  permutation(s, RNG_EPOCH(epoch), s->n, perm);
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
  if (image_resize_short(&big, &src, s->S, "train/images", err, sizeof err)) comm_abort(&s->t->comm, "%s", err);
  Image crop;
  image_center_crop(&crop, &big, s->S, s->S);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < s->S * s->S; i++)
      out[(size_t)c * s->S * s->S + i] = (crop.px[(size_t)i * 3 + c] / 255.0f - 0.5f) / 0.5f;
  image_free(&src);
  image_free(&big);
  image_free(&crop);
}

// Opens the images and checks their shape; reads none yet (a rank reads its own, by row).
static void open_data(Gan *s, const char *path) {
  H5File f;
  char err[GENET_ERR_MAX];
  int64_t dims[4] = {0};
  if (h5safe_open(&f, path, err, sizeof err) || h5_shape(&f, "train/images", dims, 4, err, sizeof err) != 4)
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

// ---- setup

// The SWD's two fixed sets (rank 0 only: it alone computes the distance): min(swd_images, n)
// training images at the head of a permutation of their own stream, read once here, and the
// noise of as many generated images. Nothing here touches what training draws or reads.
static void swd_setup(Gan *s) {
  Trainer *t = s->t;
  if (t->comm.rank != 0 || !config_bool(&t->cfg, "swd")) return;
  int64_t want = config_int(&t->cfg, "swd_images");
  s->swd_n = (int)(want < s->n ? want : s->n);
  size_t isz = (size_t)3 * s->S * s->S, nz = (size_t)s->mc.nz;
  int64_t *order = xmalloc(sizeof(int64_t) * (size_t)s->n);
  permutation(s, RNG_SWD_REAL, s->n, order);
  s->swd_real = xmalloc_floats(isz * s->swd_n);
  for (int i = 0; i < s->swd_n; i++) load_image(s, order[i], s->swd_real + isz * i);
  free(order);
  s->swd_z = xmalloc_floats(nz * s->swd_n);
  Rng r;
  rng_init(&r, t->seed, RNG_SWD_NOISE);
  rng_fill_normal(&r, s->swd_z, nz * s->swd_n, 0.0f, 1.0f);
  s->swd_gen = xmalloc_floats(isz * s->swd_n);
  char note[96] = "";
  if (s->swd_n < want)
    snprintf(note, sizeof note, " (swd_images = %lld, but the data has %d)", (long long)want, s->swd_n);
  trainer_log(t, "| SWD at each epoch end: %d images of G (evaluation mode, fixed noise) vs %d fixed training images%s\n",
              s->swd_n, s->swd_n, note);
}

static void dcgan_setup(Trainer *t, void *task) {
  Gan *s = task;
  s->t = t;
  const Config *cfg = &t->cfg;
  s->B = (int)config_int(cfg, "batch");
  s->Bm = trainer_micro_batch(t, s->B, "images");
  s->Bl = s->Bm * t->accumulate;
  s->mc = (DcganConfig){.nz = (int)config_int(cfg, "nz"), .ngf = (int)config_int(cfg, "ngf"),
                        .ndf = (int)config_int(cfg, "ndf"), .nc = 3};
  s->S = (int)config_int(cfg, "image_size");
  if (s->S != 32 && s->S != 64) trainer_fail(t, "image_size = %d: expected 64 or 32", s->S);
  open_data(s, config_str(cfg, "data"));
  t->steps_per_epoch = s->n / s->B;
  t->epochs = config_int(cfg, "epochs");
  if (t->steps_per_epoch < 1)
    trainer_fail(t, "data = %s: %lld images, fewer than one batch of %d", config_str(cfg, "data"),
                 (long long)s->n, s->B);
  dcgan_build_g_img(&s->g, &s->mc, s->S, &t->ctx);
  dcgan_build_d_img(&s->d, &s->mc, s->S, &t->ctx);
  s->g.sync_bn = s->d.sync_bn = config_bool(cfg, "sync_bn");
  s->set_g = trainer_add_params(t, &s->g.params);
  s->set_d = trainer_add_params(t, &s->d.params);
  adam_config_default(&s->acfg);
  s->acfg.lr = config_float(cfg, "lr");
  s->acfg.beta1 = config_float(cfg, "beta1");
  s->acfg.beta2 = config_float(cfg, "beta2");
  adam_init_for(&s->ag, &s->g.params);
  adam_init_for(&s->ad, &s->d.params);
  s->log_interval = config_int(cfg, "log_interval");
  s->sample_every = config_int(cfg, "sample_every");
  size_t isz = (size_t)3 * s->S * s->S;
  s->actg = xcalloc((size_t)t->accumulate, sizeof(DcganActs));
  for (int k = 0; k < t->accumulate; k++) dcgan_acts_alloc(&s->actg[k], &s->g, s->Bm);
  dcgan_acts_alloc(&s->actd, &s->d, s->Bm);
  s->dev = s->g.params.ctx;
  size_t zn = (size_t)s->mc.nz * s->B;
  stage_init(&s->batch, s->dev, sizeof(float) * (isz * s->Bl + zn));
  s->real_slot = 0;  // zero: a grid before the first batch
  s->img = xmalloc_floats(isz * s->Bl);
  s->fixed = xmalloc_floats(zn);
  s->all = xmalloc_floats(isz * s->B);
  s->all_real = xmalloc_floats(isz * s->B);
  s->outh = xmalloc_floats(s->Bm);
  s->imgd = s->dev ? ctx_alloc(s->dev, sizeof(float) * isz * s->Bl) : s->img;
  s->zd = s->dev ? ctx_alloc(s->dev, sizeof(float) * zn) : NULL;
  s->fixedd = s->dev ? ctx_alloc(s->dev, sizeof(float) * zn) : s->fixed;
  s->fake = ctx_alloc(s->dev, sizeof(float) * isz * s->Bl);
  s->dfake = ctx_alloc(s->dev, sizeof(float) * isz * s->Bl);
  s->out = ctx_alloc(s->dev, sizeof(float) * s->Bm);
  s->dout = ctx_alloc(s->dev, sizeof(float) * s->Bm);
  s->ones = ctx_alloc(s->dev, sizeof(float) * s->Bm);
  s->zeros = ctx_alloc(s->dev, sizeof(float) * s->Bm);
  for (int i = 0; i < s->Bm; i++) s->outh[i] = 1.0f;
  ctx_upload(s->dev, s->ones, s->outh, sizeof(float) * s->Bm);  // zeros: zeroed already
  Rng fr;
  rng_init(&fr, t->seed, RNG_FIXED);
  rng_fill_normal(&fr, s->fixed, zn, 0.0f, 1.0f);
  if (s->dev) ctx_upload(s->dev, s->fixedd, s->fixed, sizeof(float) * zn);
  s->perm = xmalloc(sizeof(int64_t) * (size_t)s->n);
  swd_setup(s);
  trainer_log(t, "| data %s: %lld images %dx%d -> %dx%d, %lld batches of %d an epoch\n",
              config_str(cfg, "data"), (long long)s->n, s->h, s->w, s->S, s->S, (long long)t->steps_per_epoch, s->B);
  trainer_log(t, "| G: %zu floats, D: %zu floats (nz %d, ngf %d, ndf %d)\n", s->g.params.total,
              s->d.params.total, s->mc.nz, s->mc.ngf, s->mc.ndf);
}

static void dcgan_init(Trainer *t, void *task) {
  Gan *s = task;
  Rng r;
  rng_init(&r, t->seed, RNG_G_INIT);
  dcgan_init_weights(&s->g, &r);
  rng_init(&r, t->seed, RNG_D_INIT);
  dcgan_init_weights(&s->d, &r);
}

// ---- one step of the reference loop, in k micro-batches

// The mean of D's n outputs (on the device: copied back first, n floats).
static double mean_of(Gan *s, const float *out, int n) {
  const float *x = out;
  if (s->dev) {
    ctx_download(s->dev, s->outh, out, sizeof(float) * (size_t)n);
    x = s->outh;
  }
  double sum = 0;
  for (int i = 0; i < n; i++) sum += x[i];
  return sum / n;
}

// Grids as the reference: the real batch, and G(fixed noise) with G in training mode, as
// there. Every rank generates its rows of the global batch (BatchNorm may be synchronized,
// so all must take part); a sum gathers both batches on rank 0, which writes them.
static void save_samples(Gan *s) {
  Trainer *t = s->t;
  size_t isz = (size_t)3 * s->S * s->S, mine = isz * s->Bl, off = mine * t->comm.rank;
  char path[GENET_PATH_MAX + 64], err[GENET_ERR_MAX];
  // Outputs are alike: a grid that cannot be written is a warning, as a metrics line is.
  int dir_ok = t->comm.rank == 0 && !dir_make(t->out_dir, err, sizeof err);
  if (t->comm.rank == 0 && !dir_ok) runlog_warn_output(t, "the sample grids", err);
  memset(s->all_real, 0, sizeof(float) * isz * s->B);
  memcpy(s->all_real + off, stage_host(&s->batch, s->real_slot), sizeof(float) * mine);
  comm_allreduce_sum(&t->comm, s->all_real, isz * s->B);
  snprintf(path, sizeof path, "%s/real_samples.png", t->out_dir);
  if (dir_ok && image_grid_png(path, s->all_real, s->B, 3, s->S, s->S, 8, 2, 1, err, sizeof err))
    runlog_warn_output(t, "real_samples.png", err);
  for (int k = 0; k < t->accumulate; k++)
    dcgan_forward(&t->ctx, &s->g, &s->actg[k], s->fixedd + ((size_t)t->comm.rank * s->Bl + (size_t)k * s->Bm) * s->mc.nz,
                  s->imgd + isz * k * s->Bm, s->Bm, 1);
  if (s->dev) ctx_download(s->dev, s->img, s->imgd, sizeof(float) * mine);
  memset(s->all, 0, sizeof(float) * isz * s->B);
  memcpy(s->all + off, s->img, sizeof(float) * mine);
  comm_allreduce_sum(&t->comm, s->all, isz * s->B);
  snprintf(path, sizeof path, "%s/fake_samples_epoch_%03lld.png", t->out_dir, (long long)t->epoch);
  if (dir_ok && image_grid_png(path, s->all, s->B, 3, s->S, s->S, 8, 2, 1, err, sizeof err))
    runlog_warn_output(t, strrchr(path, '/') + 1, err);
}

static void dcgan_epoch_begin(Trainer *t, void *task) {
  Gan *s = task;
  epoch_order(s, t->epoch, s->perm);
}

// The batch of `step`, batch `batch` of this epoch's order, into the stage's slot step % 2 and
// on its way to the device: this rank's images and the global batch's noise.
static void prefetch(Trainer *t, Gan *s, int64_t step, int64_t batch) {
  size_t isz = (size_t)3 * s->S * s->S, zn = (size_t)s->B * s->mc.nz;
  int slot = (int)(step % STAGE_SLOTS);
  float *h = stage_host(&s->batch, slot);
  const int64_t *mine = s->perm + batch * s->B + (int64_t)t->comm.rank * s->Bl;
  for (int i = 0; i < s->Bl; i++) load_image(s, mine[i], h + isz * i);
  Rng r;
  rng_init(&r, t->seed, RNG_NOISE(step));
  rng_fill_normal(&r, h + isz * s->Bl, zn, 0.0f, 1.0f);
  stage_send(&s->batch, slot, sizeof(float) * (isz * s->Bl + zn));
  s->batch.tag[slot] = step;
}

static void dcgan_step(Trainer *t, void *task) {
  Gan *s = task;
  Ctx *ctx = &t->ctx;
  size_t isz = (size_t)3 * s->S * s->S, nz = (size_t)s->mc.nz;
  int N = s->Bm, K = t->accumulate;
  int slot = (int)(t->step % STAGE_SLOTS);
  // Staged by the step before, unless this is an epoch's first step or the run's.
  if (s->batch.tag[slot] != t->step) prefetch(t, s, t->step, t->batch);
  float *reald = stage_use(&s->batch, slot), *zd = reald + isz * s->Bl;
  s->real_slot = slot;
  double err_d = 0, err_g = 0, d_x = 0, d_g_z1 = 0, d_g_z2 = 0;
  // (1) D: real with label 1, G(z) detached with label 0.
  trainer_grads_zero(t, s->set_d);
  for (int k = 0; k < K; k++) {
    float *real = reald + isz * k * N, *fake = s->fake + isz * k * N;
    dcgan_forward(ctx, &s->d, &s->actd, real, s->out, N, 1);
    err_d += bce_loss_forward(ctx, s->out, s->ones, (size_t)N);
    d_x += mean_of(s, s->out, N);
    bce_loss_backward(ctx, s->dout, s->out, s->ones, (size_t)N, 1.0f);
    dcgan_backward(ctx, &s->d, &s->actd, s->dout, NULL, N, NULL);
    dcgan_forward(ctx, &s->g, &s->actg[k], zd + ((size_t)t->comm.rank * s->Bl + (size_t)k * N) * nz,
                  fake, N, 1);
    dcgan_forward(ctx, &s->d, &s->actd, fake, s->out, N, 1);
    err_d += bce_loss_forward(ctx, s->out, s->zeros, (size_t)N);
    d_g_z1 += mean_of(s, s->out, N);
    bce_loss_backward(ctx, s->dout, s->out, s->zeros, (size_t)N, 1.0f);
    // D's gradients are final layer by layer in the last micro-batch's backward.
    dcgan_backward(ctx, &s->d, &s->actd, s->dout, NULL, N, trainer_grad_ready(t, s->set_d, k));
  }
  trainer_grads_reduce(t, s->set_d);
  adam_step(ctx, &s->ad, s->d.params.data, s->d.params.grad, &s->acfg);
  // (2) G: through the updated D with label 1 (D's parameter gradients are not formed: unused).
  trainer_grads_zero(t, s->set_g);
  for (int k = 0; k < K; k++) {
    float *fake = s->fake + isz * k * N, *dfake = s->dfake + isz * k * N;
    dcgan_forward(ctx, &s->d, &s->actd, fake, s->out, N, 1);
    err_g += bce_loss_forward(ctx, s->out, s->ones, (size_t)N);
    d_g_z2 += mean_of(s, s->out, N);
    bce_loss_backward(ctx, s->dout, s->out, s->ones, (size_t)N, 1.0f);
    dcgan_backward_input(ctx, &s->d, &s->actd, s->dout, dfake, N);
    dcgan_backward(ctx, &s->g, &s->actg[k], dfake, NULL, N, trainer_grad_ready(t, s->set_g, k));
  }
  trainer_grads_reduce(t, s->set_g);
  adam_step(ctx, &s->ag, s->g.params.data, s->g.params.grad, &s->acfg);
  // The next step's batch, read and copied while the device runs what is queued (G's backward,
  // the all-reduce, Adam). Not past the epoch's end: the next epoch has another order.
  if (t->batch + 1 < t->steps_per_epoch) prefetch(t, s, t->step + 1, t->batch + 1);
  err_d = trainer_mean(t, err_d / K);
  err_g = trainer_mean(t, err_g / K);
  trainer_loss(t, err_d + err_g);
  d_x = trainer_mean(t, d_x / K);
  d_g_z1 = trainer_mean(t, d_g_z1 / K);
  d_g_z2 = trainer_mean(t, d_g_z2 / K);
  int64_t i = t->batch;
  if (i % s->log_interval == 0 || i + 1 == t->steps_per_epoch) {
    trainer_log(t, "[%lld/%lld][%lld/%lld] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f\n",
                (long long)t->epoch, (long long)t->epochs, (long long)i, (long long)t->steps_per_epoch,
                err_d, err_g, d_x, d_g_z1, d_g_z2);
    double ms = runlog_step_ms(t);
    const char *tag[] = {"train/loss_d", "train/loss_g", "train/d_x", "train/d_g_z1", "train/d_g_z2",
                         "speed/ms_per_step", "speed/images_per_s"};
    double v[] = {err_d, err_g, d_x, d_g_z1, d_g_z2, ms, 1e3 * s->B / ms};
    for (int k = 0; k < 7; k++) runlog_metric(t, tag[k], v[k]);
  }
  if (s->sample_every > 0 && i % s->sample_every == 0) save_samples(s);
}

// G in evaluation mode on the SWD's fixed noise, into swd_gen (rank 0). BatchNorm uses the
// running statistics and changes no state (as `genet sample`); with sync_bn it runs no
// collective in evaluation mode (batchnorm_forward_sync), so rank 0 may run it alone. In
// chunks of the micro-batch through actg[0], whose pass is done by the epoch end; on a device
// through zd and imgd, scratch between steps.
static void swd_generate(Gan *s) {
  Trainer *t = s->t;
  size_t isz = (size_t)3 * s->S * s->S, nz = (size_t)s->mc.nz;
  for (int i = 0; i < s->swd_n; i += s->Bm) {
    int m = s->swd_n - i < s->Bm ? s->swd_n - i : s->Bm;
    const float *z = s->swd_z + nz * i;
    float *img = s->swd_gen + isz * i;
    if (s->dev) {
      ctx_upload(s->dev, s->zd, z, sizeof(float) * nz * m);
      dcgan_forward(&t->ctx, &s->g, &s->actg[0], s->zd, s->imgd, m, 0);
      ctx_download(s->dev, img, s->imgd, sizeof(float) * isz * m);
    } else {
      dcgan_forward(&t->ctx, &s->g, &s->actg[0], z, img, m, 0);
    }
  }
}

// The grids, and the sliced Wasserstein distance between the fixed sets (rank 0; it only
// reads, so training and resume stay exact).
static void dcgan_epoch_end(Trainer *t, void *task) {
  Gan *s = task;
  save_samples(s);
  if (t->comm.rank != 0 || !config_bool(&t->cfg, "swd") || s->swd_n < 1) return;
  swd_generate(s);
  double per[SWD_MAX_LEVELS], mean;
  char err[GENET_ERR_MAX], line[256];
  int nl = swd_compute(per, &mean, s->swd_gen, s->swd_real, s->swd_n, s->S, s->S, t->seed, err, sizeof err);
  if (nl < 0) {
    trainer_log(t, "| SWD not computed: %s\n", err);
    return;
  }
  int k = 0;
  for (int l = 0; l < nl; l++)
    k += snprintf(line + k, sizeof line - (size_t)k, "%s%d px %.1f", l ? ", " : "", s->S >> l, per[l]);
  trainer_log(t, "| epoch %lld: SWD x1e3 (%d generated vs %d real): %s; mean %.1f\n",
              (long long)t->epoch, s->swd_n, s->swd_n, line, mean);
  for (int l = 0; l < nl; l++) {  // x1e3, as printed
    char tag[32];
    snprintf(tag, sizeof tag, "swd/%dpx", s->S >> l);
    runlog_metric(t, tag, per[l]);
  }
  runlog_metric(t, "swd/mean", mean);
}

static void dcgan_end(Trainer *t, void *task) {
  trainer_log(t, "| done: %lld epochs; samples in %s\n", (long long)t->epochs, t->out_dir);
}

// ---- checkpoint contents (docs/CHECKPOINTS.md)

static int save_net(H5File *f, const DcganNet *n, const AdamState *a, const char *name) {
  char g[128];
  int rc = 0;
  snprintf(g, sizeof g, "params/%s", name);
  rc |= params_write(f, &n->params, n->params.data, g);
  snprintf(g, sizeof g, "buffers/%s", name);
  rc |= params_write(f, &n->buffers, n->buffers.data, g);
  for (int l = 0; l < n->nl; l++) {
    if (n->layer[l].bn_idx < 0) continue;
    snprintf(g, sizeof g, "buffers/%s/main.%d.num_batches_tracked", name, n->layer[l].bn_idx);
    rc |= h5_write_scalar_i64(f, g, n->layer[l].num_batches_tracked);
  }
  snprintf(g, sizeof g, "optim/%s", name);
  rc |= adam_save(f, a, &n->params, g);
  return rc;
}

// The weights (params/ and buffers/) of one network; the optimizer's state too when a != NULL.
static int load_net(H5File *f, DcganNet *n, AdamState *a, const char *name, char *err, size_t errlen) {
  char g[128];
  int rc;
  snprintf(g, sizeof g, "params/%s", name);
  if ((rc = params_read(f, &n->params, n->params.data, g, err, errlen))) return rc;
  snprintf(g, sizeof g, "buffers/%s", name);
  if ((rc = params_read(f, &n->buffers, n->buffers.data, g, err, errlen))) return rc;
  if (!a) return 0;
  for (int l = 0; l < n->nl; l++) {
    if (n->layer[l].bn_idx < 0) continue;
    snprintf(g, sizeof g, "buffers/%s/main.%d.num_batches_tracked", name, n->layer[l].bn_idx);
    if (h5_read_scalar_i64(f, g, &n->layer[l].num_batches_tracked, err, errlen)) return -1;
  }
  snprintf(g, sizeof g, "optim/%s", name);
  return adam_load(f, a, &n->params, g, err, errlen);
}

static int dcgan_save(Trainer *t, void *task, H5File *f) {
  Gan *s = task;
  return save_net(f, &s->g, &s->ag, "netG") | save_net(f, &s->d, &s->ad, "netD") ? -1 : 0;
}

static int dcgan_load(Trainer *t, void *task, H5File *f, int version, char *err, size_t errlen) {
  Gan *s = task;
  int rc = load_net(f, &s->g, &s->ag, "netG", err, errlen);
  return rc ? rc : load_net(f, &s->d, &s->ad, "netD", err, errlen);
}

// init_weights = FILE: params/ and buffers/ of netG and netD (another run's checkpoint).
static int dcgan_load_weights(Trainer *t, void *task, H5File *f, char *err, size_t errlen) {
  Gan *s = task;
  int rc = load_net(f, &s->g, NULL, "netG", err, errlen);
  return rc ? rc : load_net(f, &s->d, NULL, "netD", err, errlen);
}

static void dcgan_free(Trainer *t, void *task) {
  Gan *s = task;
  if (s->dev) {
    float *twins[] = {s->imgd, s->zd, s->fixedd};
    for (size_t i = 0; i < sizeof twins / sizeof *twins; i++) ctx_release(s->dev, twins[i]);
  }
  float *dev[] = {s->fake, s->dfake, s->out, s->dout, s->ones, s->zeros};
  for (size_t i = 0; i < sizeof dev / sizeof *dev; i++) ctx_release(s->dev, dev[i]);
  stage_free(&s->batch);
  float *host[] = {s->img, s->fixed, s->all, s->all_real, s->outh,
                   s->swd_real, s->swd_z, s->swd_gen};
  for (size_t i = 0; i < sizeof host / sizeof *host; i++) free(host[i]);
  free(s->perm);
  char err[GENET_ERR_MAX];
  if (s->row) h5_close(&s->data, err, sizeof err);
  free(s->row);
  for (int k = 0; s->actg && k < t->accumulate; k++) dcgan_acts_free(&s->actg[k]);
  free(s->actg);
  dcgan_acts_free(&s->actd);
  adam_free(&s->ag);
  adam_free(&s->ad);
  dcgan_net_free(&s->g);
  dcgan_net_free(&s->d);
}

const TaskOps dcgan_task_ops = {
    .name = "dcgan",
    .best = "swd/mean",
    .keys = dcgan_task_keys,
    .nkeys = &dcgan_task_nkeys,
    .size = sizeof(Gan),
    .rng_scheme = "philox4x32-10; G init 0, D init 1, fixed noise 2, epoch order 3 + epoch, noise of step s 2^40 + s (global batch, rank r takes its rows), SWD real sample 2^41, SWD generated noise 2^41 + 1",
    .accumulates = 1,
    .cuda = 1,
    .setup = dcgan_setup,
    .init = dcgan_init,
    .load_weights = dcgan_load_weights,
    .save = dcgan_save,
    .load = dcgan_load,
    .epoch_begin = dcgan_epoch_begin,
    .step = dcgan_step,
    .epoch_end = dcgan_epoch_end,
    .end = dcgan_end,
    .free = dcgan_free,
};
