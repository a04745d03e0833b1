// image.h: 8-bit RGB images: PNG/JPEG reading, PNG writing, resizing as torchvision's
// Resize(N) on a PIL image, centre crops, and batches saved as a grid like
// torchvision.utils.save_image(batch, path, nrow, padding, normalize=True).
//
// An image is H x W x 3 interleaved uint8, the layout the decoders produce and PIL resizes
// in: reading, resizing and cropping then need no conversion, and PIL's 8-bit fixed-point
// resampling can be followed step by step so the result is PIL's to the byte. Datasets and
// the networks want planar floats; image_to_chw converts once at that boundary.
//
// Files are untrusted: every failure (missing, truncated, not an image, unsupported, absurd
// dimensions) returns -1 with one line in err naming the file and what is wrong; nothing
// here exits, and libpng/libjpeg errors are caught with setjmp.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS (1ll << 28)

typedef struct {
  int h, w;
  uint8_t *px;  // (h, w, 3) RGB, rows top to bottom; malloc'd, free with image_free
} Image;

void image_free(Image *img);

// PNG or JPEG, told apart by their first bytes (not the file name). 8-bit RGB comes back
// as is; RGBA and grey+alpha lose their alpha; grey is copied to R, G and B; palettes are
// expanded; 16-bit samples keep their high byte (as PIL's PNG reader does for RGB).
int image_read(Image *img, const char *path, char *err, size_t errlen);
// The same from memory; `name` only labels the messages.
int image_decode(Image *img, const uint8_t *data, size_t n, const char *name, char *err, size_t errlen);

// 8-bit RGB PNG, written to a temporary file in the same directory, synced and renamed, so
// `path` is either the old file or the whole new one.
int image_write_png(const char *path, const Image *img, char *err, size_t errlen);

// PIL's Image.resize((ow, oh), BILINEAR): a triangle filter widened by the scale when
// shrinking (antialiasing), horizontal pass then vertical, each rounded to 8 bits with
// PIL's 22-bit fixed-point coefficients. out is allocated. Sizes must be >= 1.
void image_resize(Image *out, const Image *in, int oh, int ow);
// torchvision Resize(n): the short side becomes n, the long side int(n * long / short). 0, or -1
// with err naming `name` when the result would be larger than an image may be (a 1x3000 strip).
int image_resize_short(Image *out, const Image *in, int n, const char *name, char *err, size_t errlen);
// torchvision CenterCrop((ch, cw)) of an image at least that large: the offset is
// round((H - ch) / 2) with Python's round (halves to even).
void image_center_crop(Image *out, const Image *in, int ch, int cw);
// (h, w, 3) uint8 -> (3, h, w) uint8, the layout datasets store.
void image_to_chw(uint8_t *chw, const Image *img);

// torchvision.utils.save_image(batch, path, nrow=nrow, padding=padding, normalize=...):
// batch (n, c, h, w) floats, c = 1 (shown grey) or 3. normalize maps [min, max] of the
// whole batch to [0, 1]; without it values are taken as [0, 1]. A grid of min(nrow, n)
// columns and ceil(n / columns) rows, every cell followed by `padding` zero pixels and
// `padding` more at the top and left edges; a batch of one is saved without padding, as
// torchvision does. Pixels are uint8(clamp(v * 255 + 0.5, 0, 255)).
int image_grid_png(const char *path, const float *batch, int n, int c, int h, int w, int nrow,
                   int padding, int normalize, char *err, size_t errlen);

// YUV as neural-style's -original_colors (torch image.rgb2yuv): Y = 0.299 R + 0.587 G +
// 0.114 B, U = -0.14713 R - 0.28886 G + 0.436 B, V = 0.615 R - 0.51499 G - 0.10001 B.
void image_rgb_to_yuv(double yuv[3], const double rgb[3]);
// Luminance-only transfer (the style task's `original_colors = true`): out gets result's Y with
// content's U and V, mapped back to RGB by the exact inverse of image_rgb_to_yuv. All three
// are planar (3, hw) RGB floats on the [0, 1] scale, unclipped (the caller clips). out may be
// result.
void image_keep_colors(float *out, const float *result, const float *content, size_t hw);
