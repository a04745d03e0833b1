// test_prepare.c: `genet prepare` round trips on files this test writes: a tiny text corpus
// (vocabulary order, <eos>, <unk>, lowercasing), Python's str.lower() on a word list
// (tests/fixtures/lower_words.tsv), invalid UTF-8 refused, fake CIFAR-10 batches in the official
// binary format (and broken ones), and the synthetic Markov text, whose printed entropy is
// checked against the plug-in estimate from the generated sample; the synthetic digits (shape,
// grey on black, every digit drawn, an 8 has more ink than a 1, the same seed the same bytes).
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/h5io.h"
#include "data/prepare.h"
#include "testlib.h"
#include "data/utf8.h"
#include "core/util.h"

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

// genet's lowercase of every word of the fixture against Python's str.lower() of it.
static void lower_against_python(void) {
  const char *path = GENET_FIXTURES "/lower_words.tsv";
  FILE *f = fopen(path, "rb");
  test_check(f != NULL, "%s opens", path);
  if (!f) return;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int n = 0, differ = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    if (line[0] == '#') continue;
    if (len && line[len - 1] == '\n') line[--len] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) {
      differ++;
      printf("  malformed fixture line '%s'\n", line);
      continue;
    }
    *tab = 0;
    const char *word = line, *want = tab + 1;
    size_t bad, wn = strlen(word);
    char why[160], *got = xmalloc(2 * wn + 1);
    int invalid = utf8_check(word, wn, &bad, why, sizeof why);
    if (!invalid) utf8_lower(got, word, wn);
    if (invalid || strcmp(got, want)) {
      differ++;
      printf("  '%s': genet '%s', Python '%s'%s%s\n", word, invalid ? "" : got, want, invalid ? ": " : "",
             invalid ? why : "");
    }
    free(got);
    n++;
  }
  free(line);
  fclose(f);
  test_check(n >= 100 && differ == 0, "lowercase of %d words equals Python's str.lower() (%d differ)", n, differ);
}

static void utf8_refusals(void) {
  static const struct {
    const char *s, *why;
  } bad[] = {
      {"word\xff", "invalid UTF-8 byte 0xff at column 5 (never used in UTF-8)"},
      {"\xfe", "invalid UTF-8 byte 0xfe at column 1 (never used in UTF-8)"},
      {"ab\x80", "invalid UTF-8 byte 0x80 at column 3 (continuation byte without a lead byte)"},
      {"\xc0\xaf", "invalid UTF-8 byte 0xc0 at column 1 (overlong encoding of an ASCII character)"},
      {"a\xe0\x80\xaf", "invalid UTF-8 byte 0xe0 at column 2 (overlong encoding)"},
      {"\xf0\x80\x80\xaf", "invalid UTF-8 byte 0xf0 at column 1 (overlong encoding)"},
      {"x\xed\xa0\x80", "invalid UTF-8 byte 0xed at column 2 (surrogate U+D800)"},
      {"\xed\xbf\xbfy", "invalid UTF-8 byte 0xed at column 1 (surrogate U+DFFF)"},
      {"caf\xc3", "invalid UTF-8 byte 0xc3 at column 4 (truncated sequence: 2 bytes expected, 1 found)"},
      {"\xe2\x82 x", "invalid UTF-8 byte 0xe2 at column 1 (truncated sequence: 3 bytes expected, 2 found)"},
      {"\xf0\x90\x80", "invalid UTF-8 byte 0xf0 at column 1 (truncated sequence: 4 bytes expected, 3 found)"},
      {"\xf4\x90\x80\x80", "invalid UTF-8 byte 0xf4 at column 1 (code point above U+10FFFF)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t at = 0;
    char why[160] = "";
    int rc = utf8_check(bad[i].s, strlen(bad[i].s), &at, why, sizeof why);
    test_check(rc == -1 && !strcmp(why, bad[i].why), "refused: %s", why);
  }
  // The edges that are valid: U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF, U+0080, U+07FF.
  const char *good = "\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xc2\x80 \xdf\xbf";
  size_t at;
  char why[160];
  test_check(utf8_check(good, strlen(good), &at, why, sizeof why) == 0, "valid at the edges of the ranges");
}

static int count_entries(const char *d) {
  DIR *dp = opendir(d);
  int n = 0;
  for (struct dirent *e; dp && (e = readdir(dp));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (dp) closedir(dp);
  return n;
}

// prepare_text with stderr captured into msg.
static int prepare_text_msg(const char *out, char *msg, size_t len) {
  char log[600];
  snprintf(log, sizeof log, "%s/stderr.log", dir);
  fflush(stderr);
  int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 2);
  close(fd);
  int rc = prepare_text(dir, out);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  FILE *f = fopen(log, "rb");
  size_t n = f ? fread(msg, 1, len - 1, f) : 0;
  msg[n] = 0;
  if (f) fclose(f);
  unlink(log);
  return rc;
}

static void text_unicode(void) {
  // Non-ASCII capitals merge with their lowercase words; a bad byte on line 3 is refused.
  const char *train = "École ΟΔΟΣ İ\n\nécole οδος i\xcc\x87 STRAẞE 𐐀\n";
  const char *valid = "ÉCOLE Straße 𐐨\n";
  write_file("train.txt", train, strlen(train));
  write_file("valid.txt", valid, strlen(valid));
  write_file("test.txt", "", 0);
  char out[512], err[512], msg[1024];
  snprintf(out, sizeof out, "%s/text.h5", dir);
  test_check(prepare_text(dir, out) == 0, "prepare text of UTF-8 text exits 0");
  H5File f;
  h5_open_read(&f, out, err, sizeof err);
  char *vocab = NULL;
  h5_read_str(&f, "vocab", &vocab, 1 << 20, err, sizeof err);
  int same = vocab && !strcmp(vocab, "école\nοδος\ni\xcc\x87\n<eos>\nstraße\n𐐨\n<unk>");
  test_check(same, "vocabulary lowercased as Python: école οδος i̇ <eos> straße 𐐨 <unk>%s%s",
             same ? "" : ", got: ", same ? "" : vocab ? vocab : err);
  int32_t va[4];
  const int32_t want_va[4] = {0, 4, 5, 3};
  int64_t nva = 4;
  int r = h5_read_i32(&f, "valid", va, 1, &nva, err, sizeof err);
  test_check(r == 0 && !memcmp(va, want_va, sizeof want_va), "valid: ÉCOLE Straße 𐐨 are train's words");
  free(vocab);
  h5_close(&f, err, sizeof err);
  unlink(out);
  char sum[600];
  snprintf(sum, sizeof sum, "%s.sum", out);
  unlink(sum);

  const char *broken = "fine words\nmore words\nthe bad one \xff here\n";
  write_file("train.txt", broken, strlen(broken));
  int before = count_entries(dir);
  int rc = prepare_text_msg(out, msg, sizeof msg);
  char want[700];
  snprintf(want, sizeof want, "genet: %s/train.txt:3: invalid UTF-8 byte 0xff at column 13 (never used in UTF-8)\n", dir);
  test_check(rc == 1 && !strcmp(msg, want), "invalid UTF-8 in train: exit 1, one line: %.*s", (int)strcspn(msg, "\n"), msg);
  test_check(count_entries(dir) == before && access(out, F_OK) != 0, "nothing written, nothing left behind");
  // In valid, after train was read: still nothing written.
  write_file("train.txt", train, strlen(train));
  write_file("valid.txt", "ok\n\xed\xa0\x80\n", 6);
  rc = prepare_text_msg(out, msg, sizeof msg);
  snprintf(want, sizeof want, "genet: %s/valid.txt:2: invalid UTF-8 byte 0xed at column 1 (surrogate U+D800)\n", dir);
  test_check(rc == 1 && !strcmp(msg, want), "surrogate in valid: exit 1, one line: %.*s", (int)strcspn(msg, "\n"), msg);
  test_check(count_entries(dir) == before && access(out, F_OK) != 0, "nothing written, nothing left behind");
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

// Reads train/images and train/labels of a synthetic-glyphs file of n images of S x S.
static void read_glyphs(const char *path, long n, int S, uint8_t *img, uint8_t *lab) {
  H5File f;
  char err[600];
  int64_t dims[4] = {0};
  test_check(h5_open_read(&f, path, err, sizeof err) == 0, "open %s", path);
  test_check(h5_shape(&f, "train/images", dims, 4, err, sizeof err) == 4 && dims[0] == n && dims[1] == 3 &&
                 dims[2] == S && dims[3] == S, "glyphs: train/images (n, 3, S, S)");
  test_check(h5_shape(&f, "test/images", dims, 4, err, sizeof err) == 4 && dims[0] == n / 5,
             "glyphs: n / 5 test images");
  test_check(h5_read_u8(&f, "train/images", img, 4, (int64_t[]){n, 3, S, S}, err, sizeof err) == 0 &&
                 h5_read_u8(&f, "train/labels", lab, 1, (int64_t[]){n}, err, sizeof err) == 0,
             "glyphs: read back");
  h5_close(&f, err, sizeof err);
}

static void synthetic_glyphs(void) {
  enum { N = 400, S = 32 };
  char a[600], b[600], c[600];
  snprintf(a, sizeof a, "%s/glyphs_a.h5", dir);
  snprintf(b, sizeof b, "%s/glyphs_b.h5", dir);
  snprintf(c, sizeof c, "%s/glyphs_c.h5", dir);
  test_check(prepare_synthetic_glyphs(a, N, S, 5) == 0 && prepare_synthetic_glyphs(b, N, S, 5) == 0 &&
                 prepare_synthetic_glyphs(c, N, S, 6) == 0, "synthetic glyphs written");
  size_t per = (size_t)3 * S * S;
  uint8_t *img[3] = {xmalloc(per * N), xmalloc(per * N), xmalloc(per * N)}, lab[3][N];
  read_glyphs(a, N, S, img[0], lab[0]);
  read_glyphs(b, N, S, img[1], lab[1]);
  read_glyphs(c, N, S, img[2], lab[2]);
  test_check(!memcmp(img[0], img[1], per * N) && !memcmp(lab[0], lab[1], N), "glyphs: seed 5 twice, the same data");
  test_check(memcmp(img[0], img[2], per * N) != 0, "glyphs: seeds 5 and 6 differ");
  // Grey (channels equal), black background (the border row/column), ink per digit.
  long grey = 1, count[10] = {0}, border = 0;
  double ink[10] = {0};
  for (long i = 0; i < N; i++) {
    const uint8_t *x = img[0] + per * (size_t)i;
    test_check(lab[0][i] < 10, "glyphs: label %d is a digit", lab[0][i]);
    if (lab[0][i] >= 10) break;
    for (int p = 0; p < S * S; p++) {
      grey &= x[p] == x[S * S + p] && x[p] == x[2 * S * S + p];
      ink[lab[0][i]] += x[p] / 255.0;
    }
    for (int k = 0; k < S; k++) border += x[k] + x[(S - 1) * S + k] + x[k * S] + x[k * S + S - 1];
    count[lab[0][i]]++;
  }
  test_check(grey, "glyphs: the three channels are equal");
  test_check(border == 0, "glyphs: the outermost pixels are black (ink sum %ld)", border);
  for (int d = 0; d < 10; d++) {
    test_check(count[d] > N / 20, "glyphs: digit %d drawn %ld times of %d", d, count[d], N);
    ink[d] /= count[d] > 0 ? count[d] * (double)S * S : 1;
    test_check(ink[d] > 0.04 && ink[d] < 0.4, "glyphs: digit %d covers %.3f of its image", d, ink[d]);
  }
  test_check(ink[8] > 1.3 * ink[1], "glyphs: an 8 has more ink (%.3f) than a 1 (%.3f)", ink[8], ink[1]);
  for (int k = 0; k < 3; k++) free(img[k]);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  text_round_trip();
  lower_against_python();
  utf8_refusals();
  text_unicode();
  cifar_round_trip();
  synthetic_entropy();
  synthetic_glyphs();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return test_finish("prepare");
}
