// test_prepare.c: `genet prepare` round trips on files this test writes: a tiny text corpus
// (vocabulary order, <eos>, <unk>, lowercasing), fake CIFAR-10 batches in the official
// binary format (and broken ones), and the synthetic Markov text, whose printed entropy is
// checked against the plug-in estimate from the generated sample.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "prepare.h"
#include "testlib.h"

static char dir[] = "/tmp/genet_test_prepare_XXXXXX";

static void write_file(const char *name, const void *data, size_t len) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  fwrite(data, 1, len, f);
  fclose(f);
}

static void text_round_trip(void) {
  const char *train = "The cat sat\n\nthe DOG sat down\n";
  const char *valid = "the bird sat\n";
  const char *test = "cat\n";
  write_file("train.txt", train, strlen(train));
  write_file("valid.txt", valid, strlen(valid));
  write_file("test.txt", test, strlen(test));
  char out[512], err[512];
  snprintf(out, sizeof out, "%s/text.h5", dir);
  int rc = prepare_text(dir, out);
  test_check(rc == 0, "prepare text exits 0");
  H5File f;
  h5_open_read(&f, out, err, sizeof err);
  // Expected by hand: vocabulary in first-seen order, <eos> after each line (blank too),
  // <unk> appended because train has none.
  // ids: the0 cat1 sat2 <eos>3 dog4 down5 <unk>6
  int32_t tr[10], va[4], te[2];
  const int32_t want_tr[10] = {0, 1, 2, 3, 3, 0, 4, 2, 5, 3}, want_va[4] = {0, 6, 2, 3}, want_te[2] = {1, 3};
  int64_t ntr = 10, nva = 4, nte = 2;
  int r1 = h5_read_i32(&f, "train", tr, 1, &ntr, err, sizeof err);
  test_check(r1 == 0 && !memcmp(tr, want_tr, sizeof want_tr), "train: the cat sat <eos> <eos> the dog sat down <eos>");
  int r2 = h5_read_i32(&f, "valid", va, 1, &nva, err, sizeof err);
  test_check(r2 == 0 && !memcmp(va, want_va, sizeof want_va), "valid: unseen 'bird' -> <unk>");
  int r3 = h5_read_i32(&f, "test", te, 1, &nte, err, sizeof err);
  test_check(r3 == 0 && !memcmp(te, want_te, sizeof want_te), "test tokens");
  char *vocab = NULL;
  h5_read_str(&f, "vocab", &vocab, 1 << 20, err, sizeof err);
  test_check(vocab && !strcmp(vocab, "the\ncat\nsat\n<eos>\ndog\ndown\n<unk>"), "vocabulary in first-seen order, lowercased");
  free(vocab);
  h5_close(&f, err, sizeof err);
  unlink(out);
  snprintf(out, sizeof out, "%s/none", dir);
  test_check(prepare_text(out, "/tmp/never_written.h5") == 1 && access("/tmp/never_written.h5", F_OK) != 0,
             "missing source directory: exit 1, nothing written");
}

static void cifar_round_trip(void) {
  // Six batch files of 3 records each; pixel bytes a function of (file, record, index).
  uint8_t rec[3 * 3073];
  const char *names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  for (int b = 0; b < 6; b++) {
    for (int r = 0; r < 3; r++) {
      rec[r * 3073] = (uint8_t)((b * 3 + r) % 10);
      for (int i = 0; i < 3072; i++) rec[r * 3073 + 1 + i] = (uint8_t)(b * 31 + r * 7 + i);
    }
    write_file(names[b], rec, sizeof rec);
  }
  char out[512], err[512];
  snprintf(out, sizeof out, "%s/cifar.h5", dir);
  test_check(prepare_cifar10(dir, out) == 0, "prepare cifar10 exits 0");
  H5File f;
  h5_open_read(&f, out, err, sizeof err);
  static uint8_t img[15 * 3072], lab[15], timg[3 * 3072], tlab[3];
  int64_t d[4] = {15, 3, 32, 32}, dt[4] = {3, 3, 32, 32};
  int ok = !h5_read_u8(&f, "train/images", img, 4, d, err, sizeof err) &&
           !h5_read_u8(&f, "train/labels", lab, 1, d, err, sizeof err) &&
           !h5_read_u8(&f, "test/images", timg, 4, dt, err, sizeof err) &&
           !h5_read_u8(&f, "test/labels", tlab, 1, dt, err, sizeof err);
  test_check(ok, "train (15, 3, 32, 32) and test (3, 3, 32, 32) with labels (%s)", ok ? "" : err);
  int same = 1;
  for (int n = 0; n < 15; n++) {
    int b = n / 3, r = n % 3;
    same &= lab[n] == (b * 3 + r) % 10;
    // channel 1 (green), row 5, column 7 is byte 1024 + 5*32 + 7 of the record's pixels
    same &= img[(size_t)n * 3072 + 1024 + 5 * 32 + 7] == (uint8_t)(b * 31 + r * 7 + 1024 + 5 * 32 + 7);
  }
  same &= tlab[2] == (5 * 3 + 2) % 10 && timg[2 * 3072 + 3071] == (uint8_t)(5 * 31 + 2 * 7 + 3071);
  test_check(same, "pixels and labels in order, channel-major as the binary format");
  static uint8_t rows[2 * 3072];
  int64_t rest[3] = {3, 32, 32};
  int rr = h5_read_rows_u8(&f, "train/images", rows, 4, 2, 3, rest, err, sizeof err);
  test_check(rr == 0 && !memcmp(rows, img + 4 * 3072, sizeof rows), "a rank's slice: rows [4, 6)");
  rr = h5_read_rows_u8(&f, "train/images", rows, 14, 2, 3, rest, err, sizeof err);
  test_check(rr == -1 && strstr(err, "has 15 rows, asked for [14, 16)"), "slice past the end: \"%s\"", err);
  h5_close(&f, err, sizeof err);

  // Broken inputs: a batch that is not whole records, and a label out of range.
  write_file("data_batch_3.bin", rec, 3073 * 2 + 5);
  test_check(prepare_cifar10(dir, out) == 1, "batch of 6151 bytes rejected (see the message above)");
  rec[3073] = 10;
  write_file("data_batch_3.bin", rec, sizeof rec);
  test_check(prepare_cifar10(dir, out) == 1, "label 10 rejected (see the message above)");
}

static void synthetic_entropy(void) {
  char sub[512], path[600];
  snprintf(sub, sizeof sub, "%s/syn", dir);
  double rate = 0;
  test_check(prepare_synthetic_text(sub, 400000, 3, &rate) == 0, "synthetic text written");
  // Plug-in conditional entropy of the sample, from bigram counts of the train file.
  snprintf(path, sizeof path, "%s/train.txt", sub);
  FILE *f = fopen(path, "r");
  static long long cnt[64][64], row[64];
  int prev = 40, c, cur = -1;  // 40 = end of line; words are wNN
  long long n = 0;
  char w[8];
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n') cur = 40;
    else if (c == 'w' && fscanf(f, "%2[0-9]", w) == 1) cur = atoi(w);
    else continue;
    cnt[prev][cur]++;
    row[prev]++;
    n++;
    prev = cur;
  }
  fclose(f);
  double h = 0;
  for (int a = 0; a < 64; a++)
    for (int b = 0; b < 64; b++)
      if (cnt[a][b]) h -= (double)cnt[a][b] / n * log((double)cnt[a][b] / row[a]);
  printf("sample conditional entropy %.4f nats from %lld tokens (compare the printed entropy rate)\n", h, n);
  test_check(n > 399000 && fabs(h - rate) < 0.01 * rate,
             "entropy rate %.4f (from the chain) matches the sample's %.4f within 1%%", rate, h);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  text_round_trip();
  cifar_round_trip();
  synthetic_entropy();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return test_finish("prepare");
}
