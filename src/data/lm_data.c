// lm_data.c: vocabulary and batchified token columns.
#include "data/lm_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/prepare.h"

int vocab_from_text(Vocab *v, const char *text, char *err, size_t errlen) {
  memset(v, 0, sizeof *v);
  v->blob = xstrdup(text);
  size_t n = 0;
  for (const char *p = v->blob; *p; p++) n += *p == '\n';
  if (*v->blob && v->blob[strlen(v->blob) - 1] != '\n') n++;
  v->words = xmalloc(sizeof(char *) * (n + 1));
  for (char *p = v->blob, *e; *p; p = e + 1) {
    e = strchr(p, '\n');
    v->words[v->n++] = p;
    if (!e) break;
    *e = 0;
  }
  if (v->n < 2)
    return genet_err(err, errlen, "vocabulary of %d words: expected at least 2", v->n);
  return 0;
}

int vocab_read(H5File *f, Vocab *v, char *err, size_t errlen) {
  char *text;
  int64_t size;
  if (h5_read_scalar_i64(f, "vocab_size", &size, err, errlen)) return -1;
  if (h5_read_str(f, "vocab", &text, LM_VOCAB_MAX_BYTES, err, errlen)) return -1;
  int rc = vocab_from_text(v, text, err, errlen);
  free(text);
  if (rc) return -1;
  if (v->n != size)
    return genet_err(err, errlen, "%s: vocab holds %d words, vocab_size says %lld", f->path, v->n, (long long)size);
  return 0;
}

int vocab_find(const Vocab *v, const char *word) {
  for (int i = 0; i < v->n; i++)
    if (!strcmp(v->words[i], word)) return i;
  return -1;
}

void vocab_free(Vocab *v) {
  free(v->blob);
  free(v->words);
  memset(v, 0, sizeof *v);
}

void lm_columns(int batch, int world, int rank, int *c0, int *c1) {
  int q = batch / world, r = batch % world;
  *c0 = rank * q + (rank < r ? rank : r);
  *c1 = *c0 + q + (rank < r);
}

int lm_read_split(H5File *f, const char *split, int batch, int c0, int c1, int V, TokenGrid *g,
                  char *err, size_t errlen) {
  memset(g, 0, sizeof *g);
  int64_t len;
  err[0] = 0;
  if (h5_shape(f, split, &len, 1, err, errlen) != 1) {
    if (!err[0]) snprintf(err, errlen, "%s: dataset %s must be 1-D (token ids)", f->path, split);
    return -1;
  }
  g->rows = len / batch;
  g->cols = c1 - c0;
  if (g->rows < 2)
    return genet_err(err, errlen, "%s: %s has %lld tokens, too few for %d columns of at least 2", f->path,
                     split, (long long)len, batch);
  size_t n = (size_t)g->rows * (size_t)g->cols;
  int32_t *cols = xmalloc(sizeof(int32_t) * (n ? n : 1));
  if (n && h5_read_rows_i32(f, split, cols, (int64_t)c0 * g->rows, (int64_t)n, 0, NULL, err, errlen)) {
    free(cols);
    return -1;
  }
  g->data = xmalloc(sizeof(int32_t) * (n ? n : 1));
  for (int j = 0; j < g->cols; j++)
    for (int64_t r = 0; r < g->rows; r++) {
      int32_t tok = cols[(size_t)j * g->rows + r];
      if (tok < 0 || tok >= V) {
        snprintf(err, errlen, "%s: %s[%lld] = %d, outside the vocabulary [0, %d)", f->path, split,
                 (long long)((c0 + j) * g->rows + r), tok, V);
        free(cols);
        token_grid_free(g);
        return -1;
      }
      g->data[(size_t)r * g->cols + j] = tok;
    }
  free(cols);
  return 0;
}

void token_grid_free(TokenGrid *g) {
  free(g->data);
  memset(g, 0, sizeof *g);
}
