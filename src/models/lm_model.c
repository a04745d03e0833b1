// lm_model.c: the language model's parameters, forward and backward, composed from the layer
// ops (embedding, dropout, lstm, linear, cross_entropy). Shapes: T steps, B columns, E emsize,
// H nhid, V ntoken, L layers; activations are (T, B, .) row-major, so (T*B, .) for the
// decoder GEMM without any reshuffling.
#include "models/lm_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cross_entropy.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "core/util.h"

int lm_config_check(const LmConfig *c, char *err, size_t errlen) {
  if (c->nlayers < 1 || c->nlayers > LM_MAX_LAYERS) {
    snprintf(err, errlen, "nlayers = %d: expected 1..%d", c->nlayers, LM_MAX_LAYERS);
    return -1;
  }
  if (c->tied && c->emsize != c->nhid) {
    snprintf(err, errlen,
             "tied = true needs emsize == nhid (the decoder reuses the embedding), got emsize = "
             "%d and nhid = %d",
             c->emsize, c->nhid);
    return -1;
  }
  if (c->ntoken < 2) {
    snprintf(err, errlen, "vocabulary of %d words: expected at least 2", c->ntoken);
    return -1;
  }
  return 0;
}

void lm_model_build(LmModel *m, const LmConfig *c, const Ctx *ctx) {
  memset(m, 0, sizeof *m);
  m->cfg = *c;
  Params *p = &m->params;
  params_init(p);
  int V = c->ntoken, E = c->emsize, H = c->nhid;
  // Registration order = the reference's parameters() order, so clipping sums alike.
  m->enc_w = params_add(p, "encoder.weight", 2, (int[]){V, E});
  for (int l = 0; l < c->nlayers; l++) {
    int in = l ? H : E;
    char name[PARAM_NAME_LEN];
    snprintf(name, sizeof name, "rnn.weight_ih_l%d", l);
    m->rnn[l][0] = params_add(p, name, 2, (int[]){4 * H, in});
    snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
    m->rnn[l][1] = params_add(p, name, 2, (int[]){4 * H, H});
    snprintf(name, sizeof name, "rnn.bias_ih_l%d", l);
    m->rnn[l][2] = params_add(p, name, 1, (int[]){4 * H});
    snprintf(name, sizeof name, "rnn.bias_hh_l%d", l);
    m->rnn[l][3] = params_add(p, name, 1, (int[]){4 * H});
  }
  m->dec_w = c->tied ? m->enc_w : params_add(p, "decoder.weight", 2, (int[]){V, H});
  m->dec_b = params_add(p, "decoder.bias", 1, (int[]){V});
  params_alloc_on(p, ctx);
}

void lm_model_free(LmModel *m) { params_free(&m->params); }

void lm_init_weights(LmModel *m, Rng *rng) {
  const LmConfig *c = &m->cfg;
  float *d = params_staging(&m->params);
  size_t VE = (size_t)c->ntoken * c->emsize, VH = (size_t)c->ntoken * c->nhid;
  rng_fill_uniform(rng, d + m->enc_w, VE, -0.1f, 0.1f);
  float k = 1.0f / sqrtf((float)c->nhid);
  for (int l = 0; l < c->nlayers; l++) {
    size_t in = (size_t)(l ? c->nhid : c->emsize), H4 = (size_t)4 * c->nhid;
    rng_fill_uniform(rng, d + m->rnn[l][0], H4 * in, -k, k);
    rng_fill_uniform(rng, d + m->rnn[l][1], H4 * (size_t)c->nhid, -k, k);
    rng_fill_uniform(rng, d + m->rnn[l][2], H4, -k, k);
    rng_fill_uniform(rng, d + m->rnn[l][3], H4, -k, k);
  }
  if (!c->tied) rng_fill_uniform(rng, d + m->dec_w, VH, -0.1f, 0.1f);
  memset(d + m->dec_b, 0, sizeof(float) * (size_t)c->ntoken);
  params_staged(&m->params, d);
}

static LstmDims lm_dims(const LmModel *m, int T, int B) {
  return (LstmDims){.T = T, .B = B, .I = m->cfg.emsize, .H = m->cfg.nhid, .L = m->cfg.nlayers,
                    .p = m->cfg.dropout};
}

void lm_acts_alloc(LmActs *a, const LmModel *m, int Tmax, int B) {
  memset(a, 0, sizeof *a);
  a->ctx = m->params.ctx;
  a->Tmax = Tmax;
  a->B = B;
  a->Bg = B;
  size_t TB = (size_t)Tmax * B, E = (size_t)m->cfg.emsize, H = (size_t)m->cfg.nhid;
  a->emb = ctx_alloc(a->ctx, sizeof(float) * (TB * E));
  a->emb_mask = ctx_alloc(a->ctx, sizeof(float) * (TB * E));
  a->out = ctx_alloc(a->ctx, sizeof(float) * (TB * H));
  a->out_mask = ctx_alloc(a->ctx, sizeof(float) * (TB * H));
  a->logits = ctx_alloc(a->ctx, sizeof(float) * (TB * (size_t)m->cfg.ntoken));
  a->lse = ctx_alloc(a->ctx, sizeof(float) * (TB));
  a->dout = ctx_alloc(a->ctx, sizeof(float) * (TB * H));
  a->demb = ctx_alloc(a->ctx, sizeof(float) * (TB * E));
  LstmDims d = lm_dims(m, Tmax, B);  // the workspace only grows with T
  a->work_buf = ctx_alloc(a->ctx, sizeof(float) * (lstm_work_floats(&d)));
}

void lm_acts_set_columns(LmActs *a, int Bg, int b0) {
  GENET_ASSERT(b0 >= 0 && b0 + a->B <= Bg);
  a->Bg = Bg;
  a->b0 = b0;
}

void lm_acts_free(LmActs *a) {
  float *bufs[] = {a->emb, a->emb_mask, a->out, a->out_mask, a->logits,
                   a->lse, a->dout,     a->demb, a->work_buf};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ctx_release(a->ctx, bufs[i]);
  memset(a, 0, sizeof *a);
}

static void lm_layers(const LmModel *m, const float *base, LstmLayer *out) {
  for (int l = 0; l < m->cfg.nlayers; l++)
    out[l] = (LstmLayer){base + m->rnn[l][0], base + m->rnn[l][1], base + m->rnn[l][2],
                         base + m->rnn[l][3]};
}

double lm_forward(Ctx *ctx, LmModel *m, LmActs *a, const int32_t *tokens, const int32_t *targets,
                  int T, float *h, float *c, int train, Rng *rng) {
  GENET_ASSERT(T >= 1 && T <= a->Tmax);
  const LmConfig *cf = &m->cfg;
  int B = a->B, V = cf->ntoken, E = cf->emsize, H = cf->nhid, N = T * B;
  const float *P = m->params.data;
  a->dims = lm_dims(m, T, B);
  a->dims.Bg = a->Bg;
  a->dims.b0 = a->b0;
  lstm_work_point(&a->work, a->work_buf, &a->dims);
  int drop_io = a->dropped_io = train && cf->dropout_io > 0;
  embedding_forward(ctx, a->emb, tokens, P + m->enc_w, N, V, E);
  if (drop_io)
    dropout_forward_cols(ctx, a->emb, a->emb_mask, a->emb, T, B, a->Bg, a->b0, E, cf->dropout_io, rng);
  LstmLayer layers[LM_MAX_LAYERS];
  lm_layers(m, P, layers);
  lstm_forward(ctx, a->out, h, c, &a->work, a->emb, h, c, layers, &a->dims, train, rng);
  if (drop_io)
    dropout_forward_cols(ctx, a->out, a->out_mask, a->out, T, B, a->Bg, a->b0, H, cf->dropout_io, rng);
  linear_forward(ctx, a->logits, a->out, P + m->dec_w, P + m->dec_b, N, H, V);
  if (!targets) return 0.0;
  return cross_entropy_forward(ctx, a->lse, a->logits, targets, N, V);
}

void lm_backward(Ctx *ctx, LmModel *m, LmActs *a, const int32_t *tokens, const int32_t *targets,
                 const GradReady *ready) {
  const LmConfig *cf = &m->cfg;
  const LstmDims *d = &a->dims;
  int B = a->B, T = d->T, V = cf->ntoken, E = cf->emsize, H = cf->nhid, N = T * B;
  const float *P = m->params.data;
  float *G = m->params.grad;
  cross_entropy_backward(ctx, a->logits, a->logits, a->lse, targets, 1.0f, N, V);
  // Tied: the decoder's weight gradient lands in encoder.weight's slot, added to the
  // embedding's scatter below, as autograd sums the two uses of one tensor.
  linear_backward(ctx, a->dout, G + m->dec_w, G + m->dec_b, a->logits, a->out, P + m->dec_w, N, H, V);
  grad_ready_param(ready, &m->params, "decoder.bias");
  if (!cf->tied) grad_ready_param(ready, &m->params, "decoder.weight");  // tied: the embedding adds to it below
  if (a->dropped_io) dropout_backward(ctx, a->dout, a->dout, a->out_mask, (size_t)N * H);
  LstmLayer layers[LM_MAX_LAYERS];
  LstmLayerGrad grads[LM_MAX_LAYERS];
  lm_layers(m, P, layers);
  for (int l = 0; l < cf->nlayers; l++)
    grads[l] = (LstmLayerGrad){G + m->rnn[l][0], G + m->rnn[l][1], G + m->rnn[l][2],
                               G + m->rnn[l][3]};
  // dhn = dcn = NULL: the carried state is detached after this window.
  lstm_backward(ctx, a->demb, NULL, NULL, grads, &a->work, a->dout, NULL, NULL, a->emb, layers, d);
  for (int l = 0; l < cf->nlayers; l++)
    for (int k = 0; k < 4; k++)
      grad_ready(ready, m->rnn[l][k], (size_t)4 * H * (k == 0 ? (l ? H : E) : k == 1 ? H : 1));
  if (a->dropped_io) dropout_backward(ctx, a->demb, a->demb, a->emb_mask, (size_t)N * E);
  embedding_backward(ctx, G + m->enc_w, a->demb, tokens, N, V, E);
  grad_ready_param(ready, &m->params, "encoder.weight");
}
