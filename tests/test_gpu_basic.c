// test_gpu_basic.c (label gpu): the CUDA ops genet has had since the start, against the CPU
// ones on random inputs: x *= s (exact), the four activations forward and backward (the shared per-element
// functions of src/base/elementwise.h, so equal up to the device's libm: 1e-5), GEMM in its
// four transpose cases (1e-5 of testlib's rule with K the inner length, in precision fp32 and in
// tf32 alike: tf32 reaches cuDNN only, GEMMs stay FP32 as PyTorch's defaults), and the copies:
// a read back larger than the context's 4 MiB pinned buffer (chunks and a partial last one)
// and a device-to-device ctx_copy the host does not wait for, read back bit for bit.
// Device outputs start as NaN, so an element a kernel never writes fails.
#include <stdio.h>
#include <stdlib.h>

#include "gpulib.h"
#include "ops/activations.h"
#include "ops/gemm.h"
#include "ops/scale.h"
#include "testlib.h"

static Ctx gpu, cpu;

static void test_activations(void) {
  const size_t n = 100003;  // not a multiple of a block
  float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *dx = malloc(n * 4);
  float *got = malloc(n * 4);
  fill_uniform(x, n, -6.0f, 6.0f, 1);
  fill_uniform(dy, n, -1.0f, 1.0f, 2);
  const char *names[] = {"relu", "leaky_relu", "tanh", "sigmoid"};
  for (int k = 0; k < 4; k++) {
    act_forward(&cpu, (ActKind)k, 0.2f, y, x, n);
    act_backward(&cpu, (ActKind)k, 0.2f, dx, dy, y, n);
    float *dX = gpu_upload(&gpu, x, n), *dDY = gpu_upload(&gpu, dy, n), *dY = gpu_nan(&gpu, n);
    float *dDX = gpu_nan(&gpu, n);
    act_forward(&gpu, (ActKind)k, 0.2f, dY, dX, n);
    act_backward(&gpu, (ActKind)k, 0.2f, dDX, dDY, dY, n);
    char what[64];
    gpu_download(&gpu, got, dY, n);
    snprintf(what, sizeof what, "%s forward", names[k]);
    check_close(what, got, y, n, 1, 1e-5);
    gpu_download(&gpu, got, dDX, n);
    snprintf(what, sizeof what, "%s backward", names[k]);
    check_close(what, got, dx, n, 1, 1e-5);
    gpu_free(dX), gpu_free(dDY), gpu_free(dY), gpu_free(dDX);
  }
  free(x), free(dy), free(y), free(dx), free(got);
}

static void test_gemm(int tf32) {
  const int M = 67, N = 45, K = 131;
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C = malloc(sizeof(float) * M * N), *got = malloc(sizeof(float) * M * N);
  fill_uniform(A, (size_t)M * K, -1.0f, 1.0f, 3);
  fill_uniform(B, (size_t)K * N, -1.0f, 1.0f, 4);
  gpu_set_tf32(&gpu, tf32);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      int lda = ta ? M : K, ldb = tb ? K : N;
      fill_uniform(C, (size_t)M * N, -1.0f, 1.0f, 5);
      float *dA = gpu_upload(&gpu, A, (size_t)M * K), *dB = gpu_upload(&gpu, B, (size_t)K * N);
      float *dC = gpu_upload(&gpu, C, (size_t)M * N);
      gemm(&cpu, ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, N);
      gemm(&gpu, ta, tb, M, N, K, 0.5f, dA, lda, dB, ldb, 0.25f, dC, N);
      gpu_download(&gpu, got, dC, (size_t)M * N);
      char what[64];
      snprintf(what, sizeof what, "gemm %c%c %s", ta ? 'T' : 'N', tb ? 'T' : 'N', tf32 ? "tf32" : "fp32");
      check_close(what, got, C, (size_t)M * N, K, 1e-5);  // FP32 GEMMs in tf32 too
      gpu_free(dA), gpu_free(dB), gpu_free(dC);
    }
  gpu_set_tf32(&gpu, 0);
  free(A), free(B), free(C), free(got);
}

// x *= s: one multiply per element, exact on both sides.
static void test_scale(void) {
  const size_t n = 70001;
  float *x = malloc(n * 4), *got = malloc(n * 4);
  fill_uniform(x, n, -3.0f, 3.0f, 6);
  float *dX = gpu_upload(&gpu, x, n);
  scale_inplace(&cpu, x, n, 0.25f);
  scale_inplace(&gpu, dX, n, 0.25f);
  gpu_download(&gpu, got, dX, n);
  check_close("scale_inplace", got, x, n, 1, 0);
  gpu_free(dX);
  free(x), free(got);
}

// Reads through the pinned buffer (kernels/cuda_mem.cu, cuda_read_back): 2 full 4 MiB chunks
// and a partial one; the source is written by a ctx_copy (queued, not waited for) after a
// kernel, so the read must come after both on the stream.
static void test_copies(void) {
  const size_t n = 2 * ((size_t)1 << 20) + 12345;  // floats: 8 MiB + 49380 bytes
  float *x = malloc(n * 4), *got = malloc(n * 4);
  fill_uniform(x, n, -1.0f, 1.0f, 7);
  float *dX = gpu_upload(&gpu, x, n), *dY = gpu_nan(&gpu, n);
  scale_inplace(&gpu, dX, n, 2.0f);
  ctx_copy(&gpu, dY, dX, n * 4);
  for (size_t i = 0; i < n; i++) x[i] *= 2.0f;
  gpu_download(&gpu, got, dY, n);
  check_close("ctx_copy then a read back of 2 chunks and a part", got, x, n, 1, 0);
  ctx_download(&gpu, got, dY, 0);  // zero bytes: a no-op that still waits
  gpu_free(dX), gpu_free(dY);
  free(x), free(got);
}

int main(void) {
  gpu_test_begin("gpu_basic", &gpu, &cpu);
  test_activations();
  test_scale();
  test_gemm(0);
  test_gemm(1);
  test_copies();
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_basic");
}
