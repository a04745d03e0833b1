// bench_layers.c: genet side of scripts/bench/layers.sh. For each case of layers.cases,
// the median wall time of forward + backward (all gradients), printed as `NAME MS`.
// Usage: bench_layers CASES [REPS]
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx.h"
#include "core/rng.h"
#include "core/util.h"

typedef struct {
  char name[64], kind[16];
  int a[10], na;
} Case;

static double now_ms(void) { return 1e3 * now_s(); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *randbuf(size_t n, uint64_t seed) {
  float *p = xmalloc_floats(n);
  Rng r;
  rng_init(&r, seed, 0);
  rng_fill_normal(&r, p, n, 0.0f, 1.0f);
  return p;
}

// One forward+backward of a case; the state (buffers) lives in the Bench struct.
typedef struct Bench Bench;
typedef void (*RunFn)(Ctx *ctx, Bench *b);
struct Bench {
  const Case *c;
  float *buf[12];
  void *extra;
};

#include "bench_cases.h"

int main(int argc, char **argv) {
  if (argc < 2) genet_die("usage: bench_layers CASES [REPS]");
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  FILE *f = fopen(argv[1], "r");
  if (!f) genet_die("%s: cannot open", argv[1]);
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, 0);
  const dnnl_version_t *v = dnnl_version();
  printf("# genet: oneDNN %d.%d.%d (dnnl_sgemm and primitives, CPU ISA %d), %d OpenMP threads\n",
         v->major, v->minor, v->patch, (int)dnnl_get_effective_cpu_isa(), omp_get_max_threads());
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    Case c = {0};
    int off = 0;
    if (sscanf(line, "%63s %15s%n", c.name, c.kind, &off) != 2) continue;
    char *p = line + off;
    int used;
    while (c.na < 10 && sscanf(p, "%d%n", &c.a[c.na], &used) == 1) {
      c.na++;
      p += used;
    }
    Bench b = {.c = &c};
    RunFn run = bench_setup(&ctx, &b);
    if (!run) genet_die("%s: unknown case kind '%s' for %s", argv[1], c.kind, c.name);
    run(&ctx, &b);  // warm-up: primitives are created here
    double *t = xmalloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
      double t0 = now_ms();
      run(&ctx, &b);
      t[r] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    printf("%s %.3f\n", c.name, t[reps / 2]);
    fflush(stdout);
    free(t);
    for (int i = 0; i < 12; i++) free(b.buf[i]);
    free(b.extra);
  }
  fclose(f);
  ctx_free(&ctx);
  return 0;
}
