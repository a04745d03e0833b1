// test_gpu_ops.c (label gpu): genet's own CUDA kernels against the CPU ops on random
// inputs, forward and backward: dropout, embedding, cross-entropy, MSE, BCE and Linear. Device
// outputs start as NaN (an element a kernel never writes fails); sizes are not multiples of a
// block, and the row loops are pushed past their grid (N > 1024 rows of cross-entropy, n > 1024
// blocks of 256 in the losses); gradients the CPU op accumulates (+=) start non-zero on both
// sides. Bounds (testlib's rule):
//   dropout masks and outputs, embedding rows and their gradient: exact (rtol 0): the same
//     integer arithmetic and one float multiply, a copy, or the same float sums in the same order;
//   element-wise results from the shared base/elementwise.h functions: 1e-5, K = 1 (the device's
//     log and nvcc's fused multiply-adds may move the last bits);
//   cross-entropy's lse and loss, MSE and BCE: 1e-5 with K = 1: both sides add the same terms
//     in double (in another order), so the float result differs in its last bit at most;
//   the float sums (the bias column sums, accumulated gradients): 1e-5 with
//     K the number of terms;
//   Linear's GEMMs: fp32 (gpu_test_begin turns TF32 off), 1e-5 with K the inner length.
// A bad id, target or BCE input must die with the CPU's message: each case runs in a child
// process (this binary with the case's name), whose exit status and output are checked.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "gpulib.h"
#include "ops/cross_entropy.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "testlib.h"

static Ctx gpu, cpu;

static float *fmalloc(size_t n) { return malloc(n * sizeof(float) + 4); }

static int32_t *random_ids(size_t n, int V, uint64_t seed) {
  int32_t *id = malloc(n * sizeof(int32_t) + 4);
  Rng r;
  rng_init(&r, seed, 0);
  for (size_t i = 0; i < n; i++) id[i] = (int32_t)(rng_u32(&r) % (uint32_t)V);
  return id;
}

// ---- dropout: the same Philox words, so the very same masks; the stream moves alike.

static void test_dropout(void) {
  // Columns [5, 18) of a (7, 29, 33) tensor, from a stream already part-way through a block.
  enum { T = 7, BG = 29, B0 = 5, B = 13, D = 33 };
  const float p = 0.3f;
  size_t n = (size_t)T * B * D;
  float *x = fmalloc(n), *y = fmalloc(n), *m = fmalloc(n), *dy = fmalloc(n), *dx = fmalloc(n);
  fill_uniform(x, n, -2.0f, 2.0f, 11);
  fill_uniform(dy, n, -1.0f, 1.0f, 12);
  Rng rc, rg;
  rng_init(&rc, 21, 4);
  rng_u32(&rc);
  rg = rc;
  dropout_forward_cols(&cpu, y, m, x, T, B, BG, B0, D, p, &rc);
  float *dX = gpu_upload(&gpu, x, n), *dY = gpu_nan(&gpu, n), *dM = gpu_nan(&gpu, n);
  dropout_forward_cols(&gpu, dY, dM, dX, T, B, BG, B0, D, p, &rg);
  gpu_check_close(&gpu, "dropout_forward_cols mask (7, 13 of 29 from 5, 33), p 0.3", dM, m, n, 1, 0);
  gpu_check_close(&gpu, "dropout_forward_cols y", dY, y, n, 1, 0);
  test_check(rc.counter == rg.counter && rc.pos == rg.pos,
             "dropout_forward_cols: the CUDA op moves the stream as the CPU op (block %llu, %llu)",
             (unsigned long long)rg.counter, (unsigned long long)rc.counter);

  float *dDY = gpu_upload(&gpu, dy, n), *dDX = gpu_nan(&gpu, n);
  dropout_backward(&cpu, dx, dy, m, n);
  dropout_backward(&gpu, dDX, dDY, dM, n);
  gpu_check_close(&gpu, "dropout_backward", dDX, dx, n, 1, 0);
  dropout_backward(&cpu, dy, dy, m, n);  // in place (dx = dy)
  dropout_backward(&gpu, dDY, dDY, dM, n);
  gpu_check_close(&gpu, "dropout_backward in place", dDY, dy, n, 1, 0);
  gpu_free(dX), gpu_free(dY), gpu_free(dM), gpu_free(dDY), gpu_free(dDX);
  free(x), free(y), free(m), free(dy), free(dx);

  // The whole-tensor form (dropout_forward, composed over the cols op), in place, with more
  // elements than one grid pass of blocks covers at once.
  size_t nn = 100003;
  float *a = fmalloc(nn), *ma = fmalloc(nn);
  fill_uniform(a, nn, -1.0f, 1.0f, 13);
  float *dA = gpu_upload(&gpu, a, nn), *dMA = gpu_nan(&gpu, nn);
  rng_init(&rc, 22, 0);
  rg = rc;
  dropout_forward(&cpu, a, ma, a, nn, 0.5f, &rc);
  dropout_forward(&gpu, dA, dMA, dA, nn, 0.5f, &rg);
  gpu_check_close(&gpu, "dropout_forward mask (100003), p 0.5", dMA, ma, nn, 1, 0);
  gpu_check_close(&gpu, "dropout_forward y in place", dA, a, nn, 1, 0);
  // The next call draws the next masks on both sides.
  dropout_forward(&cpu, a, ma, a, nn, 0.5f, &rc);
  dropout_forward(&gpu, dA, dMA, dA, nn, 0.5f, &rg);
  gpu_check_close(&gpu, "dropout_forward second mask from the moved stream", dMA, ma, nn, 1, 0);
  gpu_free(dA), gpu_free(dMA);
  free(a), free(ma);
}

// ---- embedding: rows copied forward; backward adds into a non-zero table, repeated ids.

static void test_embedding(int n, int V, int D) {
  size_t ny = (size_t)n * D, nt = (size_t)V * D;
  int32_t *id = random_ids((size_t)n, V, 31);
  float *table = fmalloc(nt), *y = fmalloc(ny), *dy = fmalloc(ny), *dtable = fmalloc(nt);
  fill_uniform(table, nt, -1.0f, 1.0f, 32);
  fill_uniform(dy, ny, -1.0f, 1.0f, 33);
  fill_uniform(dtable, nt, -1.0f, 1.0f, 34);
  int32_t *dID = gpu_upload_i32(&gpu, id, (size_t)n);
  float *dTab = gpu_upload(&gpu, table, nt), *dY = gpu_nan(&gpu, ny), *dDY = gpu_upload(&gpu, dy, ny);
  float *dDT = gpu_upload(&gpu, dtable, nt);
  embedding_forward(&cpu, y, id, table, n, V, D);
  embedding_forward(&gpu, dY, dID, dTab, n, V, D);
  char what[96];
  snprintf(what, sizeof what, "embedding_forward (%d ids of %d, D %d)", n, V, D);
  gpu_check_close(&gpu, what, dY, y, ny, 1, 0);
  embedding_backward(&cpu, dtable, dy, id, n, V, D);
  embedding_backward(&gpu, dDT, dDY, dID, n, V, D);
  // Each row adds its id's rows to the initial value in the order of i on both devices.
  int most = 0;
  int *count = calloc((size_t)V, sizeof(int));
  for (int i = 0; i < n; i++) most = ++count[id[i]] > most ? count[id[i]] : most;
  snprintf(what, sizeof what, "embedding_backward += (most repeats %d), bit for bit", most);
  gpu_check_close(&gpu, what, dDT, dtable, nt, 1, 0);
  free(count);
  gpu_free(dID), gpu_free(dTab), gpu_free(dY), gpu_free(dDY), gpu_free(dDT);
  free(id), free(table), free(y), free(dy), free(dtable);
}

// ---- cross-entropy: lse and the mean loss forward, dlogits backward (also in place).

static void test_cross_entropy(int N, int V) {
  size_t nl = (size_t)N * V;
  float *lg = fmalloc(nl), *lse = fmalloc((size_t)N), *d = fmalloc(nl);
  fill_uniform(lg, nl, -20.0f, 20.0f, 41);
  for (int n = 0; n < N; n += 3)  // every third row far from 0: the max shift must work
    for (int j = 0; j < V; j++) lg[(size_t)n * V + j] += 1000.0f;
  int32_t *tg = random_ids((size_t)N, V, 42);
  float *dLG = gpu_upload(&gpu, lg, nl), *dLSE = gpu_nan(&gpu, (size_t)N), *dD = gpu_nan(&gpu, nl);
  int32_t *dTG = gpu_upload_i32(&gpu, tg, (size_t)N);
  double want = cross_entropy_forward(&cpu, lse, lg, tg, N, V);
  double got = cross_entropy_forward(&gpu, dLSE, dLG, dTG, N, V);
  char what[96];
  snprintf(what, sizeof what, "cross_entropy_forward loss (%d x %d)", N, V);
  check_scalar(what, got, want, 1, 1e-5);
  snprintf(what, sizeof what, "cross_entropy_forward lse (%d x %d)", N, V);
  gpu_check_close(&gpu, what, dLSE, lse, (size_t)N, 1, 1e-5);
  // Backward from each side's own lse (what training does).
  cross_entropy_backward(&cpu, d, lg, lse, tg, 0.7f, N, V);
  cross_entropy_backward(&gpu, dD, dLG, dLSE, dTG, 0.7f, N, V);
  snprintf(what, sizeof what, "cross_entropy_backward (%d x %d)", N, V);
  gpu_check_close(&gpu, what, dD, d, nl, 1, 1e-5);
  cross_entropy_backward(&gpu, dLG, dLG, dLSE, dTG, 0.7f, N, V);  // in place
  snprintf(what, sizeof what, "cross_entropy_backward in place (%d x %d)", N, V);
  gpu_check_close(&gpu, what, dLG, d, nl, 1, 1e-5);
  gpu_free(dLG), gpu_free(dLSE), gpu_free(dD), gpu_free(dTG);
  free(lg), free(lse), free(d), free(tg);
}

// ---- MSE and BCE: the scalar losses (reduced on the device) and their gradients.

static void test_losses(void) {
  const size_t n = 300007;  // more than 1024 blocks of 256: the blocks loop
  float *x = fmalloc(n), *t = fmalloc(n), *dx = fmalloc(n);
  fill_uniform(x, n, 0.0f, 1.0f, 51);
  fill_uniform(t, n, 0.0f, 1.0f, 52);
  x[0] = 0.0f, x[1] = 1.0f, x[2] = 1e-30f, x[3] = 1.0f - 1e-7f;  // BCE's clamped ends
  t[0] = 0.3f, t[1] = 0.6f;
  float *dX = gpu_upload(&gpu, x, n), *dT = gpu_upload(&gpu, t, n), *dDX = gpu_nan(&gpu, n);

  float want = mse_loss_forward(&cpu, x, t, n), got = mse_loss_forward(&gpu, dX, dT, n);
  check_scalar("mse_loss_forward (300007)", got, want, 1, 1e-5);
  mse_loss_backward(&cpu, dx, x, t, n, 1.7f);
  mse_loss_backward(&gpu, dDX, dX, dT, n, 1.7f);
  gpu_check_close(&gpu, "mse_loss_backward", dDX, dx, n, 1, 1e-5);

  want = bce_loss_forward(&cpu, x, t, n), got = bce_loss_forward(&gpu, dX, dT, n);
  check_scalar("bce_loss_forward (300007, p = 0 and 1 included)", got, want, 1, 1e-5);
  gpu_free(dDX);
  dDX = gpu_nan(&gpu, n);
  bce_loss_backward(&cpu, dx, x, t, n, 0.9f);
  bce_loss_backward(&gpu, dDX, dX, dT, n, 0.9f);
  gpu_check_close(&gpu, "bce_loss_backward", dDX, dx, n, 1, 1e-5);

  // One element: a single block with one live thread.
  want = mse_loss_forward(&cpu, x + 7, t + 7, 1), got = mse_loss_forward(&gpu, dX + 7, dT + 7, 1);
  check_scalar("mse_loss_forward (1)", got, want, 1, 1e-5);
  gpu_free(dX), gpu_free(dT), gpu_free(dDX);
  free(x), free(t), free(dx);
}

// ---- Linear: the GEMMs and the bias (broadcast forward, column sums backward, +=).

static void test_linear(int N, int in, int out, int with_bias) {
  size_t nx = (size_t)N * in, nw = (size_t)out * in, ny = (size_t)N * out;
  float *x = fmalloc(nx), *w = fmalloc(nw), *b = fmalloc((size_t)out), *y = fmalloc(ny);
  float *dy = fmalloc(ny), *dx = fmalloc(nx), *dw = fmalloc(nw), *db = fmalloc((size_t)out);
  fill_uniform(x, nx, -1.0f, 1.0f, 61);
  fill_uniform(w, nw, -1.0f, 1.0f, 62);
  fill_uniform(b, (size_t)out, -1.0f, 1.0f, 63);
  fill_uniform(dy, ny, -1.0f, 1.0f, 64);
  fill_uniform(dw, nw, -1.0f, 1.0f, 65);  // accumulated into: non-zero on both sides
  fill_uniform(db, (size_t)out, -1.0f, 1.0f, 66);
  float *dX = gpu_upload(&gpu, x, nx), *dW = gpu_upload(&gpu, w, nw), *dB = gpu_upload(&gpu, b, (size_t)out);
  float *dY = gpu_nan(&gpu, ny), *dDY = gpu_upload(&gpu, dy, ny), *dDX = gpu_nan(&gpu, nx);
  float *dDW = gpu_upload(&gpu, dw, nw), *dDB = gpu_upload(&gpu, db, (size_t)out);
  const float *bias = with_bias ? b : NULL, *dbias = with_bias ? dB : NULL;
  char what[96];
  linear_forward(&cpu, y, x, w, bias, N, in, out);
  linear_forward(&gpu, dY, dX, dW, dbias, N, in, out);
  snprintf(what, sizeof what, "linear_forward (%d, %d -> %d)%s", N, in, out, with_bias ? " + bias" : "");
  gpu_check_close(&gpu, what, dY, y, ny, in + 1, 1e-5);
  linear_backward(&cpu, dx, dw, with_bias ? db : NULL, dy, x, w, N, in, out);
  linear_backward(&gpu, dDX, dDW, with_bias ? dDB : NULL, dDY, dX, dW, N, in, out);
  gpu_check_close(&gpu, "linear_backward dx", dDX, dx, nx, out, 1e-5);
  gpu_check_close(&gpu, "linear_backward dw +=", dDW, dw, nw, N + 1, 1e-5);
  if (with_bias) gpu_check_close(&gpu, "linear_backward db += (column sums)", dDB, db, (size_t)out, N + 1, 1e-5);
  // dx not wanted (NULL): only dw (and db) move, again.
  linear_backward(&cpu, NULL, dw, with_bias ? db : NULL, dy, x, w, N, in, out);
  linear_backward(&gpu, NULL, dDW, with_bias ? dDB : NULL, dDY, dX, dW, N, in, out);
  gpu_check_close(&gpu, "linear_backward without dx: dw +=", dDW, dw, nw, 2 * N + 1, 1e-5);
  if (with_bias) gpu_check_close(&gpu, "linear_backward without dx: db +=", dDB, db, (size_t)out, 2 * N + 1, 1e-5);
  gpu_free(dX), gpu_free(dW), gpu_free(dB), gpu_free(dY), gpu_free(dDY), gpu_free(dDX);
  gpu_free(dDW), gpu_free(dDB);
  free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
}

// ---- bad inputs die with the CPU op's message (run in a child: genet_die exits).

// The child's side: one op with a bad input at two places; returning means it did not die.
static int run_bad_case(const char *name) {
  enum { N = 40, V = 37, D = 5 };
  int32_t id[N];
  for (int i = 0; i < N; i++) id[i] = i % V;
  id[5] = V, id[30] = -1;  // the first bad one (position 5) must be named
  float *h = fmalloc((size_t)N * V);
  fill_uniform(h, (size_t)N * V, 0.1f, 0.9f, 71);
  h[6] = 1.5f, h[20] = -0.5f;
  int32_t *dID = gpu_upload_i32(&gpu, id, N);
  float *dH = gpu_upload(&gpu, h, (size_t)N * V), *dO = gpu_nan(&gpu, (size_t)N * V);
  float *dL = gpu_nan(&gpu, N);
  if (!strcmp(name, "embedding_forward")) embedding_forward(&gpu, dO, dID, dH, N, V, D);
  else if (!strcmp(name, "embedding_backward")) embedding_backward(&gpu, dO, dH, dID, N, V, D);
  else if (!strcmp(name, "cross_entropy_forward")) cross_entropy_forward(&gpu, dL, dH, dID, N, V);
  else if (!strcmp(name, "cross_entropy_backward")) cross_entropy_backward(&gpu, dO, dH, dL, dID, 1.0f, N, V);
  else if (!strcmp(name, "bce_loss_forward")) bce_loss_forward(&gpu, dH, dH, (size_t)N * V);
  else printf("unknown case %s\n", name);
  printf("%s returned without dying\n", name);
  return 0;
}

static void expect_death(const char *name, const char *want) {
  char out[4096];
  int st = gpu_run_self(name, out, sizeof out);
  test_check(st > 0 && strstr(out, want) != NULL, "%s with a bad input dies: \"%s\" (wanted \"%s\")",
             name, out, want);
}

static void test_bad_inputs(void) {
  expect_death("embedding_forward", "embedding: index 37 at position 5 is outside the vocabulary of 37");
  expect_death("embedding_backward", "embedding: index 37 at position 5 is outside the vocabulary of 37");
  expect_death("cross_entropy_forward", "cross_entropy: target 37 at row 5 is outside the vocabulary [0, 37)");
  expect_death("cross_entropy_backward", "cross_entropy: target 37 at row 5 is outside the vocabulary [0, 37)");
  expect_death("bce_loss_forward", "bce_loss: input 6 is 1.5, not a probability in [0, 1]");
}

int main(int argc, char **argv) {
  gpu_test_begin("gpu_ops", &gpu, &cpu);
  if (argc > 1) return run_bad_case(argv[1]);
  test_dropout();
  test_embedding(1000, 37, 77);
  test_embedding(300, 1000, 300);  // D over one block of threads
  test_cross_entropy(37, 1031);
  test_cross_entropy(1100, 300);  // more rows than blocks: each block loops
  test_losses();
  test_linear(37, 65, 300, 1);
  test_linear(37, 65, 300, 0);
  test_linear(5, 3, 1, 1);  // DCGAN's discriminator head shape class: one output
  test_bad_inputs();
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_ops");
}
