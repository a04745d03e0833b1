// prepare_text.c: word-level corpora as token streams. As the reference (torchtext's
// WikiText2 with lower=True, pytorch/examples' data.py): each line split on whitespace, each
// word lowercased as Python's str.lower() (utf8.h: 'École' -> 'école'), "<eos>" appended;
// the vocabulary is built from train in first-seen order; valid/test words never seen in
// train become "<unk>". Text that is not UTF-8 is refused, naming the file, line and column.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/h5safe.h"
#include "data/h5io.h"
#include "data/prepare.h"
#include "data/utf8.h"
#include "core/file_open.h"
#include "core/util.h"

typedef struct {
  char **word;     // id -> word
  int n, cap;
  int *slot;       // open-addressing table of ids, size nslot (power of two)
  size_t nslot;
} Vocab;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int vocab_find(const Vocab *v, const char *w, size_t *at) {
  size_t i = hash_str(w) & (v->nslot - 1);
  while (v->slot[i] >= 0) {
    if (!strcmp(v->word[v->slot[i]], w)) return v->slot[i];
    i = (i + 1) & (v->nslot - 1);
  }
  if (at) *at = i;
  return -1;
}

static int vocab_add(Vocab *v, const char *w) {
  size_t at;
  int id = vocab_find(v, w, &at);
  if (id >= 0) return id;
  if ((size_t)(v->n + 1) * 2 > v->nslot) {  // keep the table at most half full
    size_t ns = v->nslot * 2;
    int *slot = xmalloc(sizeof(int) * ns);
    for (size_t i = 0; i < ns; i++) slot[i] = -1;
    for (int k = 0; k < v->n; k++) {
      size_t i = hash_str(v->word[k]) & (ns - 1);
      while (slot[i] >= 0) i = (i + 1) & (ns - 1);
      slot[i] = k;
    }
    free(v->slot);
    v->slot = slot;
    v->nslot = ns;
    vocab_find(v, w, &at);
  }
  if (v->n == v->cap) {
    v->cap = v->cap ? 2 * v->cap : 1024;
    v->word = xrealloc(v->word, sizeof(char *) * (size_t)v->cap);
  }
  v->word[v->n] = xstrdup(w);
  v->slot[at] = v->n;
  return v->n++;
}

typedef struct {
  int32_t *id;
  size_t n, cap;
} Stream;

static void push(Stream *s, int32_t id) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 1 << 16;
    s->id = xrealloc(s->id, sizeof(int32_t) * s->cap);
  }
  s->id[s->n++] = id;
}

// Reads one split; grow = 1 adds new words (train), else unknown words map to <unk>.
static int read_split(const char *path, Vocab *v, int grow, Stream *out, long long *unk_count) {
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_read(path, 0, err, sizeof err);  // a FIFO is refused, not waited on
  if (!f) {
    fprintf(stderr, "genet: %s\n", err);
    return -1;
  }
  char *line = NULL, *low = NULL;
  size_t cap = 0, lowcap = 0;
  ssize_t len;
  long long lineno = 0;
  int rc = 0;
  errno = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if ((size_t)len != strlen(line)) {
      fprintf(stderr, "genet: %s:%lld: NUL byte: expected a UTF-8 text file\n", path, lineno);
      rc = -1;
      break;
    }
    size_t bad;
    char why[160];
    if (utf8_check(line, (size_t)len, &bad, why, sizeof why)) {
      fprintf(stderr, "genet: %s:%lld: %s\n", path, lineno, why);
      rc = -1;
      break;
    }
    if (2 * (size_t)len + 1 > lowcap) {  // utf8_lower's bound for any word of this line
      lowcap = 2 * (size_t)len + 1;
      free(low);
      low = xmalloc(lowcap);
    }
    // Word by word, as torchtext lowercases the tokens of str.split(): a word is the context
    // of its capital sigmas.
    for (char *tok = strtok(line, " \t\r\n\v\f"); tok; tok = strtok(NULL, " \t\r\n\v\f")) {
      utf8_lower(low, tok, strlen(tok));
      int id = grow ? vocab_add(v, low) : vocab_find(v, low, NULL);
      if (id < 0) {  // only outside train, where "<unk>" exists by now
        id = vocab_find(v, "<unk>", NULL);
        (*unk_count)++;
      }
      push(out, id);
    }
    push(out, grow ? vocab_add(v, "<eos>") : vocab_find(v, "<eos>", NULL));
    errno = 0;
  }
  // getline returns -1 at the end and on an error alike (ENOMEM for a line too long to hold):
  // only ferror or errno tells them apart, and a corpus cut short must not pass as whole.
  if (!rc && (ferror(f) || errno)) {
    fprintf(stderr, "genet: %s:%lld: read error: %s\n", path, lineno + 1,
            strerror(errno ? errno : EIO));
    rc = -1;
  }
  free(low);
  free(line);
  fclose(f);
  return rc;
}

int prepare_text(const char *src_dir, const char *out_path) {
  Vocab v = {0};
  v.nslot = 1024;
  v.slot = xmalloc(sizeof(int) * v.nslot);
  for (size_t i = 0; i < v.nslot; i++) v.slot[i] = -1;
  const char *split[3] = {"train", "valid", "test"};
  Stream s[3] = {{0}};
  long long unk[3] = {0};
  int rc = 0;
  for (int k = 0; k < 3 && !rc; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", src_dir, split[k]);
    rc = read_split(path, &v, k == 0, &s[k], &unk[k]);
    // WikiText's train split holds "<unk>" itself; other corpora get it after their words.
    if (k == 0 && !rc) {
      if (s[0].n == 0) {
        fprintf(stderr, "genet: %s: no tokens: expected a non-empty training text\n", path);
        rc = -1;
      } else if (vocab_find(&v, "<unk>", NULL) < 0) {
        vocab_add(&v, "<unk>");
      }
    }
  }
  size_t vbytes = 0;  // the joined text's length, as `vocab` stores it
  for (int i = 0; i < v.n; i++) vbytes += strlen(v.word[i]) + (i > 0);
  if (!rc && vbytes > LM_VOCAB_MAX_BYTES) {
    fprintf(stderr, "genet: %s/train.txt: a vocabulary of %d words takes %zu bytes, more than the %zu "
            "that train and generate read: expected fewer distinct words\n", src_dir, v.n, vbytes,
            LM_VOCAB_MAX_BYTES);
    rc = -1;
  }
  if (!rc) {
    H5SafeWriter cw;
    char err[600];
    if (h5safe_begin_path(&cw, out_path, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      rc = -1;
    } else {
      for (int k = 0; k < 3 && !rc; k++) {
        int64_t n = (int64_t)s[k].n;
        rc |= h5_write_i32(&cw.f, split[k], s[k].id, 1, &n);
      }
      size_t total = 1;
      for (int i = 0; i < v.n; i++) total += strlen(v.word[i]) + 1;
      char *words = xmalloc(total), *p = words;
      for (int i = 0; i < v.n; i++) p += sprintf(p, "%s%s", i ? "\n" : "", v.word[i]);
      rc |= h5_write_str(&cw.f, "vocab", words);
      rc |= h5_write_scalar_i64(&cw.f, "vocab_size", v.n);
      free(words);
      if (h5safe_finish(&cw, rc)) rc = -1;
    }
  }
  if (!rc) {
    printf("wrote %s: vocabulary %d words (from train, first-seen order)\n", out_path, v.n);
    for (int k = 0; k < 3; k++)
      printf("  %-5s %10zu tokens (%lld words not in train -> <unk>)\n", split[k], s[k].n, unk[k]);
  }
  for (int i = 0; i < v.n; i++) free(v.word[i]);
  free(v.word);
  free(v.slot);
  for (int k = 0; k < 3; k++) free(s[k].id);
  return rc ? 1 : 0;
}
