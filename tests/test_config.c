// test_config.c: job files and overrides: values resolved in order (default, file, command
// line), and every kind of bad input rejected with a line that names where and what.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/config.h"
#include "testlib.h"

static const CfgSpec shared[] = {
    {"task", CFG_CHOICE, NULL, 0, -1, "style|dcgan|lm", "which workload", CFG_RESUME_APPLIES},
    {"seed", CFG_INT, "1", 0, 4294967295.0, NULL, "random seed", CFG_RESUME_APPLIES},
    {"device", CFG_CHOICE, "auto", 0, -1, "auto|cpu|cuda", "where to run", CFG_RESUME_APPLIES},
    {"out_dir", CFG_STRING, "out", 0, -1, NULL, "images, logs", CFG_RESUME_APPLIES},
};
static const CfgSpec task[] = {
    {"lr", CFG_FLOAT, "20", 1e-12, 1e6, NULL, "learning rate", CFG_RESUME_APPLIES},
    {"batch", CFG_INT, "20", 1, 1 << 20, NULL, "global batch", CFG_RESUME_APPLIES},
    {"tied", CFG_BOOL, "true", 0, -1, NULL, "tie weights", CFG_RESUME_APPLIES},
};

static char dir[] = "/tmp/genet_test_config_XXXXXX";

static const char *write_job(const char *name, const char *text, size_t len) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  fwrite(text, 1, len, f);
  fclose(f);
  return path;
}

static void new_config(Config *c) {
  const CfgSpec *const tables[] = {shared, task};
  const int sizes[] = {4, 3};
  config_init(c, tables, sizes, 2);
}

// Loads `text` as a job file; expects failure with `want` in the message.
static void expect_file_error(const char *what, const char *text, size_t len, const char *want) {
  Config c;
  new_config(&c);
  char err[512] = "";
  const char *path = write_job("bad.job", text, len);
  int rc = config_load_file(&c, path, err, sizeof err);
  test_check(rc == -1 && strstr(err, want) && !strchr(err, '\n'), "%s -> \"%s\"", what, err);
  config_free(&c);
}

static void expect_override_error(const char *what, const char *kv, const char *want) {
  Config c;
  new_config(&c);
  char err[512] = "", *arg = (char *)kv;
  int rc = config_apply_overrides(&c, 1, &arg, err, sizeof err);
  test_check(rc == -1 && strstr(err, want), "%s -> \"%s\"", what, err);
  config_free(&c);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  Config c;
  new_config(&c);
  char err[512] = "";
  const char *good = "# a job\n\ntask = lm   # trailing comment\n  lr=5.5\nbatch = 40\ntied = false\n";
  const char *path = write_job("good.job", good, strlen(good));
  int rc = config_load_file(&c, path, err, sizeof err);
  char *kv[] = {"lr=0.25", "seed=7"};
  rc |= config_apply_overrides(&c, 2, kv, err, sizeof err);
  rc |= config_check_required(&c, err, sizeof err);
  test_check(rc == 0, "good job file and overrides accepted (%s)", err);
  test_check(config_float(&c, "lr") == 0.25, "override beats the file (lr %g)", config_float(&c, "lr"));
  test_check(config_int(&c, "batch") == 40 && config_int(&c, "seed") == 7, "file beats the default");
  test_check(!config_bool(&c, "tied") && !strcmp(config_str(&c, "device"), "auto") &&
                 !strcmp(config_str(&c, "task"), "lm"), "bool, default choice, set choice");
  char *text = config_text(&c);
  test_check(strstr(text, "lr = 0.25\n") && strstr(text, "task = lm\n") && strstr(text, "out_dir = out\n"),
             "resolved text lists every key");
  free(text);
  config_free(&c);

  new_config(&c);
  test_check(config_check_required(&c, err, sizeof err) == -1 && strstr(err, "'task'"),
             "missing required key -> \"%s\"", err);
  config_free(&c);

  expect_file_error("unknown key", "task = lm\nlrr = 3\n", 17, "bad.job:2: unknown key 'lrr'");
  expect_file_error("negative lr", "lr = -1\n", 8, "bad.job:1: lr = '-1': expected a number in");
  expect_file_error("not a number", "lr = fast\n", 10, "lr = 'fast': expected a number");
  expect_file_error("trailing junk in int", "batch = 20x\n", 12, "expected an integer");
  expect_file_error("int out of range", "batch = 0\n", 10, "expected an integer in [1, 1048576]");
  expect_file_error("int overflow", "batch = 99999999999999999999999\n", 32, "expected an integer");
  expect_file_error("bad bool", "tied = maybe\n", 13, "expected true or false");
  expect_file_error("bad choice", "device = tpu\n", 13, "expected one of auto|cpu|cuda");
  expect_file_error("no equals sign", "task lm\n", 8, "bad.job:1: expected 'key = value'");
  expect_file_error("empty key", " = 3\n", 5, "missing key before '='");
  expect_file_error("empty value", "out_dir =\n", 10, "expected a non-empty value");
  expect_file_error("NUL byte", "task = lm\nlr = 1\0\n", 18, "bad.job:2: NUL byte");
  expect_file_error("nan", "lr = nan\n", 9, "expected a number");
  {
    Config c2;
    new_config(&c2);
    int rc2 = config_load_file(&c2, "/nonexistent/x.job", err, sizeof err);
    test_check(rc2 == -1 && strstr(err, "/nonexistent/x.job: cannot open job file"), "missing file -> \"%s\"", err);
    config_free(&c2);
  }
  expect_override_error("override without '='", "lr", "command line: expected key=value, got 'lr'");
  expect_override_error("override unknown key", "bogus=1", "command line: unknown key 'bogus'");
  expect_override_error("override bad value", "batch=-4", "command line: batch = '-4'");
  expect_override_error("override empty key", "=4", "expected key=value");

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return test_finish("config");
}
