// style_image.h: the style task's images on the host: the seed's Caffe preprocessing (RGB ->
// BGR, /255, minus the ImageNet mean, x 255; planar (3, H, W) floats) and its inverse (the
// seed's postp, clipped and truncated to 8 bits), with neural-style's original_colors,
// src/tasks/style_image.c.
#pragma once
#include "data/image.h"

// img (h, w, 3 RGB bytes) -> x (3, h, w) preprocessed floats (3 h w, caller's).
void style_image_preprocess(float *x, const Image *img);
// Reads PATH and resizes it to short side `size` (as the seed's Resize) or, size 0, to exactly
// H x W; returns the preprocessed floats (malloc'd) and the size, or NULL with a one-line err.
float *style_image_load(const char *path, int size, int *H, int *W, char *err, size_t errlen);
// The seed's postp of img (3, H, W): out gets RGB bytes (image_free it); content (3, H, W)
// preprocessed, or NULL: when given, the result's luminance with the content's chroma
// (image_keep_colors) before the clip.
void style_image_result(Image *out, const float *img, const float *content, int H, int W);
