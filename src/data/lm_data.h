// lm_data.h: the language model's data from a `genet prepare text` file: the vocabulary and
// each split batchified as the reference does (the token stream cut to a multiple of the
// batch and laid out as `batch` columns, column j being the j-th contiguous stretch of the
// stream). A rank reads only its columns, which are one contiguous slice of the stream.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "data/h5io.h"

typedef struct {
  char *blob;    // the words, '\n'-separated, as stored (NUL-terminated in place)
  char **words;  // (n) pointers into blob
  int n;
} Vocab;

// Reads `vocab` and `vocab_size` and checks that they agree.
int vocab_read(H5File *f, Vocab *v, char *err, size_t errlen);
// Builds a vocabulary from text (the checkpoint's copy).
int vocab_from_text(Vocab *v, const char *text, char *err, size_t errlen);
// The id of a word, or -1.
int vocab_find(const Vocab *v, const char *word);
void vocab_free(Vocab *v);

typedef struct {
  int32_t *data;  // (rows, cols) row-major: data[r * cols + j] = token r of column c0 + j
  int64_t rows;   // tokens per column = len(split) / batch
  int cols;       // this rank's columns
} TokenGrid;

// Columns [c0, c1) of split (train|valid|test) batchified into `batch` columns. Every token is
// checked against the vocabulary size V. Needs rows >= 2 (an input and its target).
int lm_read_split(H5File *f, const char *split, int batch, int c0, int c1, int V, TokenGrid *g,
                  char *err, size_t errlen);
void token_grid_free(TokenGrid *g);

// Rank r's share [c0, c1) of `batch` columns over `world` ranks (the first batch % world ranks
// take one more: evaluation batches need not divide; training batches must).
void lm_columns(int batch, int world, int rank, int *c0, int *c1);
