// prepare_images.c: a folder of PNG/JPEG files into one HDF5 image set, each image resized
// as torchvision's Resize(size) then CenterCrop(size) on a PIL image (the transform the
// style-transfer reference applies). Files are taken in byte order of their names; any file
// that cannot be read stops the run before anything is written.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data/h5safe.h"
#include "data/h5io.h"
#include "data/image.h"
#include "data/prepare.h"
#include "core/util.h"

static int is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && dot != name &&
         (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The image file names of src_dir, sorted; returns the count or -1 after an error line.
static long list_images(const char *src_dir, char ***out) {
  DIR *d = opendir(src_dir);
  if (!d) {
    fprintf(stderr, "genet: %s: cannot open directory: %s\n", src_dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  long n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!is_image_name(e->d_name)) continue;
    if (strchr(e->d_name, '\n')) {  // the names dataset is newline-separated
      fprintf(stderr, "genet: %s: a file name contains a newline; rename it\n", src_dir);
      for (long i = 0; i < n; i++) free(names[i]);
      free(names);
      closedir(d);
      return -1;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      names = xrealloc(names, sizeof(char *) * cap);
    }
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof(char *), cmp_names);
  *out = names;
  return n;
}

int prepare_images(const char *src_dir, const char *out_path, int size) {
  char **names = NULL;
  long n = list_images(src_dir, &names);
  if (n < 0) return 1;
  if (n == 0) {
    fprintf(stderr, "genet: %s: no .png, .jpg or .jpeg files\n", src_dir);
    free(names);
    return 1;
  }
  size_t per = (size_t)3 * size * size, joined = 0;
  uint8_t *pix = malloc(per * (size_t)n);
  if (!pix) {
    fprintf(stderr, "genet: %s: %ld images of %dx%d need %zu MB; prepare fewer at a time\n", src_dir, n, size,
            size, per * (size_t)n >> 20);
    for (long i = 0; i < n; i++) free(names[i]);
    free(names);
    return 1;
  }
  int rc = 0;
  char path[2048], err[1024];
  for (long i = 0; i < n && !rc; i++) {
    snprintf(path, sizeof path, "%s/%s", src_dir, names[i]);
    Image img, r, c;
    if (image_read(&img, path, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      rc = 1;
      break;
    }
    if (image_resize_short(&r, &img, size, path, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      image_free(&img);
      rc = 1;
      break;
    }
    image_center_crop(&c, &r, size, size);
    image_to_chw(pix + per * (size_t)i, &c);
    image_free(&img);
    image_free(&r);
    image_free(&c);
    joined += strlen(names[i]) + 1;
  }
  if (!rc) {
    char *all = xmalloc(joined + 1), *p = all;
    for (long i = 0; i < n; i++) p += sprintf(p, i ? "\n%s" : "%s", names[i]);
    H5SafeWriter cw;
    int64_t dims[4] = {n, 3, size, size};
    if (h5safe_begin_path(&cw, out_path, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      rc = 1;
    } else {
      int w = h5_write_u8(&cw.f, "images", pix, 4, dims) | h5_write_str(&cw.f, "names", all);
      if (h5safe_finish(&cw, w)) {
        rc = 1;
      } else {
        printf("wrote %s: %ld images from %s, uint8 (%ld, 3, %d, %d) + names (short side resized to %d, "
               "centre-cropped)\n", out_path, n, src_dir, n, size, size, size);
      }
    }
    free(all);
  }
  for (long i = 0; i < n; i++) free(names[i]);
  free(names);
  free(pix);
  return rc;
}
