// bench_cases.h: one setup function per case kind of layers.cases. Each allocates the
// buffers of one forward+backward (inputs random, upstream gradient all ones as the PyTorch
// side's y.backward(ones)) and returns the function that runs it. Included by bench_layers.c.
#include "ops/batchnorm.h"
#include "ops/conv.h"
#include "ops/conv_transpose.h"
#include "ops/cross_entropy.h"
#include "ops/lstm.h"
#include "ops/pool.h"

static float *onesbuf(size_t n) {
  float *p = xmalloc_floats(n);
  for (size_t i = 0; i < n; i++) p[i] = 1.0f;
  return p;
}

// conv / convt: a = N Cin H W Cout K stride pad; buf: x w y dy dx dw
static void run_conv(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  float **u = b->buf;
  conv2d_forward(ctx, u[2], u[0], u[1], NULL, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  conv2d_backward(ctx, u[4], u[5], NULL, u[3], u[0], u[1], a[0], a[1], a[2], a[3], a[4], a[5],
                  a[6], a[7]);
}

static void run_convt(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  float **u = b->buf;
  conv_transpose2d_forward(ctx, u[2], u[0], u[1], NULL, a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                           a[7]);
  conv_transpose2d_backward(ctx, u[4], u[5], NULL, u[3], u[0], u[1], a[0], a[1], a[2], a[3], a[4],
                            a[5], a[6], a[7]);
}

static RunFn setup_conv(Bench *b, int transposed) {
  const int *a = b->c->a;
  if (b->c->na != 8) genet_die("%s: conv/convt takes 8 numbers", b->c->name);
  int N = a[0], Cin = a[1], H = a[2], W = a[3], Cout = a[4], K = a[5], s = a[6], p = a[7];
  int Ho = transposed ? conv_transpose2d_out_size(H, K, s, p) : conv2d_out_size(H, K, s, p);
  int Wo = transposed ? conv_transpose2d_out_size(W, K, s, p) : conv2d_out_size(W, K, s, p);
  size_t nx = (size_t)N * Cin * H * W, nw = (size_t)Cout * Cin * K * K;
  size_t ny = (size_t)N * Cout * Ho * Wo;
  b->buf[0] = randbuf(nx, 1);
  b->buf[1] = randbuf(nw, 2);
  b->buf[2] = xmalloc_floats(ny);
  b->buf[3] = onesbuf(ny);
  b->buf[4] = xmalloc_floats(nx);
  b->buf[5] = xmalloc_floats(nw);
  return transposed ? run_convt : run_conv;
}

// bn: a = N C H W; buf: x y dy dx weight bias dweight dbias save_mean save_var rmean rvar
static void run_bn(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  float **u = b->buf;
  batchnorm_forward(ctx, u[1], u[8], u[9], u[10], u[11], u[0], u[4], u[5], a[0], a[1], a[2], a[3],
                    1, 0.1f, 1e-5f);
  batchnorm_backward(ctx, u[3], u[6], u[7], u[2], u[0], u[8], u[9], u[4], a[0], a[1], a[2], a[3],
                     1, 1e-5f);
}

static RunFn setup_bn(Bench *b) {
  const int *a = b->c->a;
  if (b->c->na != 4) genet_die("%s: bn takes 4 numbers", b->c->name);
  size_t n = (size_t)a[0] * a[1] * a[2] * a[3], C = (size_t)a[1];
  b->buf[0] = randbuf(n, 1);
  b->buf[1] = xmalloc_floats(n);
  b->buf[2] = onesbuf(n);
  b->buf[3] = xmalloc_floats(n);
  b->buf[4] = onesbuf(C);
  b->buf[5] = calloc(C, sizeof(float));
  for (int i = 6; i < 12; i++) b->buf[i] = calloc(C, sizeof(float));
  return run_bn;
}

// pool: a = N C H W K stride; buf: x y dy dx; extra: workspace
static void run_pool(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  float **u = b->buf;
  maxpool2d_forward(ctx, u[1], b->extra, u[0], a[0], a[1], a[2], a[3], a[4], a[5]);
  maxpool2d_backward(ctx, u[3], u[2], b->extra, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static RunFn setup_pool(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  if (b->c->na != 6) genet_die("%s: pool takes 6 numbers", b->c->name);
  int Ho = maxpool2d_out_size(a[2], a[4], a[5]), Wo = maxpool2d_out_size(a[3], a[4], a[5]);
  size_t nx = (size_t)a[0] * a[1] * a[2] * a[3], ny = (size_t)a[0] * a[1] * Ho * Wo;
  b->buf[0] = randbuf(nx, 1);
  b->buf[1] = xmalloc_floats(ny);
  b->buf[2] = onesbuf(ny);
  b->buf[3] = xmalloc_floats(nx);
  b->extra = xmalloc(maxpool2d_workspace_size(ctx, a[0], a[1], a[2], a[3], a[4], a[5]));
  return run_pool;
}

// lstm: a = T B I H L; buf: x out dout dx params grads work hn cn (h0 = c0 = 0 and no dh0, dc0,
// as the PyTorch side)
typedef struct {
  LstmDims d;
  LstmLayer layers[8];
  LstmLayerGrad grads[8];
  LstmWork w;
} LstmBench;

static void run_lstm(Ctx *ctx, Bench *b) {
  LstmBench *s = b->extra;
  float **u = b->buf;
  lstm_forward(ctx, u[1], u[7], u[8], &s->w, u[0], NULL, NULL, s->layers, &s->d, 0, NULL);
  lstm_backward(ctx, u[3], NULL, NULL, s->grads, &s->w, u[2], NULL, NULL, u[0], s->layers, &s->d);
}

static RunFn setup_lstm(Bench *b) {
  const int *a = b->c->a;
  if (b->c->na != 5 || a[4] > 8) genet_die("%s: lstm takes T B I H L (L <= 8)", b->c->name);
  LstmBench *s = calloc(1, sizeof *s);
  s->d = (LstmDims){.T = a[0], .B = a[1], .I = a[2], .H = a[3], .L = a[4], .p = 0};
  int T = a[0], B = a[1], I = a[2], H = a[3], L = a[4];
  size_t np = 0;
  for (int l = 0; l < L; l++) np += (size_t)4 * H * ((l ? H : I) + H + 2);
  b->buf[0] = randbuf((size_t)T * B * I, 1);
  b->buf[1] = xmalloc_floats((size_t)T * B * H);
  b->buf[2] = onesbuf((size_t)T * B * H);
  b->buf[3] = xmalloc_floats((size_t)T * B * I);
  b->buf[4] = randbuf(np, 2);
  for (size_t i = 0; i < np; i++) b->buf[4][i] *= 0.07f;  // PyTorch's U(-1/sqrt(H), 1/sqrt(H)) scale
  b->buf[5] = calloc(np, sizeof(float));
  b->buf[6] = xmalloc_floats(lstm_work_floats(&s->d));
  for (int i = 7; i < 9; i++) b->buf[i] = xmalloc_floats((size_t)L * B * H);
  float *p = b->buf[4], *g = b->buf[5];
  for (int l = 0; l < L; l++) {
    size_t in = (size_t)(l ? H : I), h4 = (size_t)4 * H;
    s->layers[l] = (LstmLayer){p, p + h4 * in, p + h4 * (in + H), p + h4 * (in + H) + h4};
    s->grads[l] = (LstmLayerGrad){g, g + h4 * in, g + h4 * (in + H), g + h4 * (in + H) + h4};
    p += h4 * (in + H + 2);
    g += h4 * (in + H + 2);
  }
  lstm_work_point(&s->w, b->buf[6], &s->d);
  b->extra = s;
  return run_lstm;
}

// xent: a = N V; buf: logits dlogits lse; extra: targets
static void run_xent(Ctx *ctx, Bench *b) {
  const int *a = b->c->a;
  float **u = b->buf;
  cross_entropy_forward(ctx, u[2], u[0], b->extra, a[0], a[1]);
  cross_entropy_backward(ctx, u[1], u[0], u[2], b->extra, 1.0f, a[0], a[1]);
}

static RunFn setup_xent(Bench *b) {
  const int *a = b->c->a;
  if (b->c->na != 2) genet_die("%s: xent takes N V", b->c->name);
  b->buf[0] = randbuf((size_t)a[0] * a[1], 1);
  b->buf[1] = xmalloc_floats((size_t)a[0] * a[1]);
  b->buf[2] = xmalloc_floats((size_t)a[0]);
  int32_t *t = xmalloc(sizeof(int32_t) * (size_t)a[0]);
  for (int i = 0; i < a[0]; i++) t[i] = (int32_t)(((uint64_t)i * 2654435761u) % (uint64_t)a[1]);
  b->extra = t;
  return run_xent;
}

static RunFn bench_setup(Ctx *ctx, Bench *b) {
  const char *k = b->c->kind;
  if (!strcmp(k, "conv")) return setup_conv(b, 0);
  if (!strcmp(k, "convt")) return setup_conv(b, 1);
  if (!strcmp(k, "bn")) return setup_bn(b);
  if (!strcmp(k, "pool")) return setup_pool(ctx, b);
  if (!strcmp(k, "lstm")) return setup_lstm(b);
  if (!strcmp(k, "xent")) return setup_xent(b);
  return NULL;
}
