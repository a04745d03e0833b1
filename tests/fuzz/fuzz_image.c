// fuzz_image.c: any bytes as an image file (PNG or JPEG by their first bytes), then, when
// it decodes, the resize and crop a dataset applies, so decoded sizes reach them too.
#include <stdint.h>

#include "fuzz_util.h"
#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_write("img", data, n);
  char path[256], err[512];
  snprintf(path, sizeof path, "%s/img", fuzz_dir());
  Image img, r, c;
  if (image_read(&img, path, err, sizeof err) == 0) {
    if ((long long)img.h * img.w <= 1 << 16) {  // small ones only: the fuzzer's time goes to parsing
      if (image_resize_short(&r, &img, 7, path, err, sizeof err) == 0) {  // a thin strip is refused
        image_center_crop(&c, &r, 7, 7);
        image_free(&r);
        image_free(&c);
      }
    }
    image_free(&img);
  } else if (!err[0] || strchr(err, '\n')) {
    abort();  // every failure must come with a one-line message
  }
  return 0;
}
