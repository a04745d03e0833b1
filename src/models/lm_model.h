// lm_model.h: the word-level language model of pytorch/examples' word_language_model (the
// seed's RNNModel): Embedding(ntoken, emsize) -> Dropout(dropout_io) -> LSTM(emsize, nhid,
// nlayers, dropout) -> Dropout(dropout_io) -> Linear(nhid, ntoken), the decoder weight tied
// to the embedding when `tied`. Parameters carry the reference's state_dict names
// (encoder.weight, rnn.weight_ih_l0, ..., decoder.bias; a tied model has no decoder.weight of
// its own, as its parameters() list).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "ops/lstm.h"
#include "core/params.h"
#include "core/rng.h"

#define LM_MAX_LAYERS 8

typedef struct {
  int ntoken, emsize, nhid, nlayers;
  float dropout;     // between LSTM layers
  float dropout_io;  // on the embedding output and the LSTM output
  int tied;          // decoder.weight is encoder.weight (needs emsize == nhid)
} LmConfig;

typedef struct {
  LmConfig cfg;
  Params params;
  size_t enc_w, dec_w, dec_b;                 // offsets into params (dec_w == enc_w when tied)
  size_t rnn[LM_MAX_LAYERS][4];               // w_ih, w_hh, b_ih, b_hh of each layer
} LmModel;

// Activations of one forward pass kept for backward, for up to T steps of B columns.
typedef struct {
  const Ctx *ctx;           // the model's device: every buffer below lives there
  int Tmax, B;
  int Bg, b0;               // these B columns are [b0, b0 + B) of the global batch Bg (dropout
                            // masks are drawn for the global batch): lm_acts_alloc sets Bg = B
  float *emb, *emb_mask;    // (T, B, E) embedding output after dropout, and its mask
  float *out, *out_mask;    // (T, B, H) LSTM output after dropout, and its mask
  float *logits;            // (T*B, V) decoder output; backward turns it into dlogits
  float *lse;               // (T*B) log-sum-exp of each row
  float *dout, *demb;       // backward: d(LSTM output) (T, B, H), d(embedding) (T, B, E)
  float *work_buf;          // LSTM workspace
  LstmWork work;
  LstmDims dims;            // of the last forward
  int dropped_io;           // the last forward applied dropout_io (training)
} LmActs;

// Checks the configuration; returns 0 or -1 with a one-line reason.
int lm_config_check(const LmConfig *c, char *err, size_t errlen);
// Registers the parameters and allocates them (zeroed) on ctx's device (NULL: the CPU);
// lm_init_weights fills them. Activations, tokens, targets and the carried state given to the
// model live on the same device.
void lm_model_build(LmModel *m, const LmConfig *c, const Ctx *ctx);
void lm_model_free(LmModel *m);
// As the reference: encoder (and an untied decoder) weight U(-0.1, 0.1), decoder bias 0, LSTM
// weights and biases U(-1/sqrt(nhid), 1/sqrt(nhid)) (PyTorch's default), drawn from rng.
void lm_init_weights(LmModel *m, Rng *rng);

void lm_acts_alloc(LmActs *a, const LmModel *m, int Tmax, int B);
// A data-parallel rank's columns: [b0, b0 + a->B) of Bg.
void lm_acts_set_columns(LmActs *a, int Bg, int b0);
void lm_acts_free(LmActs *a);

// One forward pass over T steps (T <= a->Tmax) of B columns (B == a->B): tokens (T, B),
// targets (T, B); h, c (L, B, H) the carried state, updated in place to the final state.
// Returns the mean cross-entropy over the T*B targets. train != 0 applies dropout with masks
// from rng. targets may be NULL (no loss: generation), then it returns 0 and leaves the
// logits in a->logits.
double lm_forward(Ctx *ctx, LmModel *m, LmActs *a, const int32_t *tokens, const int32_t *targets,
                  int T, float *h, float *c, int train, Rng *rng);
// Backward of the last lm_forward (with targets): accumulates into m->params.grad. The carried
// state is detached (no gradient flows into the previous window), as the reference's
// repackage_hidden. ready (may be NULL) hears of each tensor's gradient as soon as it is final
// (decoder, then the LSTM, then the embedding), so its all-reduce can start.
void lm_backward(Ctx *ctx, LmModel *m, LmActs *a, const int32_t *tokens, const int32_t *targets,
                 const GradReady *ready);
