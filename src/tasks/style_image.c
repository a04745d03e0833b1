// style_image.c: the style task's images on the host (style_image.h).
#include "tasks/style_image.h"

#include <stdlib.h>

#include "core/util.h"

static const float CAFFE_MEAN_BGR[3] = {0.40760392f, 0.45795686f, 0.48501961f};

void style_image_preprocess(float *x, const Image *img) {
  size_t hw = (size_t)img->h * img->w;
  for (int c = 0; c < 3; c++)  // channel c of the result is BGR[c] = RGB[2 - c]
    for (size_t i = 0; i < hw; i++)
      x[c * hw + i] = (img->px[i * 3 + (2 - c)] / 255.0f - CAFFE_MEAN_BGR[c]) * 255.0f;
}

float *style_image_load(const char *path, int size, int *H, int *W, char *err, size_t errlen) {
  Image src, rs;
  if (image_read(&src, path, err, errlen)) return NULL;
  if (size) {
    if (image_resize_short(&rs, &src, size, path, err, errlen)) {
      image_free(&src);
      return NULL;
    }
  } else {
    image_resize(&rs, &src, *H, *W);
  }
  image_free(&src);
  *H = rs.h;
  *W = rs.w;
  float *x = xmalloc_floats(3 * (size_t)rs.h * rs.w);
  style_image_preprocess(x, &rs);
  image_free(&rs);
  return x;
}

// Back to RGB on [0, 1], planar: rgb[k] is channel BGR[2 - k].
static void unprocess(float *rgb, const float *x, size_t hw) {
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < hw; i++) rgb[(2 - c) * hw + i] = x[c * hw + i] / 255.0f + CAFFE_MEAN_BGR[c];
}

void style_image_result(Image *out, const float *img, const float *content, int H, int W) {
  size_t hw = (size_t)H * W;
  float *rgb = xmalloc_floats(3 * hw);
  unprocess(rgb, img, hw);
  if (content) {
    float *crgb = xmalloc_floats(3 * hw);
    unprocess(crgb, content, hw);
    image_keep_colors(rgb, rgb, crgb, hw);
    free(crgb);
  }
  *out = (Image){.h = H, .w = W, .px = xmalloc(hw * 3)};
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < hw; i++) {
      float v = rgb[k * hw + i];
      v = v > 1.0f ? 1.0f : v < 0.0f ? 0.0f : v;
      out->px[i * 3 + k] = (uint8_t)(v * 255.0f);
    }
  free(rgb);
}
