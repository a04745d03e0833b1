// gpulib.h: what the GPU tests (tests/test_gpu_*.c, ctest label gpu) share. Without a GPU, or
// in a build without CUDA, gpu_test_begin prints one line saying the test is skipped and why
// and exits GPU_SKIP, which ctest reports as skipped, never as passed. With one, the test runs
// each op on a CUDA context and on the CPU from the same random inputs and compares them with
// testlib's rule; device outputs start as NaN, so an element the kernel never writes fails.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

#define GPU_SKIP 77  // ctest's SKIP_RETURN_CODE for the gpu tests

// Makes *cpu (DEV_CPU) and *gpu (DEV_CUDA on device 0, fp32 math: no TF32, so the 1e-5
// comparisons hold) or exits GPU_SKIP with "SKIP <name>: <why>".
void gpu_test_begin(const char *name, Ctx *gpu, Ctx *cpu);
void gpu_test_end(Ctx *gpu, Ctx *cpu);
// TF32 on or off for the following ops (the tf32 checks use a looser bound).
void gpu_set_tf32(Ctx *gpu, int on);

// Device copies of host arrays, device buffers full of NaN, and back; free with gpu_free.
float *gpu_upload(Ctx *gpu, const float *x, size_t n);
int32_t *gpu_upload_i32(Ctx *gpu, const int32_t *x, size_t n);
float *gpu_nan(Ctx *gpu, size_t n);
void gpu_download(Ctx *gpu, float *dst, const float *dev, size_t n);
void gpu_free(void *dev);
// dev (n floats, downloaded) against want (host) by testlib's check_close; also prints how many
// elements differ from want's bits. Returns check_close's result.
int gpu_check_close(Ctx *gpu, const char *what, const float *dev, const float *want, size_t n,
                    double K, double rtol);
// 1 when the device buffers a and b (n floats) hold the same bits.
int gpu_same_bits(Ctx *gpu, const float *a, const float *b, size_t n);
// Runs this test binary again as a child with one argument (a case that must die: genet_die
// exits), its stdout and stderr into out (len bytes, the last newline dropped). Returns the
// child's exit status, or -1 when it could not run or was killed by a signal.
int gpu_run_self(const char *arg, char *out, size_t len);
