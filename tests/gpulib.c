// gpulib.c: see gpulib.h.
#include "gpulib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "testlib.h"
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_ctx.h"
#include "kernels/cuda_mem.h"
#endif

#ifdef GENET_HAVE_CUDA
void gpu_test_begin(const char *name, Ctx *gpu, Ctx *cpu) {
  char why[256];
  if (cuda_device_count(why, sizeof why) == 0) {
    printf("SKIP %s: no usable CUDA device (%s); this test runs on a GPU machine (scripts/gpu-check.sh)\n",
           name, why);
    exit(GPU_SKIP);
  }
  ctx_init(cpu, DEV_CPU, 0);
  ctx_init(gpu, DEV_CUDA, 0);
  cuda_ctx_set_tf32(gpu->cuda, 0);
}

void gpu_set_tf32(Ctx *gpu, int on) { cuda_ctx_set_tf32(gpu->cuda, on); }

float *gpu_upload(Ctx *gpu, const float *x, size_t n) {
  float *d = cuda_alloc_zeroed(n * sizeof(float));
  cuda_copy(gpu->cuda, d, 1, x, 0, n * sizeof(float));
  return d;
}

int32_t *gpu_upload_i32(Ctx *gpu, const int32_t *x, size_t n) {
  int32_t *d = (int32_t *)cuda_alloc_zeroed(n * sizeof(int32_t));
  cuda_copy(gpu->cuda, d, 1, x, 0, n * sizeof(int32_t));
  return d;
}

float *gpu_nan(Ctx *gpu, size_t n) {
  float *h = xmalloc(n * sizeof(float) + 1);
  for (size_t i = 0; i < n; i++) h[i] = NAN;
  float *d = gpu_upload(gpu, h, n);
  free(h);
  return d;
}

void gpu_download(Ctx *gpu, float *dst, const float *dev, size_t n) {
  cuda_copy(gpu->cuda, dst, 0, dev, 1, n * sizeof(float));
}

void gpu_free(void *dev) { cuda_free(dev); }
#else
void gpu_test_begin(const char *name, Ctx *gpu, Ctx *cpu) {
  (void)gpu;
  (void)cpu;
  printf("SKIP %s: this genet was built without CUDA (GENET_CUDA=OFF or no toolkit)\n", name);
  exit(GPU_SKIP);
}
void gpu_set_tf32(Ctx *gpu, int on) { (void)gpu, (void)on; }
float *gpu_upload(Ctx *gpu, const float *x, size_t n) { (void)gpu, (void)x, (void)n; return NULL; }
int32_t *gpu_upload_i32(Ctx *gpu, const int32_t *x, size_t n) { (void)gpu, (void)x, (void)n; return NULL; }
float *gpu_nan(Ctx *gpu, size_t n) { (void)gpu, (void)n; return NULL; }
void gpu_download(Ctx *gpu, float *dst, const float *dev, size_t n) { (void)gpu, (void)dst, (void)dev, (void)n; }
void gpu_free(void *dev) { (void)dev; }
#endif

void gpu_test_end(Ctx *gpu, Ctx *cpu) {
  ctx_free(gpu);
  ctx_free(cpu);
}

int gpu_check_close(Ctx *gpu, const char *what, const float *dev, const float *want, size_t n,
                    double K, double rtol) {
  float *got = xmalloc(n * sizeof(float) + 4);
  gpu_download(gpu, got, dev, n);
  int ok = check_close(what, got, want, n, K, rtol);
  size_t differ = 0;
  for (size_t i = 0; i < n; i++) differ += memcmp(&got[i], &want[i], sizeof(float)) != 0;
  printf("     %zu of %zu elements differ from the CPU's bits\n", differ, n);
  free(got);
  return ok;
}

int gpu_same_bits(Ctx *gpu, const float *a, const float *b, size_t n) {
  float *ha = xmalloc(n * sizeof(float) + 4), *hb = xmalloc(n * sizeof(float) + 4);
  gpu_download(gpu, ha, a, n);
  gpu_download(gpu, hb, b, n);
  int same = memcmp(ha, hb, n * sizeof(float)) == 0;
  free(ha), free(hb);
  return same;
}

int gpu_run_self(const char *arg, char *out, size_t len) {
  char self[1024], cmd[1200];
  out[0] = 0;
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    snprintf(out, len, "readlink /proc/self/exe failed: cannot run the case");
    return -1;
  }
  self[n] = 0;
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", self, arg);
  FILE *f = popen(cmd, "r");
  size_t got = f ? fread(out, 1, len - 1, f) : 0;
  out[got] = 0;
  int st = f ? pclose(f) : -1;
  char *nl = strrchr(out, '\n');
  if (nl && nl[1] == 0) *nl = 0;
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
