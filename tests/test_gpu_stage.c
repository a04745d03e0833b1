// test_gpu_stage.c (label gpu): double-buffered batch uploads (src/core/stage.h) keep their
// order when copies and kernels overlap. Each round i puts the value i into a slot's host
// memory, sends it, and queues a slow GEMM (about a millisecond, on scratch) and then
// y += slot on the context's stream; the next round's batch is staged while both are still
// queued, as the DCGAN step prefetches. The GEMM keeps the device behind the host, so copies,
// kernels and host writes really overlap. If a copy overwrote a slot that a queued add still
// read, or an add read a slot before its copy, or the host refilled a slot under its copy,
// some element of y would differ from 0 + 1 + ... + (R - 1), exact in float (closed form).
// The same rounds on the CPU (without the GEMM) must give it too.
// Last, the host's wait for the device gives up after collective_timeout: a child process
// with a 0.2 s timeout queues about a second of GEMMs and waits; it must die within seconds
// with the timeout's message (the wait a hung NCCL peer would otherwise make endless).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stage.h"
#include "core/util.h"
#include "gpulib.h"
#include "ops/add.h"
#include "ops/gemm.h"
#include "testlib.h"

enum { ROUNDS = 200, G = 2048 };
static const size_t N = (size_t)1 << 20;  // floats per slot

static void fill(Stage *st, int64_t round) {
  int slot = (int)(round % STAGE_SLOTS);
  float *h = stage_host(st, slot);
  for (size_t j = 0; j < N; j++) h[j] = (float)round;
  stage_send(st, slot, sizeof(float) * N);
  st->tag[slot] = round;
}

// y (on ctx's device) += every round's value, staged one round ahead; slow: a GEMM on
// scratch (G x G) before each add, or nothing.
static void rounds(Ctx *ctx, float *y, float *slow) {
  Stage st;
  stage_init(&st, ctx, sizeof(float) * N);
  for (int64_t i = 0; i < ROUNDS; i++) {
    int slot = (int)(i % STAGE_SLOTS);
    if (st.tag[slot] != i) fill(&st, i);  // the first round only
    const float *x = stage_use(&st, slot);
    if (slow) gemm(ctx, 0, 0, G, G, G, 1.0f, slow, G, slow + (size_t)G * G, G, 0.0f, slow + 2 * (size_t)G * G, G);
    add_inplace(ctx, y, x, N, 1.0f);
    if (i + 1 < ROUNDS) fill(&st, i + 1);
  }
  stage_free(&st);
}

static void check_sum(const char *what, const float *y) {
  const float want = (float)(ROUNDS * (ROUNDS - 1) / 2);
  size_t bad = 0, first = 0;
  for (size_t j = 0; j < N; j++)
    if (y[j] != want && bad++ == 0) first = j;
  test_check(bad == 0, "%s: every element is %g (%zu differ, first [%zu] = %g)", what, (double)want,
             bad, first, bad ? (double)y[first] : (double)want);
}

// The child: queues about a second of GEMMs, then waits with a 0.2 s timeout.
static int run_hang(Ctx *gpu) {
  const int H = 4096;  // 137 GFLOP a GEMM: 500 of them take over a second on any GPU today
  float *slow = ctx_alloc(gpu, sizeof(float) * 3 * H * H);
  ctx_set_timeout(gpu, 0.2);
  for (int i = 0; i < 500; i++)
    gemm(gpu, 0, 0, H, H, H, 1.0f, slow, H, slow + (size_t)H * H, H, 0.0f, slow + 2 * (size_t)H * H, H);
  ctx_sync(gpu);
  printf("the wait returned without the timeout\n");
  return 0;
}

static void test_timeout(void) {
  char out[4096];
  double t0 = now_s();
  int died = gpu_run_self("--hang", out, sizeof out) > 0;
  double secs = now_s() - t0;
  const char *want = "did not finish within collective_timeout = 0.2 s";
  test_check(died && strstr(out, want) && secs < 10,
             "a wait past collective_timeout dies in %.1f s: \"%s\" (wanted \"%s\")", secs, out, want);
}

int main(int argc, char **argv) {
  Ctx gpu, cpu;
  gpu_test_begin("gpu_stage", &gpu, &cpu);
  if (argc > 1 && !strcmp(argv[1], "--hang")) return run_hang(&gpu);
  float *y = calloc(N, sizeof(float)), *dy = ctx_alloc(&gpu, sizeof(float) * N);
  float *slow = ctx_alloc(&gpu, sizeof(float) * 3 * G * G);
  rounds(&cpu, y, NULL);
  check_sum("CPU rounds", y);
  rounds(&gpu, dy, slow);
  ctx_download(&gpu, y, dy, sizeof(float) * N);
  check_sum("GPU rounds, copies overlapping the queued GEMMs and adds", y);
  ctx_release(&gpu, dy);
  ctx_release(&gpu, slow);
  free(y);
  test_timeout();
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_stage");
}
