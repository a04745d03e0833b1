// test_dispatch.c: what src/core/dispatch.h promises, checked without a GPU. A context marked
// DEV_CUDA by hand (ctx_init would need a GPU) stands for a GPU run: an op without a CUDA
// version dies in one line naming it, an op with one takes its CUDA arm (or, in a build
// without CUDA, dies saying so), and a composite runs on whatever its parts run on. On the
// CPU each form runs the CPU arm exactly once. tests/test_dispatch.sh checks that every op in
// src/ops is written in one of these forms.
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dispatch.h"
#include "ops/convplan.h"
#include "ops/gram.h"
#include "testlib.h"

// ---- probe ops, written as src/ops writes its ops
static int cpu_calls, cuda_calls;

static int both_cpu(Ctx *ctx, int x) { cpu_calls++; return x + 1; }
#ifdef GENET_HAVE_CUDA
static int both_cuda(CudaCtx *c, int x) { cuda_calls++; return -x; }
#endif
static int probe_both(Ctx *ctx, int x) {
  return DISPATCH(ctx, both_cpu(ctx, x), both_cuda(ctx->cuda, x));
}

static void cpu_only_cpu(Ctx *ctx, int *out) { cpu_calls++; *out = 7; }
static void probe_cpu_only(Ctx *ctx, int *out) { DISPATCH_CPU(ctx, cpu_only_cpu(ctx, out)); }

static int any_any(Ctx *ctx, int x) { return probe_both(ctx, x) * 2; }
static int probe_any(Ctx *ctx, int x) { return DISPATCH_ANY(ctx, any_any(ctx, x)); }

// ---- death checks: run fn in a child, expect exit status 1 and exactly `want` on stderr.
typedef void (*Body)(Ctx *ctx);

static void expect_death(const char *what, Ctx *ctx, Body fn, const char *want) {
  int fd[2];
  GENET_ASSERT(pipe(fd) == 0);
  fflush(stdout);
  pid_t pid = fork();
  GENET_ASSERT(pid >= 0);
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], 2);
    fn(ctx);
    _exit(0);  // reached only when the op did not die
  }
  close(fd[1]);
  char err[512] = {0};
  size_t got = 0;
  ssize_t r;
  while (got < sizeof err - 1 && (r = read(fd[0], err + got, sizeof err - 1 - got)) > 0)
    got += (size_t)r;
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int ok = code == 1 && strcmp(err, want) == 0;
  test_check(ok, "%s: exit %d, stderr \"%.*s\"%s%.*s%s", what, code, (int)strcspn(err, "\n"), err,
             ok ? "" : " (want exit 1, \"", ok ? 0 : (int)strcspn(want, "\n"), want, ok ? "" : "\")");
}

static void call_cpu_only(Ctx *ctx) {
  int out;
  probe_cpu_only(ctx, &out);
}
#ifndef GENET_HAVE_CUDA
static void call_both(Ctx *ctx) { (void)probe_both(ctx, 1); }
static void call_any(Ctx *ctx) { (void)probe_any(ctx, 1); }
static void call_gram(Ctx *ctx) {
  float G[1], F[1] = {1.0f};
  gram_forward(ctx, G, F, 1, 1, 1);
}
#endif
// A real op that is CPU only by design (oneDNN); its arguments are never read.
static void call_convplan(Ctx *ctx) {
  ConvShape s = {CONVPLAN_CONV, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0.0f};
  convplan_forward(ctx, &s, NULL, NULL, NULL, NULL);
}

int main(void) {
  Ctx cpu;
  ctx_init(&cpu, DEV_CPU, 1);
  Ctx gpu = {.dev = DEV_CUDA};  // no CudaCtx: only the dispatch itself may run with it

  // CPU: every form runs the CPU arm once and nothing else.
  cpu_calls = cuda_calls = 0;
  int v = probe_both(&cpu, 41);
  test_check(v == 42 && cpu_calls == 1 && cuda_calls == 0,
             "DISPATCH on the CPU: CPU arm once (value %d, %d CPU / %d CUDA calls)", v, cpu_calls,
             cuda_calls);
  int out = 0;
  cpu_calls = 0;
  probe_cpu_only(&cpu, &out);
  test_check(out == 7 && cpu_calls == 1, "DISPATCH_CPU on the CPU: CPU arm once (%d calls)",
             cpu_calls);
  cpu_calls = cuda_calls = 0;
  v = probe_any(&cpu, 41);
  test_check(v == 84 && cpu_calls == 1 && cuda_calls == 0,
             "DISPATCH_ANY on the CPU: runs its parts on the CPU (value %d)", v);

  // CUDA: before any CUDA context exists.
  expect_death("DISPATCH_CPU on CUDA", &gpu, call_cpu_only,
               "genet: op probe_cpu_only has no CUDA implementation yet\n");
  expect_death("convplan_forward on CUDA", &gpu, call_convplan,
               "genet: op convplan_forward has no CUDA implementation yet\n");
#ifdef GENET_HAVE_CUDA
  cpu_calls = cuda_calls = 0;
  v = probe_both(&gpu, 5);
  test_check(v == -5 && cpu_calls == 0 && cuda_calls == 1,
             "DISPATCH on CUDA: CUDA arm once (value %d, %d CPU / %d CUDA calls)", v, cpu_calls,
             cuda_calls);
  cpu_calls = cuda_calls = 0;
  v = probe_any(&gpu, 5);
  test_check(v == -10 && cpu_calls == 0 && cuda_calls == 1,
             "DISPATCH_ANY on CUDA: runs its parts on CUDA (value %d)", v);
#else
  expect_death("DISPATCH on CUDA, built without", &gpu, call_both,
               "genet: op probe_both runs on CUDA, but this genet was built without CUDA\n");
  expect_death("DISPATCH_ANY on CUDA, built without", &gpu, call_any,
               "genet: op probe_both runs on CUDA, but this genet was built without CUDA\n");
  expect_death("gram_forward (GEMMs) on CUDA, built without", &gpu, call_gram,
               "genet: op gemm runs on CUDA, but this genet was built without CUDA\n");
#endif
  ctx_free(&cpu);
  return test_finish("dispatch");
}
