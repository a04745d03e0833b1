// test_image.c: images against PIL and torchvision (tests/fixtures/image.h5 and image_*,
// made by scripts/fixtures/fx_image.py): decodes of PNG/JPEG flavours, Resize(N) and
// CenterCrop, save_image grids; PNG round trips through files libpng writes here (grey,
// RGBA, 16-bit, interlaced); bad files; `genet prepare images` and `synthetic-images`.
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/h5io.h"
#include "data/image.h"
#include "data/prepare.h"
#include "testlib.h"

static char dir[] = "/tmp/genet_test_image_XXXXXX";
static H5File fx;

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  int m = 0;
  for (size_t i = 0; i < n; i++) m = abs(a[i] - b[i]) > m ? abs(a[i] - b[i]) : m;
  return m;
}

// Reads an (h, w, 3) uint8 fixture of any h, w; malloc'd.
static uint8_t *fx_u8(const char *name, int *h, int *w) {
  char err[512];
  int64_t d[3];
  if (h5_shape(&fx, name, d, 3, err, sizeof err) != 3 || d[2] != 3) {
    printf("fixture %s: %s\n", name, err);
    exit(1);
  }
  uint8_t *x = malloc((size_t)d[0] * d[1] * 3);
  if (h5_read_u8(&fx, name, x, 3, d, err, sizeof err)) exit(1);
  *h = (int)d[0];
  *w = (int)d[1];
  return x;
}

static long long fx_attr(const char *obj, const char *attr) {
  Fixture f;
  fx_open(&f, "image.h5");
  long long v = fx_attr_int(&f, obj, attr);
  fx_close(&f);
  return v;
}

static void decodes(void) {
  const char *files[] = {"image_rgb.jpg", "image_prog444.jpg", "image_grey.jpg", "image_rgb.png",
                         "image_rgba.png", "image_la.png", "image_palette.png", "image_1bit.png",
                         "image_grey16.png"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char path[600], name[100], err[600];
    snprintf(path, sizeof path, "%s/%s", GENET_FIXTURES, files[i]);
    snprintf(name, sizeof name, "decode/%s", files[i]);
    int h, w;
    uint8_t *want = fx_u8(name, &h, &w);
    Image img;
    int rc = image_read(&img, path, err, sizeof err);
    int ok = rc == 0 && img.h == h && img.w == w;
    int d = ok ? max_diff(img.px, want, (size_t)h * w * 3) : 999;
    test_check(ok && d == 0, "%s (%dx%d) decoded as PIL: max difference %d levels%s%s", files[i], w, h, d,
               rc ? ": " : "", rc ? err : "");
    image_free(&img);
    free(want);
  }
}

// A PNG of any colour type and depth, written here by libpng (1 byte or 2 big-endian per sample).
static void write_png_raw(const char *path, int w, int h, int ctype, int depth, int interlace, const uint8_t *data) {
  FILE *f = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, ctype, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  int ch = ctype == PNG_COLOR_TYPE_GRAY ? 1 : ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : ctype == PNG_COLOR_TYPE_RGB ? 3 : 4;
  size_t stride = (size_t)w * ch * (depth / 8);
  png_bytep *rows = malloc(sizeof(png_bytep) * h);
  for (int y = 0; y < h; y++) rows[y] = (png_bytep)data + y * stride;
  png_write_image(png, rows);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  free(rows);
  fclose(f);
}

static void png_round_trips(void) {
  char path[600], err[600];
  enum { W = 13, H = 7 };
  uint8_t rgb[H * W * 3];
  for (int i = 0; i < H * W * 3; i++) rgb[i] = (uint8_t)(i * 37 + (i / 5) * 11);
  Image img = {.h = H, .w = W, .px = rgb}, back;
  snprintf(path, sizeof path, "%s/rt.png", dir);
  int rc = image_write_png(path, &img, err, sizeof err) || image_read(&back, path, err, sizeof err);
  test_check(!rc && back.h == H && back.w == W && !memcmp(back.px, rgb, sizeof rgb), "RGB PNG write -> read: exact");
  image_free(&back);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp >/dev/null", dir);
  test_check(system(cmd) != 0, "no temporary file left beside the written PNG");

  // Other layouts, written by libpng directly; want = what each must read back as.
  uint8_t raw[H * W * 8], want[H * W * 3];
  for (int i = 0; i < H * W * 8; i++) raw[i] = (uint8_t)(i * 53 + 7);
  struct { const char *what; int ctype, depth, interlace; } cases[] = {
      {"grey 8-bit", PNG_COLOR_TYPE_GRAY, 8, 0},      {"grey+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0},
      {"RGBA (alpha dropped)", PNG_COLOR_TYPE_RGBA, 8, 0}, {"RGB 16-bit (high byte)", PNG_COLOR_TYPE_RGB, 16, 0},
      {"RGBA 16-bit", PNG_COLOR_TYPE_RGBA, 16, 0},    {"grey 16-bit", PNG_COLOR_TYPE_GRAY, 16, 0},
      {"RGB interlaced (Adam7)", PNG_COLOR_TYPE_RGB, 8, 1}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    int ct = cases[k].ctype, bps = cases[k].depth / 8;
    int ch = ct == PNG_COLOR_TYPE_GRAY ? 1 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : ct == PNG_COLOR_TYPE_RGB ? 3 : 4;
    for (int p = 0; p < H * W; p++)
      for (int c = 0; c < 3; c++) want[p * 3 + c] = raw[(p * ch + (ch < 3 ? 0 : c)) * bps];  // high byte first
    snprintf(path, sizeof path, "%s/layout%zu.png", dir, k);
    write_png_raw(path, W, H, ct, cases[k].depth, cases[k].interlace, raw);
    rc = image_read(&back, path, err, sizeof err);
    test_check(!rc && back.h == H && back.w == W && !memcmp(back.px, want, sizeof want), "PNG %s: read exact%s%s",
               cases[k].what, rc ? ": " : "", rc ? err : "");
    image_free(&back);
  }
  snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
  rc = image_write_png(path, &img, err, sizeof err);
  test_check(rc == -1 && strstr(err, "x.png"), "write into a missing directory: \"%s\"", err);
}

static void resizes(void) {
  int worst = 0, worst_t = 0, ncase = 0;
  for (int i = 0;; i++) {
    char g[64], name[100];
    snprintf(g, sizeof g, "resize/case%d", i);
    if (!h5_exists(&fx, g)) break;
    int h, w, ph, pw, th, tw, crh, crw;
    snprintf(name, sizeof name, "%s/x", g);
    uint8_t *x = fx_u8(name, &h, &w);
    snprintf(name, sizeof name, "%s/pil", g);
    uint8_t *pil = fx_u8(name, &ph, &pw);
    snprintf(name, sizeof name, "%s/torch", g);
    uint8_t *tq = fx_u8(name, &th, &tw);
    snprintf(name, sizeof name, "%s/crop", g);
    uint8_t *crop = fx_u8(name, &crh, &crw);
    int n = (int)fx_attr(g, "n");
    Image in = {.h = h, .w = w, .px = x}, out, c;
    GENET_ASSERT(image_resize_short(&out, &in, n, "fixture", NULL, 0) == 0);
    int shape = out.h == ph && out.w == pw;
    int d = shape ? max_diff(out.px, pil, (size_t)ph * pw * 3) : 999;
    int dt = shape ? max_diff(out.px, tq, (size_t)ph * pw * 3) : 999;
    test_check(shape && d == 0, "Resize(%d) of %dx%d -> %dx%d (want %dx%d): vs PIL max %d levels, vs torch "
               "interpolate(antialias) max %d", n, h, w, out.h, out.w, ph, pw, d, dt);
    image_center_crop(&c, &out, crh, crw);
    test_check(!memcmp(c.px, crop, (size_t)crh * crw * 3), "  CenterCrop(%d) as torchvision", crh);
    worst = d > worst ? d : worst;
    worst_t = dt > worst_t ? dt : worst_t;
    ncase++;
    image_free(&out);
    image_free(&c);
    free(x), free(pil), free(tq), free(crop);
  }
  printf("resize: %d cases, worst vs PIL %d levels, vs torch antialiased interpolate %d (torch vs PIL in the "
         "fixture: %lld)\n", ncase, worst, worst_t, fx_attr("/", "resize_torch_vs_pil_max"));
  test_check(ncase >= 5, "resize cases found");
}

static void grids(void) {
  for (int i = 0;; i++) {
    char g[64], name[100], path[600], err[600];
    snprintf(g, sizeof g, "grid/case%d", i);
    if (!h5_exists(&fx, g)) break;
    snprintf(name, sizeof name, "%s/want", g);
    int gh, gw;
    uint8_t *want = fx_u8(name, &gh, &gw);
    int64_t d[4];
    snprintf(name, sizeof name, "%s/x", g);
    h5_shape(&fx, name, d, 4, err, sizeof err);
    float *x = malloc(sizeof(float) * d[0] * d[1] * d[2] * d[3]);
    h5_read_f32(&fx, name, x, 4, d, err, sizeof err);
    int norm = (int)fx_attr(g, "normalize");
    snprintf(path, sizeof path, "%s/grid%d.png", dir, i);
    Image back = {0};
    int rc = image_grid_png(path, x, (int)d[0], (int)d[1], (int)d[2], (int)d[3], 8, 2, norm, err, sizeof err) ||
             image_read(&back, path, err, sizeof err);
    int shape = !rc && back.h == gh && back.w == gw;
    int md = shape ? max_diff(back.px, want, (size_t)gh * gw * 3) : 999;
    test_check(shape && md == 0, "save_image grid N=%d C=%d %dx%d normalize=%d: %dx%d, max difference %d levels",
               (int)d[0], (int)d[1], (int)d[2], (int)d[3], norm, back.w, back.h, md);
    image_free(&back);
    free(x);
    free(want);
  }
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (n) fwrite(p, 1, n, f);
  fclose(f);
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n);
  if (fread(b, 1, *n, f) != *n) exit(1);
  fclose(f);
  return b;
}

static void expect_error(const char *what, const char *path, const char *word) {
  Image img = {.h = 7, .w = 7, .px = (uint8_t *)1};
  char err[600] = "";
  int rc = image_read(&img, path, err, sizeof err);
  const char *base = strrchr(path, '/') + 1;
  test_check(rc == -1 && !img.px && strstr(err, base) && strstr(err, word) && !strchr(err, '\n'),
             "%s: \"%s\"", what, err);
}

static void bad_inputs(void) {
  char src[600], path[600];
  size_t n;
  snprintf(src, sizeof src, "%s/image_rgb.png", GENET_FIXTURES);
  uint8_t *png = slurp(src, &n);
  snprintf(path, sizeof path, "%s/trunc.png", dir);
  for (size_t cut = 8; cut < n; cut += n / 7 + 1) {  // header, IHDR, IDAT, before IEND
    write_bytes(path, png, cut);
    char what[128];
    snprintf(what, sizeof what, "PNG truncated at %zu of %zu bytes", cut, n);
    expect_error(what, path, "PNG");
  }
  png[20] ^= 0x40;  // IHDR width byte: the chunk's CRC no longer matches
  write_bytes(path, png, n);
  expect_error("PNG with a corrupt IHDR", path, "PNG");
  free(png);
  snprintf(path, sizeof path, "%s/wide.png", dir);
  uint8_t *row = calloc(16385 * 3, 1);
  write_png_raw(path, 16385, 1, PNG_COLOR_TYPE_RGB, 8, 0, row);
  free(row);
  expect_error("PNG 16385 pixels wide", path, "limit");

  snprintf(src, sizeof src, "%s/image_rgb.jpg", GENET_FIXTURES);
  uint8_t *jpg = slurp(src, &n);
  snprintf(path, sizeof path, "%s/trunc.jpg", dir);
  write_bytes(path, jpg, n * 3 / 5);
  expect_error("JPEG truncated at 60%", path, "Premature end");
  write_bytes(path, jpg, 100);
  expect_error("JPEG truncated in its headers", path, "JPEG");
  for (size_t i = 2; i + 8 < n; i++)
    if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {  // SOF0: height and width at +5, +7
      jpg[i + 5] = 0x4e, jpg[i + 6] = 0x20, jpg[i + 7] = 0x4e, jpg[i + 8] = 0x20;
      break;
    }
  snprintf(path, sizeof path, "%s/huge.jpg", dir);
  write_bytes(path, jpg, n);
  expect_error("JPEG claiming 20000x20000", path, "too large");
  free(jpg);

  snprintf(path, sizeof path, "%s/notes.png", dir);
  write_bytes(path, "hello, not an image\n", 20);
  expect_error("a text file named .png", path, "not a PNG or JPEG");
  snprintf(path, sizeof path, "%s/empty.jpg", dir);
  write_bytes(path, "", 0);
  expect_error("a zero-byte file", path, "empty");
  snprintf(path, sizeof path, "%s/missing.png", dir);
  expect_error("a missing file", path, "No such file");
  expect_error("a directory", dir, "a directory, expected a regular file");
}

static void prepare_images_round_trip(void) {
  char sub[600], path[700], out[700], err[600], tmpname[800];
  snprintf(sub, sizeof sub, "%s/imgs", dir);
  mkdir(sub, 0700);
  // Three images of different shapes, named out of order; a non-image file is ignored.
  int shapes[3][2] = {{20, 30}, {17, 9}, {12, 12}};
  const char *names[3] = {"c.png", "a.PNG", "b.png"};
  for (int k = 0; k < 3; k++) {
    Image im = {.h = shapes[k][0], .w = shapes[k][1]};
    im.px = malloc((size_t)im.h * im.w * 3);
    for (int i = 0; i < im.h * im.w * 3; i++) im.px[i] = (uint8_t)(i * (k + 3) + k * 50);
    snprintf(path, sizeof path, "%s/%s", sub, names[k]);
    image_write_png(path, &im, err, sizeof err);
    image_free(&im);
  }
  snprintf(path, sizeof path, "%s/d.jpeg", sub);
  size_t n;
  char src[600];
  snprintf(src, sizeof src, "%s/image_rgb.jpg", GENET_FIXTURES);
  uint8_t *jpg = slurp(src, &n);
  write_bytes(path, jpg, n);
  free(jpg);
  snprintf(path, sizeof path, "%s/readme.txt", sub);
  write_bytes(path, "x", 1);
  snprintf(out, sizeof out, "%s/set.h5", dir);
  test_check(prepare_images(sub, out, 8) == 0, "prepare images exits 0");
  H5File f;
  static uint8_t got[4 * 3 * 8 * 8], want[3 * 8 * 8];
  int64_t d[4] = {4, 3, 8, 8};
  int ok = !h5_open_read(&f, out, err, sizeof err) && !h5_read_u8(&f, "images", got, 4, d, err, sizeof err);
  char *nm = NULL;
  ok = ok && !h5_read_str(&f, "names", &nm, 1 << 16, err, sizeof err);
  test_check(ok && !strcmp(nm, "a.PNG\nb.png\nc.png\nd.jpeg"), "images (4, 3, 8, 8) and names in byte order: \"%s\"",
             nm ? nm : err);
  free(nm);
  h5_close(&f, err, sizeof err);
  const char *sorted[4] = {"a.PNG", "b.png", "c.png", "d.jpeg"};
  int same = 1;
  for (int k = 0; k < 4; k++) {  // each as read -> Resize(8) -> CenterCrop(8) -> CHW
    Image im, r, c;
    snprintf(path, sizeof path, "%s/%s", sub, sorted[k]);
    image_read(&im, path, err, sizeof err);
    GENET_ASSERT(image_resize_short(&r, &im, 8, path, err, sizeof err) == 0);
    image_center_crop(&c, &r, 8, 8);
    image_to_chw(want, &c);
    same &= !memcmp(want, got + k * sizeof want, sizeof want) && c.px[5 * 8 * 3 + 2 * 3 + 1] == want[64 + 5 * 8 + 2];
    image_free(&im), image_free(&r), image_free(&c);
  }
  test_check(same, "each image resized, centre-cropped and stored channel-major");
  // One unreadable image: exit 1, the old output untouched, no temporary left.
  snprintf(path, sizeof path, "%s/e.png", sub);
  write_bytes(path, "GIF89a", 6);
  struct stat st0, st1;
  stat(out, &st0);
  test_check(prepare_images(sub, out, 8) == 1, "a bad image fails the whole run (message above)");
  stat(out, &st1);
  snprintf(tmpname, sizeof tmpname, "%s/.set.h5.tmp", dir);  // h5safe_begin_path's temporary
  test_check(st0.st_size == st1.st_size && st0.st_mtime == st1.st_mtime && access(tmpname, F_OK) != 0,
             "previous output untouched, no temporary left");
  snprintf(out, sizeof out, "%s/none.h5", dir);
  test_check(prepare_images(sub, out, 8) == 1 && access(out, F_OK) != 0, "nothing written for a bad folder");
}

static void synthetic(void) {
  char a[600], b[600], c[600], err[600];
  snprintf(a, sizeof a, "%s/syn_a.h5", dir);
  snprintf(b, sizeof b, "%s/syn_b.h5", dir);
  snprintf(c, sizeof c, "%s/syn_c.h5", dir);
  enum { N = 500, NT = 100, S = 24 };
  int r = prepare_synthetic_images(a, N, S, 7) | prepare_synthetic_images(b, N, S, 7) |
          prepare_synthetic_images(c, N, S, 8);
  test_check(r == 0, "synthetic-images written three times");
  static uint8_t img[3][N * 3 * S * S], lab[3][N], timg[NT * 3 * S * S], tlab[NT];
  const char *paths[3] = {a, b, c};
  int ok = 1;
  for (int k = 0; k < 3; k++) {
    H5File f;
    // The CIFAR-10 reader's checks: each dataset's shape queried, then read as uint8.
    int64_t d[4], dl[1], want[4] = {N, 3, S, S};
    ok &= !h5_open_read(&f, paths[k], err, sizeof err) && h5_shape(&f, "train/images", d, 4, err, sizeof err) == 4 &&
          !memcmp(d, want, sizeof d) && h5_shape(&f, "train/labels", dl, 1, err, sizeof err) == 1 && dl[0] == N;
    ok &= !h5_read_u8(&f, "train/images", img[k], 4, want, err, sizeof err) &&
          !h5_read_u8(&f, "train/labels", lab[k], 1, want, err, sizeof err);
    if (k == 0) {
      int64_t wt[4] = {NT, 3, S, S}, rest[3] = {3, S, S};
      static uint8_t rows[2 * 3 * S * S];
      ok &= !h5_read_u8(&f, "test/images", timg, 4, wt, err, sizeof err) &&
            !h5_read_u8(&f, "test/labels", tlab, 1, wt, err, sizeof err) &&
            !h5_read_rows_u8(&f, "train/images", rows, 10, 2, 3, rest, err, sizeof err) &&
            !memcmp(rows, img[0] + 10 * 3 * S * S, sizeof rows);
    }
    h5_close(&f, err, sizeof err);
  }
  test_check(ok, "CIFAR-10 layout: train (%d, 3, %d, %d) + labels, test (%d, ...), a rank's row slice reads%s%s", N, S,
             S, NT, ok ? "" : ": ", ok ? "" : err);
  test_check(!memcmp(img[0], img[1], sizeof img[0]) && !memcmp(lab[0], lab[1], sizeof lab[0]),
             "same seed: the same images and labels");
  test_check(memcmp(img[0], img[2], sizeof img[0]) != 0, "another seed: other images");
  test_check(memcmp(timg, img[0], sizeof timg) != 0, "test images differ from train's first");
  long count[5] = {0}, bad = 0;
  for (int i = 0; i < N; i++) lab[0][i] < 5 ? count[lab[0][i]]++ : bad++;
  int bal = !bad;
  for (int k = 0; k < 5; k++) bal &= count[k] > N / 5 / 2 && count[k] < N / 5 * 2;
  for (int i = 0; i < NT; i++) bal &= tlab[i] < 5;
  test_check(bal, "labels in 0..4, each class %ld %ld %ld %ld %ld of %d", count[0], count[1], count[2], count[3],
             count[4], N);
  // Statistics: channel means mid-range, real spread, and each image has a shape that
  // stands out (its pixel range is wide) without being noise (neighbours mostly equal-ish).
  int stats = 1;
  for (int ch = 0; ch < 3; ch++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++)
      for (int p = 0; p < S * S; p++) {
        double v = img[0][(size_t)i * 3 * S * S + ch * S * S + p];
        s += v, s2 += v * v;
      }
    double m = s / (N * S * S), sd = sqrt(s2 / (N * S * S) - m * m);
    printf("channel %d: mean %.1f std %.1f\n", ch, m, sd);
    stats &= m > 80 && m < 175 && sd > 40;
  }
  int flat = 0;
  double rough = 0;
  for (int i = 0; i < N; i++) {
    const uint8_t *x = img[0] + (size_t)i * 3 * S * S;
    int lo = 255, hi = 0;
    for (int p = 0; p < 3 * S * S; p++) lo = x[p] < lo ? x[p] : lo, hi = x[p] > hi ? x[p] : hi;
    flat += hi - lo < 60;
    for (int p = 0; p + 1 < S * S; p++) rough += abs(x[p + 1] - x[p]);
  }
  rough /= (double)N * (S * S - 1);
  printf("images with a pixel range under 60: %d of %d; mean |horizontal step| %.2f levels\n", flat, N, rough);
  test_check(stats && flat == 0 && rough < 20, "image statistics sane");
}

// Luminance-only transfer (style's original_colors): on random planar RGB images the result
// has result's Y and content's U and V (computed in double from the float output; K = 3, the
// three products of each row, at RTOL_F32), and the output differs from result (the colours
// moved). In place (out = result) gives the same bytes.
static void keep_colors(void) {
  enum { HW = 257 };
  float *res = uniform_floats(3 * HW, 0.f, 1.f, 71), *con = uniform_floats(3 * HW, 0.f, 1.f, 72);
  float *out = xmalloc_floats(3 * HW);
  image_keep_colors(out, res, con, HW);
  float *got[3], *want[3];
  for (int k = 0; k < 3; k++) {
    got[k] = xmalloc_floats(HW);
    want[k] = xmalloc_floats(HW);
  }
  for (int i = 0; i < HW; i++) {
    double o[3] = {out[i], out[HW + i], out[2 * HW + i]}, r[3] = {res[i], res[HW + i], res[2 * HW + i]};
    double c[3] = {con[i], con[HW + i], con[2 * HW + i]}, yo[3], yr[3], yc[3];
    image_rgb_to_yuv(yo, o);
    image_rgb_to_yuv(yr, r);
    image_rgb_to_yuv(yc, c);
    for (int k = 0; k < 3; k++) {
      got[k][i] = (float)yo[k];
      want[k][i] = (float)(k ? yc[k] : yr[k]);
    }
  }
  check_close("keep_colors: Y of the output is the result's", got[0], want[0], HW, 3, RTOL_F32);
  check_close("keep_colors: U of the output is the content's", got[1], want[1], HW, 3, RTOL_F32);
  check_close("keep_colors: V of the output is the content's", got[2], want[2], HW, 3, RTOL_F32);
  test_check(close_err(out, res, 3 * HW, 1, NULL) > 1e-2, "keep_colors changes the colours");
  float *inplace = copy_floats(res, 3 * HW);
  image_keep_colors(inplace, inplace, con, HW);
  test_check(memcmp(inplace, out, sizeof(float) * 3 * HW) == 0, "keep_colors in place: same bytes");
  for (int k = 0; k < 3; k++) {
    free(got[k]);
    free(want[k]);
  }
  free(res); free(con); free(out); free(inplace);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  char err[600], path[600];
  snprintf(path, sizeof path, "%s/image.h5", GENET_FIXTURES);
  if (h5_open_read(&fx, path, err, sizeof err)) {
    printf("%s\n", err);
    return 1;
  }
  decodes();
  png_round_trips();
  resizes();
  grids();
  bad_inputs();
  prepare_images_round_trip();
  synthetic();
  keep_colors();
  h5_close(&fx, err, sizeof err);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return test_finish("image");
}
