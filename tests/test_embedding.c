// test_embedding.c: Embedding against PyTorch (repeated indices), finite differences of the
// table gradient, the threaded backward against a serial scatter, and the range check.
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/embedding.h"
#include "testlib.h"

static Ctx ctx;

typedef struct {
  const int32_t *idx;
  const float *table, *r;
  float *y;
  int n, V, D;
} EmbArg;

static double emb_loss(void *p) {
  EmbArg *a = p;
  embedding_forward(&ctx, a->y, a->idx, a->table, a->n, a->V, a->D);
  return dot_d(a->y, a->r, (size_t)a->n * a->D);
}

static void emb_case(Fixture *fx, int c) {
  char g[32], k[96], what[96];
  snprintf(g, sizeof g, "emb/case%d", c);
  int V = (int)fx_attr_int(fx, g, "V"), D = (int)fx_attr_int(fx, g, "D"),
      T = (int)fx_attr_int(fx, g, "T"), B = (int)fx_attr_int(fx, g, "B"), n = T * B;
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *table = RD("table"), *fidx = RD("idx"), *wy = RD("y"), *dy = RD("dy"), *wdt = RD("dtable");
  int32_t *idx = malloc(sizeof(int32_t) * n);
  for (int i = 0; i < n; i++) idx[i] = (int32_t)fidx[i];
  size_t nt = (size_t)V * D;
  float *y = malloc((size_t)n * D * 4), *dt = malloc(nt * 4);
  embedding_forward(&ctx, y, idx, table, n, V, D);
  snprintf(what, sizeof what, "embedding V=%d D=%d n=%d y", V, D, n);
  check_close(what, y, wy, (size_t)n * D, 1, 0.0);  // a copy: exact
  // Accumulates: start at 1, take it off afterwards.
  for (size_t i = 0; i < nt; i++) dt[i] = 1.0f;
  embedding_backward(&ctx, dt, dy, idx, n, V, D);
  for (size_t i = 0; i < nt; i++) dt[i] -= 1.0f;
  snprintf(what, sizeof what, "embedding V=%d D=%d n=%d dtable (accumulated)", V, D, n);
  check_close(what, dt, wdt, nt, n, RTOL_F32);  // K: repeats of a row, at most n
  memset(dt, 0, nt * 4);
  embedding_backward(&ctx, dt, dy, idx, n, V, D);
  EmbArg a = {idx, table, dy, y, n, V, D};
  snprintf(what, sizeof what, "embedding V=%d D=%d n=%d dL/dtable", V, D, n);
  // L is linear in the table: h = 1 has no truncation error (measured worst 4.5e-8).
  gradcheck(what, emb_loss, &a, table, dt, nt, 1.0, 100, 1e-5);
  free(table); free(fidx); free(wy); free(dy); free(wdt); free(idx); free(y); free(dt);
#undef RD
}

// Large enough for the threaded path (columns split among threads; D not a multiple of 16),
// many repeats; compared with a serial scatter in double.
static void emb_threaded(void) {
  int V = 37, D = 203, n = 900;
  int32_t *idx = malloc(sizeof(int32_t) * n);
  float *dy = malloc((size_t)n * D * 4), *dt = calloc((size_t)V * D, 4), *want = malloc((size_t)V * D * 4);
  double *acc = calloc((size_t)V * D, sizeof(double));
  fill_uniform(dy, (size_t)n * D, -1.0f, 1.0f, 5);
  for (int i = 0; i < n; i++) idx[i] = (int32_t)((i * 7919 + i / 3) % V);
  for (int i = 0; i < n; i++)
    for (int d = 0; d < D; d++) acc[(size_t)idx[i] * D + d] += dy[(size_t)i * D + d];
  for (size_t i = 0; i < (size_t)V * D; i++) want[i] = (float)acc[i];
  embedding_backward(&ctx, dt, dy, idx, n, V, D);
  check_close("embedding V=37 D=203 n=900 threaded dtable", dt, want, (size_t)V * D, n, RTOL_F32);
  free(idx); free(dy); free(dt); free(want); free(acc);
}

// An index outside the vocabulary must stop the program with a non-zero status.
static void emb_out_of_range(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int32_t idx[3] = {0, 5, 2};
    float table[4 * 2] = {0}, y[3 * 2];
    embedding_forward(&ctx, y, idx, table, 3, 4, 2);
    _exit(0);  // not reached when the check works
  }
  int status = 0;
  waitpid(pid, &status, 0);
  test_check(WIFEXITED(status) && WEXITSTATUS(status) != 0,
             "embedding index 5 with vocabulary 4 dies (exit status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  emb_out_of_range();  // first: fork before any OpenMP thread exists
  Fixture fx;
  fx_open(&fx, "embedding.h5");
  for (int c = 0; c < 3; c++) emb_case(&fx, c);
  fx_close(&fx);
  emb_threaded();
  ctx_free(&ctx);
  return test_finish("embedding");
}
