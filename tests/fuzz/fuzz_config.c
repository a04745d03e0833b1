// fuzz_config.c: any bytes as a job file, and as a command-line override.
#include <stdint.h>

#include "train/config.h"
#include "fuzz_util.h"

static const CfgSpec spec[] = {
    {"task", CFG_CHOICE, "lm", 0, -1, "style|dcgan|lm", "task", CFG_RESUME_APPLIES},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "seed", CFG_RESUME_APPLIES},
    {"lr", CFG_FLOAT, "20", 1e-12, 1e6, NULL, "lr", CFG_RESUME_APPLIES},
    {"tied", CFG_BOOL, "true", 0, -1, NULL, "tied", CFG_RESUME_APPLIES},
    {"out_dir", CFG_STRING, "out", 0, -1, NULL, "out", CFG_RESUME_APPLIES},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  const CfgSpec *const tables[] = {spec};
  const int sizes[] = {5};
  Config c;
  char err[512], path[256];
  config_init(&c, tables, sizes, 1);
  fuzz_write("job", data, n);
  snprintf(path, sizeof path, "%s/job", fuzz_dir());
  if (config_load_file(&c, path, err, sizeof err) == 0) {
    char *t = config_text(&c);
    free(t);
  }
  char *kv = malloc(n + 1);
  memcpy(kv, data, n);
  kv[n] = 0;
  config_apply_overrides(&c, 1, &kv, err, sizeof err);
  free(kv);
  config_free(&c);
  return 0;
}
