// dcgan_sample.c: `genet sample`: images from a DCGAN checkpoint's generator. z ~ N(0, 1) is
// drawn from Philox stream 0 of `seed` (n vectors of nz, one after another), G runs on the CPU
// in evaluation mode (BatchNorm with the running statistics, as netG.eval()), and the images are
// saved as one grid PNG: 8 per row, padding 2, as the training's sample grids.
//
// interpolate=true: n = k*k; row i goes from z_{2i} to z_{2i+1} in k steps, both ends included,
// by linear interpolation z = (1 - t) z_a + t z_b, t = j / (k - 1), as the DCGAN paper walks its
// latent space (Radford et al. 2015, section 6.1).
//
// Pixels: G ends in tanh, so [-1, 1] maps to [0, 1] (save_image's normalize with
// value_range=(-1, 1)), not the batch's own [min, max] as the training grids do: an image's
// pixels then depend on its z only, not on which other images share the grid.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir.h"
#include "core/rng.h"
#include "core/util.h"
#include "tasks/registry.h"
#include "data/h5safe.h"
#include "data/image.h"
#include "data/params_io.h"
#include "models/dcgan_model.h"
#include "tasks/dcgan_sample.h"
#include "tasks/dcgan_task.h"
#include "train/ckpt.h"

#define SAMPLE_MAX 1024
#define SAMPLE_CHUNK 64  // images per forward pass (evaluation mode: chunks change nothing)

// One line on stderr; returns `status` (2: the command line, 1: a file).
static int fail(int status, const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "genet: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return status;
}

// G from the checkpoint's job and weights. Returns 0, or an exit status after one line.
static int load_g(DcganNet *g, const char *path) {
  char err[GENET_ERR_MAX];
  H5File f;
  char *job = NULL;
  int64_t step;
  int ws, version;
  if (h5safe_open(&f, path, err, sizeof err)) return fail(1, "%s%s", err, "");
  if (ckpt_read_meta(&f, &step, &ws, &version, err, sizeof err) ||
      h5_read_str(&f, "meta/job", &job, 1 << 20, err, sizeof err)) {
    h5_close(&f, NULL, 0);
    return fail(1, "%s%s", err, "");
  }
  // The task line first, with the shared keys only: another task's keys may not even parse
  // under the DCGAN's (an LM's lr = 20 is out of the DCGAN's range).
  Config cfg;
  const CfgSpec *const tables[] = {task_shared_keys(), dcgan_task_keys};
  const int sizes[] = {train_nshared_keys, dcgan_task_nkeys};
  char task[64] = "";
  for (int pass = 0; pass < 2; pass++) {
    config_init(&cfg, tables, sizes, pass + 1);
    cfg.ignore_unknown = 1;
    // pass 0 has the shared keys only, of which `task` is required: an empty job is said here
    if (config_load_text(&cfg, job, "meta/job", err, sizeof err) ||
        (pass == 0 && config_check_required(&cfg, err, sizeof err))) {
      free(job);
      config_free(&cfg);
      h5_close(&f, NULL, 0);
      return fail(1, "%s: its meta/job cannot be read: %s", path, err);
    }
    snprintf(task, sizeof task, "%s", config_str(&cfg, "task"));
    if (pass == 0) config_free(&cfg);
    if (strcmp(task, "dcgan") != 0) {
      fprintf(stderr, "genet: %s: a checkpoint of task = %s; genet sample draws images from a DCGAN "
              "checkpoint (task = dcgan)\n", path, task);
      free(job);
      h5_close(&f, NULL, 0);
      return 1;
    }
  }
  free(job);
  DcganConfig mc = {.nz = (int)config_int(&cfg, "nz"), .ngf = (int)config_int(&cfg, "ngf"),
                    .ndf = (int)config_int(&cfg, "ndf"), .nc = 3};
  int img = (int)config_int(&cfg, "image_size");
  config_free(&cfg);
  dcgan_build_g_img(g, &mc, img, NULL);  // sampling runs on the CPU
  if (params_read(&f, &g->params, g->params.data, "params/netG", err, sizeof err) ||
      params_read(&f, &g->buffers, g->buffers.data, "buffers/netG", err, sizeof err)) {
    h5_close(&f, NULL, 0);
    dcgan_net_free(g);
    return fail(1, "%s%s", err, "");
  }
  if (h5_close(&f, err, sizeof err)) {
    dcgan_net_free(g);
    return fail(1, "%s%s", err, "");
  }
  return 0;
}

// mkdir -p of the directory `out` is in (none: the current one).
static int make_parent(const char *out, char *err, size_t errlen) {
  const char *slash = strrchr(out, '/');
  if (!slash || slash == out) return 0;
  char *dir = xstrdup(out);
  dir[slash - out] = 0;
  int rc = dir_make(dir, err, errlen);
  free(dir);
  return rc;
}

// The arguments, checked as a job's keys are (config_parse_args).
static const CfgSpec sample_keys[] = {
    {"n", CFG_INT, "64", 1, SAMPLE_MAX, NULL, "images in the grid", 0},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed of the noise (as a job's seed)", 0},
    {"out", CFG_STRING, "samples.png", 1, 0, NULL, "the grid's PNG file", 0},
    {"interpolate", CFG_BOOL, "false", 1, 0, NULL, "rows walk between two noise vectors", 0},
};

int dcgan_sample_main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "genet: usage: genet sample CKPT.h5 [n=64] [seed=1] [out=samples.png] [interpolate=false]\n");
    return 2;
  }
  const char *path = argv[1], *out = "samples.png";
  Config args;
  char err[GENET_ERR_MAX];
  if (config_parse_args(&args, sample_keys, (int)(sizeof sample_keys / sizeof *sample_keys), "sample", argc - 2,
                        argv + 2, err, sizeof err)) {
    config_free(&args);
    return fail(2, "%s%s", err, "");
  }
  long n = (long)config_int(&args, "n"), seed = (long)config_int(&args, "seed");
  int interp = config_bool(&args, "interpolate");
  config_free(&args);  // nothing of it held on the error paths below
  for (int i = 2; i < argc; i++)  // argv's own copy
    if (!strncmp(argv[i], "out=", 4)) out = argv[i] + 4;
  int side = (int)lround(sqrt((double)n));
  if (interp && (side < 2 || (long)side * side != n)) {
    char nb[32];
    snprintf(nb, sizeof nb, "%ld", n);
    return fail(2, "sample: interpolate = true needs n = k*k with k >= 2 (k rows of k steps), got n = %s%s", nb, "");
  }
  if (make_parent(out, err, sizeof err)) return fail(1, "out = %s: %s", out, err);
  DcganNet g;
  int rc = load_g(&g, path);
  if (rc) return rc;

  int nz = g.cfg.nz;
  size_t isz = (size_t)3 * g.img * g.img;
  float *z = xmalloc_floats((size_t)n * nz), *img = xmalloc_floats((size_t)n * isz);
  Rng rng;
  rng_init(&rng, (uint64_t)seed, 0);
  if (interp) {  // 2k end points, then each row's k steps between its pair
    float *ends = xmalloc_floats((size_t)2 * side * nz);
    rng_fill_normal(&rng, ends, (size_t)2 * side * nz, 0.0f, 1.0f);
    for (int r = 0; r < side; r++)
      for (int j = 0; j < side; j++) {
        float t = (float)j / (float)(side - 1);
        const float *a = ends + (size_t)2 * r * nz, *b = a + nz;
        float *zi = z + ((size_t)r * side + j) * nz;
        for (int c = 0; c < nz; c++) zi[c] = (1.0f - t) * a[c] + t * b[c];
      }
    free(ends);
  } else {
    rng_fill_normal(&rng, z, (size_t)n * nz, 0.0f, 1.0f);
  }
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, 0);
  int chunk = n < SAMPLE_CHUNK ? (int)n : SAMPLE_CHUNK;
  DcganActs a;
  dcgan_acts_alloc(&a, &g, chunk);
  for (long i = 0; i < n; i += chunk) {
    int m = n - i < chunk ? (int)(n - i) : chunk;
    dcgan_forward(&ctx, &g, &a, z + (size_t)i * nz, img + (size_t)i * isz, m, 0);  // eval mode
  }
  for (size_t i = 0; i < (size_t)n * isz; i++) img[i] = (img[i] + 1.0f) * 0.5f;  // tanh's range
  rc = image_grid_png(out, img, (int)n, 3, g.img, g.img, interp ? side : 8, 2, 0, err, sizeof err);
  if (rc) fprintf(stderr, "genet: %s\n", err);
  else
    printf("| %ld %s from %s (seed %ld) in %s\n", n, n == 1 ? "image" :
           interp ? "images, rows of linear interpolations," : "images", path, seed, out);
  dcgan_acts_free(&a);
  ctx_free(&ctx);
  dcgan_net_free(&g);
  free(z);
  free(img);
  return rc ? 1 : 0;
}
