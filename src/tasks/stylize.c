// stylize.c: `genet stylize CKPT IN [OUT] [size=N] [threads=N]`, pytorch/examples
// fast_neural_style's `eval`: one forward pass of a fast_style checkpoint's TransformerNet per
// image, on the CPU. The network is fully convolutional: each image runs at its own size (its
// short side resized to `size` first when size > 0), and the output, (4 ceil(h/4)) x
// (4 ceil(w/4)), is cropped to the input's h x w; values are clamped to [0, 255] and truncated
// to bytes as the reference's `clamp(0, 255).astype("uint8")`. CKPT is a checkpoint file or a
// checkpoint_dir (its newest); IN is an image, a directory (its PNG and JPEG files, in name
// order) or a comma-separated list. One input: OUT is the PNG file (default IN's name with
// `-stylized.png`); several: OUT is a directory (default `stylized`), NAME.png for each.
// Prints the milliseconds of each image's forward pass and their mean.
#include "tasks/stylize.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/dir.h"
#include "core/util.h"
#include "data/h5safe.h"
#include "data/image.h"
#include "data/params_io.h"
#include "models/transformer_model.h"
#include "tasks/fast_style_task.h"
#include "tasks/registry.h"
#include "train/ckpt.h"

static const char *usage =
    "genet: usage: genet stylize CKPT IN [OUT] [size=N] [threads=N]   (CKPT: a fast_style "
    "checkpoint or its checkpoint_dir; IN: an image, a directory or a comma-separated list)\n";

static const CfgSpec stylize_keys[] = {
    {"size", CFG_INT, "0", 0, 16384, NULL, "short side each image is resized to first (0: as it is)", 0},
    {"threads", CFG_INT, "0", 0, 1024, NULL, "CPU threads (0: OpenMP's default)", 0},
};

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

// The network of checkpoint `path`: its job's width, its params/. 0, or 1 after one line.
static int load_net(TransformerNet *n, const char *path) {
  char err[GENET_ERR_MAX];
  H5File f;
  char *job = NULL;
  int64_t step;
  int ws, version, rc = 1;
  if (h5safe_open(&f, path, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    return 1;
  }
  if (ckpt_read_meta(&f, &step, &ws, &version, err, sizeof err) ||
      h5_read_str(&f, "meta/job", &job, 1 << 20, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    h5_close(&f, NULL, 0);
    return 1;
  }
  Config cfg;
  const CfgSpec *const tables[] = {task_shared_keys(), fast_style_task_keys};
  const int sizes[] = {train_nshared_keys, fast_style_task_nkeys};
  for (int pass = 0; pass < 2; pass++) {  // the task first: another task's keys may not parse
    config_init(&cfg, tables, sizes, pass + 1);
    cfg.ignore_unknown = 1;
    if (config_load_text(&cfg, job, "meta/job", err, sizeof err) ||
        (pass == 0 && config_check_required(&cfg, err, sizeof err))) {
      fprintf(stderr, "genet: %s: its meta/job cannot be read: %s\n", path, err);
      goto cleanup;
    }
    if (strcmp(config_str(&cfg, "task"), "fast_style") != 0) {
      fprintf(stderr, "genet: %s: a checkpoint of task = %s; genet stylize runs a fast_style checkpoint\n",
              path, config_str(&cfg, "task"));
      goto cleanup;
    }
    if (pass == 0) config_free(&cfg);
  }
  transformer_build(n, (int)config_int(&cfg, "width"), NULL);
  if (params_read(&f, &n->params, n->params.data, "params", err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    transformer_free(n);
    goto cleanup;
  }
  rc = 0;
cleanup:
  config_free(&cfg);
  free(job);
  h5_close(&f, NULL, 0);
  return rc;
}

static int is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && dot != name &&
         (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The input paths (malloc'd strings); returns the count, or -1 after one line.
static int list_inputs(const char *in, char ***out) {
  char **v = NULL;
  int n = 0, cap = 0;
  if (is_dir(in)) {
    DIR *d = opendir(in);
    if (!d) {
      fprintf(stderr, "genet: %s: cannot read the directory\n", in);
      return -1;
    }
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.' || !is_image_name(e->d_name)) continue;
      if (n == cap) v = xrealloc(v, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
      size_t len = strlen(in) + strlen(e->d_name) + 2;
      v[n] = xmalloc(len);
      snprintf(v[n++], len, "%s/%s", in, e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    if (!n) fprintf(stderr, "genet: %s: no PNG or JPEG files\n", in);
  } else {
    char *copy = xstrdup(in), *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
      if (n == cap) v = xrealloc(v, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
      v[n++] = xstrdup(p);
    }
    free(copy);
  }
  *out = v;
  return n ? n : -1;
}

// OUT for input `in`: the file itself (one input), or DIR/NAME.png (several).
static void out_name(char *buf, size_t len, const char *in, const char *out, int many) {
  const char *base = strrchr(in, '/');
  base = base ? base + 1 : in;
  const char *dot = strrchr(base, '.');
  int stem = dot ? (int)(dot - base) : (int)strlen(base);
  if (!many && out) snprintf(buf, len, "%s", out);
  else if (!many) snprintf(buf, len, "%.*s-stylized.png", stem, base);
  else snprintf(buf, len, "%s/%.*s.png", out ? out : "stylized", stem, base);
}

// One image: read, resize, forward, crop, clamp, write. Returns 0 or 1 after one line; *ms the
// forward pass's time.
static int stylize_one(Ctx *ctx, const TransformerNet *net, const char *in, const char *out, int size,
                       double *ms) {
  char err[GENET_ERR_MAX];
  Image img, rs;
  if (image_read(&img, in, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    return 1;
  }
  if (size > 0) {
    if (image_resize_short(&rs, &img, size, in, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      image_free(&img);
      return 1;
    }
    image_free(&img);
    img = rs;
  }
  int h = img.h, w = img.w;
  if (h < TRANSFORMER_MIN_SIDE || w < TRANSFORMER_MIN_SIDE) {
    fprintf(stderr, "genet: %s: %d x %d; the network needs at least %d x %d (size = N resizes)\n", in, w, h,
            TRANSFORMER_MIN_SIDE, TRANSFORMER_MIN_SIDE);
    image_free(&img);
    return 1;
  }
  size_t hw = (size_t)h * w;
  float *x = xmalloc_floats(3 * hw);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < hw; i++) x[c * hw + i] = img.px[i * 3 + c];
  TransformerActs a;
  transformer_acts_alloc_forward(&a, net, 1, h, w);
  double t0 = now_s();
  const float *y = transformer_forward(ctx, net, &a, x);
  *ms = 1e3 * (now_s() - t0);
  int ho = a.ho[TRANSFORMER_UNITS - 1], wo = a.wo[TRANSFORMER_UNITS - 1];
  for (int c = 0; c < 3; c++)  // crop the top-left h x w of the ho x wo output
    for (int r = 0; r < h; r++)
      for (int col = 0; col < w; col++) {
        float v = y[((size_t)c * ho + r) * wo + col];
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        img.px[((size_t)r * w + col) * 3 + c] = (uint8_t)v;
      }
  transformer_acts_free(&a);
  free(x);
  int rc = image_write_png(out, &img, err, sizeof err);
  if (rc) fprintf(stderr, "genet: %s\n", err);
  image_free(&img);
  return rc ? 1 : 0;
}

int stylize_main(int argc, char **argv) {
  int npos = 0;
  while (1 + npos < argc && !strchr(argv[1 + npos], '=') && argv[1 + npos][0] != '-') npos++;
  if (npos < 2 || npos > 3) {
    fputs(usage, stderr);
    return 2;
  }
  const char *ckpt = argv[1], *in = argv[2], *out = npos == 3 ? argv[3] : NULL;
  Config args;
  char err[GENET_ERR_MAX];
  if (config_parse_args(&args, stylize_keys, (int)(sizeof stylize_keys / sizeof *stylize_keys), "stylize",
                        argc - 1 - npos, argv + 1 + npos, err, sizeof err)) {
    config_free(&args);
    fprintf(stderr, "genet: %s\n", err);
    return 2;
  }
  int size = (int)config_int(&args, "size"), threads = (int)config_int(&args, "threads");
  config_free(&args);
  char **paths = NULL, *newest = NULL;
  if (is_dir(ckpt)) {  // a checkpoint_dir: its newest checkpoint
    int n = ckpt_list(ckpt, &paths);
    if (n < 1) {
      fprintf(stderr, "genet: %s: no checkpoint in this directory\n", ckpt);
      ckpt_list_free(paths, n);
      return 1;
    }
    newest = xstrdup(paths[0]);
    ckpt_list_free(paths, n);
    ckpt = newest;
  }
  TransformerNet net;
  if (load_net(&net, ckpt)) {
    free(newest);
    return 1;
  }
  char **ins = NULL;
  int n = list_inputs(in, &ins), rc = n < 0;
  int many = n > 1 || is_dir(in);
  if (!rc && many && dir_make(out ? out : "stylized", err, sizeof err)) {
    fprintf(stderr, "genet: %s: %s\n", out ? out : "stylized", err);
    rc = 1;
  }
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, threads);
  double total = 0;
  for (int i = 0; !rc && i < n; i++) {
    char dst[GENET_PATH_MAX + 256];
    double ms;
    out_name(dst, sizeof dst, ins[i], out, many);
    rc = stylize_one(&ctx, &net, ins[i], dst, size, &ms);
    if (!rc) printf("| %s -> %s: %.1f ms\n", ins[i], dst, ms);
    total += ms;
  }
  if (!rc) printf("| %d image%s stylized by %s: %.1f ms per image (forward pass, %d CPU thread%s)\n", n,
                  n == 1 ? "" : "s", ckpt, total / n, ctx.nthreads, ctx.nthreads == 1 ? "" : "s");
  for (int i = 0; i < (n > 0 ? n : 0); i++) free(ins[i]);
  free(ins);
  ctx_free(&ctx);
  transformer_free(&net);
  free(newest);
  return rc;
}
