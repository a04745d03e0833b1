// image.c: PNG/JPEG decoding with every library error caught, atomic PNG writes, PIL's
// bilinear resize, centre crops and torchvision's image grids.
#include "data/image.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
// after stdio.h: jpeglib.h uses FILE
#include <jpeglib.h>
#include <jerror.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/file_open.h"
#include "core/util.h"

#define IMAGE_MAX_FILE (1ll << 30)  // bytes; a file larger than this is refused before reading

void image_free(Image *img) {
  free(img->px);
  img->px = NULL;
  img->h = img->w = 0;
}

static int dims_ok(long long w, long long h) {
  return w >= 1 && h >= 1 && w <= IMAGE_MAX_SIDE && h <= IMAGE_MAX_SIDE && w * h <= IMAGE_MAX_PIXELS;
}

// ---- PNG: libpng reports errors through png_err_fn, which jumps back to decode_png.
typedef struct {
  jmp_buf jb;
  char msg[160], warn[120];  // the error, and the last warning (it often says why)
  const uint8_t *p;
  size_t n, off;
} PngCtx;

static void png_err_fn(png_structp png, png_const_charp msg) {
  PngCtx *c = png_get_error_ptr(png);
  snprintf(c->msg, sizeof c->msg, "%s", msg);
  longjmp(c->jb, 1);
}

static void png_warn_fn(png_structp png, png_const_charp msg) {
  PngCtx *c = png_get_error_ptr(png);
  snprintf(c->warn, sizeof c->warn, "%s", msg);
}

static void png_mem_read(png_structp png, png_bytep out, size_t len) {
  PngCtx *c = png_get_error_ptr(png);
  if (len > c->n - c->off) png_error(png, "file is truncated");
  memcpy(out, c->p + c->off, len);
  c->off += len;
}

static int decode_png(Image *img, const uint8_t *data, size_t n, const char *name, char *err, size_t errlen) {
  PngCtx c = {.p = data, .n = n, .off = 0, .msg = "", .warn = ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_err_fn, png_warn_fn);
  if (!png) return genet_err(err, errlen, "%s: cannot start the PNG decoder", name);
  png_infop info = png_create_info_struct(png);
  uint8_t *volatile px = NULL;
  png_bytep *volatile rows = NULL;
  if (!info || setjmp(c.jb)) {
    free(px);
    free(rows);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return genet_err(err, errlen, "%s: bad PNG: %s%s%s%s", name, c.msg[0] ? c.msg : "out of memory",
                     c.warn[0] ? " (" : "", c.warn, c.warn[0] ? ")" : "");
  }
  png_set_read_fn(png, NULL, png_mem_read);
  png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
  png_set_chunk_malloc_max(png, 16u << 20);  // text/ICC chunks: no huge allocation on a lie
  png_read_info(png, info);
  png_uint_32 w, h;
  int depth, ctype;
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
  if (!dims_ok(w, h)) png_error(png, "image too large");
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);     // the high byte, as PIL keeps for 16-bit RGB
  png_set_strip_alpha(png);  // alpha channels (and a palette's tRNS) are dropped
  if (!(ctype & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unsupported pixel layout");
  px = malloc((size_t)w * h * 3);
  rows = malloc(sizeof(png_bytep) * h);
  if (!px || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = px + (size_t)y * w * 3;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  img->h = (int)h;
  img->w = (int)w;
  img->px = px;
  return 0;
}

// ---- JPEG: libjpeg's error_exit would exit(); ours jumps back to decode_jpeg instead.
typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_err_exit(j_common_ptr cinfo) {
  JpegErr *e = (JpegErr *)cinfo->err;
  cinfo->err->format_message(cinfo, e->msg);
  longjmp(e->jb, 1);
}

// A file that ends early is an error (libjpeg would only warn and fill with grey, as PIL
// refuses); other corrupt-data warnings are tolerated, as PIL tolerates them.
static void jpeg_emit(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_err_exit(cinfo);
}

static int decode_jpeg(Image *img, const uint8_t *data, size_t n, const char *name, char *err, size_t errlen) {
  struct jpeg_decompress_struct cinfo;
  JpegErr e;
  memset(&cinfo, 0, sizeof cinfo);
  e.msg[0] = 0;
  cinfo.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = jpeg_err_exit;
  e.pub.emit_message = jpeg_emit;
  uint8_t *volatile px = NULL;
  if (setjmp(e.jb)) {
    jpeg_destroy_decompress(&cinfo);
    free(px);
    return genet_err(err, errlen, "%s: bad JPEG: %s", name, e.msg[0] ? e.msg : "unknown error");
  }
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = 1l << 31;
  jpeg_mem_src(&cinfo, data, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  const char *why = NULL;
  if (!dims_ok(cinfo.image_width, cinfo.image_height)) why = "image too large";
  else if (cinfo.jpeg_color_space != JCS_GRAYSCALE && cinfo.jpeg_color_space != JCS_YCbCr &&
           cinfo.jpeg_color_space != JCS_RGB)
    why = "unsupported colour space (CMYK or YCCK)";
  if (!why) {
    cinfo.out_color_space = JCS_RGB;  // greyscale is copied to R, G and B
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) why = "unsupported output layout";
  }
  if (why) {
    jpeg_destroy_decompress(&cinfo);
    return genet_err(err, errlen, "%s: bad JPEG: %s (%ux%u)", name, why, cinfo.image_width, cinfo.image_height);
  }
  int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
  px = malloc((size_t)w * h * 3);
  if (!px) {
    jpeg_destroy_decompress(&cinfo);
    return genet_err(err, errlen, "%s: out of memory for %dx%d pixels", name, w, h);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = px + (size_t)cinfo.output_scanline * w * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  img->h = h;
  img->w = w;
  img->px = px;
  return 0;
}

int image_decode(Image *img, const uint8_t *data, size_t n, const char *name, char *err, size_t errlen) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  img->h = img->w = 0;
  img->px = NULL;
  if (n == 0) return genet_err(err, errlen, "%s: empty file, expected a PNG or JPEG image", name);
  if (n >= 8 && !memcmp(data, png_sig, 8)) return decode_png(img, data, n, name, err, errlen);
  if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decode_jpeg(img, data, n, name, err, errlen);
  return genet_err(err, errlen, "%s: not a PNG or JPEG file (no PNG signature or JPEG SOI marker)", name);
}

int image_read(Image *img, const char *path, char *err, size_t errlen) {
  img->h = img->w = 0;
  img->px = NULL;
  FILE *f = file_fopen_read(path, 0, err, errlen);  // a FIFO is refused, not waited on
  if (!f) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return genet_err(err, errlen, "%s: not a regular file", path);
  }
  if (st.st_size > IMAGE_MAX_FILE) {
    fclose(f);
    return genet_err(err, errlen, "%s: %lld bytes, more than an image file may have (%lld)", path,
                     (long long)st.st_size, IMAGE_MAX_FILE);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    fclose(f);
    return genet_err(err, errlen, "%s: out of memory reading %zu bytes", path, n);
  }
  size_t got = fread(buf, 1, n, f);
  int bad = ferror(f);
  fclose(f);
  int rc = got == n && !bad ? image_decode(img, buf, n, path, err, errlen)
                            : genet_err(err, errlen, "%s: %s (%zu of %zu bytes)", path,
                                        bad ? "read error" : "short read", got, n);
  free(buf);
  return rc;
}

int image_write_png(const char *path, const Image *img, char *err, size_t errlen) {
  if (!dims_ok(img->w, img->h)) return genet_err(err, errlen, "%s: cannot write a %dx%d image", path, img->w, img->h);
  AtomicFile a;
  if (atomic_open(&a, path, NULL, err, errlen)) return -1;
  PngCtx c = {.msg = "", .warn = ""};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_err_fn, png_warn_fn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info || setjmp(c.jb)) {
    png_destroy_write_struct(&png, &info);
    atomic_abort(&a);
    return genet_err(err, errlen, "%s: PNG write failed: %s", path, c.msg[0] ? c.msg : "out of memory");
  }
  png_init_io(png, a.f);
  png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img->h; y++) png_write_row(png, img->px + (size_t)y * img->w * 3);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return atomic_commit(&a, err, errlen);
}

// ---- resizing as Pillow's Resample.c: per output index, the input range [lo, lo + cnt)
// and its weights, made in double, normalized to sum 1, then fixed point with 22 bits.
#define PREC_BITS 22

typedef struct {
  int ksize;
  int *lo, *cnt;  // (out)
  int32_t *k;     // (out, ksize)
} Coeffs;

static void coeffs_init(Coeffs *c, int in, int out) {
  double scale = (double)in / out, fscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * fscale;  // the triangle filter's support is 1
  c->ksize = (int)ceil(support) * 2 + 1;
  c->lo = xmalloc(sizeof(int) * out);
  c->cnt = xmalloc(sizeof(int) * out);
  c->k = xcalloc((size_t)out * c->ksize, sizeof(int32_t));
  double *w = xmalloc(sizeof(double) * c->ksize);
  for (int i = 0; i < out; i++) {
    double center = (i + 0.5) * scale, ss = 1.0 / fscale, sum = 0;
    int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    int cnt = hi - lo;
    for (int x = 0; x < cnt; x++) {
      double t = fabs((x + lo - center + 0.5) * ss);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      sum += w[x];
    }
    for (int x = 0; x < cnt; x++) {
      double v = sum != 0.0 ? w[x] / sum : w[x];
      c->k[(size_t)i * c->ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC_BITS) : 0.5 + v * (1 << PREC_BITS));
    }
    c->lo[i] = lo;
    c->cnt[i] = cnt;
  }
  free(w);
}

static void coeffs_free(Coeffs *c) {
  free(c->lo);
  free(c->cnt);
  free(c->k);
}

static inline uint8_t clip8(int32_t v) {
  if (v >= (1 << PREC_BITS << 8)) return 255;
  if (v <= 0) return 0;
  return (uint8_t)(v >> PREC_BITS);
}

void image_resize(Image *out, const Image *in, int oh, int ow) {
  GENET_ASSERT(oh >= 1 && ow >= 1 && dims_ok(ow, oh) && in->h >= 1 && in->w >= 1);
  // Horizontal pass (skipped when the width stays), then vertical, as Pillow.
  const uint8_t *src = in->px;
  uint8_t *tmp = NULL;
  if (ow != in->w) {
    Coeffs c;
    coeffs_init(&c, in->w, ow);
    tmp = xmalloc((size_t)in->h * ow * 3);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < in->h; y++)
      for (int x = 0; x < ow; x++) {
        const int32_t *k = c.k + (size_t)x * c.ksize;
        const uint8_t *p = in->px + ((size_t)y * in->w + c.lo[x]) * 3;
        for (int ch = 0; ch < 3; ch++) {
          int32_t s = 1 << (PREC_BITS - 1);
          for (int j = 0; j < c.cnt[x]; j++) s += p[j * 3 + ch] * k[j];
          tmp[((size_t)y * ow + x) * 3 + ch] = clip8(s);
        }
      }
    coeffs_free(&c);
    src = tmp;
  }
  out->h = oh;
  out->w = ow;
  out->px = xmalloc((size_t)oh * ow * 3);
  if (oh != in->h) {
    Coeffs c;
    coeffs_init(&c, in->h, oh);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < oh; y++) {
      const int32_t *k = c.k + (size_t)y * c.ksize;
      for (int i = 0; i < ow * 3; i++) {
        int32_t s = 1 << (PREC_BITS - 1);
        for (int j = 0; j < c.cnt[y]; j++) s += src[(size_t)(c.lo[y] + j) * ow * 3 + i] * k[j];
        out->px[(size_t)y * ow * 3 + i] = clip8(s);
      }
    }
    coeffs_free(&c);
  } else {
    memcpy(out->px, src, (size_t)oh * ow * 3);
  }
  free(tmp);
}

int image_resize_short(Image *out, const Image *in, int n, const char *name, char *err, size_t errlen) {
  GENET_ASSERT(n >= 1 && in->h >= 1 && in->w >= 1);
  int sh = in->h <= in->w ? in->h : in->w, lg = in->h <= in->w ? in->w : in->h;
  double nl = (double)((long long)n * lg) / sh;  // Python's int(n * long / short)
  // The image's shape is the user's: a thin strip would resize past the limits.
  if (!dims_ok((long long)nl, n))
    return genet_err(err, errlen, "%s: a %dx%d image resized to short side %d would be %lldx%d, larger "
                     "than %d pixels a side or %lld in all: expected a less elongated image", name, in->w,
                     in->h, n, (long long)nl, n, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
  if (in->w <= in->h) image_resize(out, in, (int)nl, n);
  else image_resize(out, in, n, (int)nl);
  return 0;
}

// Python's round(d / 2) for an integer d >= 0: halves go to the even neighbour.
static int round_half_even_div2(int d) {
  int q = d / 2;
  return (d % 2 && q % 2) ? q + 1 : q;
}

void image_center_crop(Image *out, const Image *in, int ch, int cw) {
  GENET_ASSERT(ch >= 1 && cw >= 1 && ch <= in->h && cw <= in->w);
  int top = round_half_even_div2(in->h - ch), left = round_half_even_div2(in->w - cw);
  out->h = ch;
  out->w = cw;
  out->px = xmalloc((size_t)ch * cw * 3);
  for (int y = 0; y < ch; y++)
    memcpy(out->px + (size_t)y * cw * 3, in->px + ((size_t)(top + y) * in->w + left) * 3, (size_t)cw * 3);
}

void image_to_chw(uint8_t *chw, const Image *img) {
  size_t hw = (size_t)img->h * img->w;
  for (size_t i = 0; i < hw; i++)
    for (int c = 0; c < 3; c++) chw[c * hw + i] = img->px[i * 3 + c];
}

// ---- grids, as torchvision make_grid + save_image, in float32 as torch computes them.
int image_grid_png(const char *path, const float *batch, int n, int c, int h, int w, int nrow,
                   int padding, int normalize, char *err, size_t errlen) {
  GENET_ASSERT(n >= 1 && (c == 1 || c == 3) && h >= 1 && w >= 1 && nrow >= 1 && padding >= 0);
  size_t per = (size_t)c * h * w;
  float lo = 0, scale = 1;
  if (normalize) {
    float mn = batch[0], mx = batch[0];
    for (size_t i = 1; i < (size_t)n * per; i++) {
      mn = batch[i] < mn ? batch[i] : mn;
      mx = batch[i] > mx ? batch[i] : mx;
    }
    double range = (double)mx - (double)mn;  // max(high - low, 1e-5) in Python floats
    lo = mn;
    scale = (float)(range > 1e-5 ? range : 1e-5);
  }
  int cols = n < nrow ? n : nrow, rows = (n + cols - 1) / cols;
  if (n == 1) padding = 0;  // make_grid returns a single image as it is
  int ch = h + padding, cw = w + padding;
  Image g = {.h = rows * ch + padding, .w = cols * cw + padding};
  if (!dims_ok(g.w, g.h)) return genet_err(err, errlen, "%s: a %dx%d grid is too large", path, g.w, g.h);
  g.px = xcalloc((size_t)g.h * g.w * 3, 1);  // the padding value 0
  for (int k = 0; k < n; k++) {
    int y0 = (k / cols) * ch + padding, x0 = (k % cols) * cw + padding;
    for (int q = 0; q < 3; q++) {
      const float *plane = batch + k * per + (size_t)(c == 1 ? 0 : q) * h * w;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          float v = plane[(size_t)y * w + x];
          if (normalize) v = (v - lo) / scale;
          v = v * 255.0f + 0.5f;
          v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;  // NaN stays NaN: store 0 below
          g.px[((size_t)(y0 + y) * g.w + x0 + x) * 3 + q] = v == v ? (uint8_t)v : 0;
        }
    }
  }
  int rc = image_write_png(path, &g, err, errlen);
  image_free(&g);
  return rc;
}

// ---- luminance-only transfer (neural-style's -original_colors)

static const double YUV_M[3][3] = {{0.299, 0.587, 0.114},
                                   {-0.14713, -0.28886, 0.436},
                                   {0.615, -0.51499, -0.10001}};

void image_rgb_to_yuv(double yuv[3], const double rgb[3]) {
  for (int r = 0; r < 3; r++)
    yuv[r] = YUV_M[r][0] * rgb[0] + YUV_M[r][1] * rgb[1] + YUV_M[r][2] * rgb[2];
}

// The inverse of YUV_M by cofactors (torch's yuv2rgb rounds its coefficients to 5 digits, so
// a round trip through it moves the chroma by ~1e-5; this one does not).
static void yuv_inverse(double inv[3][3]) {
  const double(*m)[3] = YUV_M;
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++) {
      int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
      inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
    }
}

void image_keep_colors(float *out, const float *result, const float *content, size_t hw) {
  double inv[3][3];
  yuv_inverse(inv);
  for (size_t i = 0; i < hw; i++) {
    double a[3] = {result[i], result[hw + i], result[2 * hw + i]};
    double b[3] = {content[i], content[hw + i], content[2 * hw + i]};
    double ya[3], yb[3];
    image_rgb_to_yuv(ya, a);
    image_rgb_to_yuv(yb, b);
    double yuv[3] = {ya[0], yb[1], yb[2]};
    for (int c = 0; c < 3; c++)
      out[c * hw + i] = (float)(inv[c][0] * yuv[0] + inv[c][1] * yuv[1] + inv[c][2] * yuv[2]);
  }
}
