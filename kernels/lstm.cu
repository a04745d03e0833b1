// lstm.cu: the CUDA versions of the small ops the LSTM (src/ops/lstm.c) is built from; its
// GEMMs are gemm_cuda's and its loops over layers and steps are lstm.c's, run once for both
// devices. The cell kernels call the functions of src/base/lstm_cell.h that the CPU loops call.
// One thread per element (grid-stride loops); pointers are device memory, on c->stream.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"  // EW_THREADS, ew_blocks: the launch shape genet's kernels share
#include "base/lstm_cell.h"

static unsigned lstm_blocks(size_t n) { return ew_blocks(n, 65535); }

// ---- copies

extern "C" void lstm_fill_cuda(CudaCtx *c, float *dst, const float *src, size_t n) {
  if (src)
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, c->stream));
  else
    CUDA_CHECK(cudaMemsetAsync(dst, 0, n * sizeof(float), c->stream));
}

static __global__ void lstm_add_kernel(float *y, const float *x, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    y[i] += x[i];
}

extern "C" void lstm_add_cuda(CudaCtx *c, float *y, const float *x, size_t n) {
  lstm_add_kernel<<<lstm_blocks(n), EW_THREADS, 0, c->stream>>>(y, x, n);
  CUDA_CHECK_LAUNCH();
}

// ---- biases

// Every row of G (R, C) = b_ih + b_hh.
static __global__ void lstm_bias_rows_kernel(float *G, const float *b_ih, const float *b_hh, int R,
                                             int C) {
  size_t n = (size_t)R * C;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    int j = (int)(i % (size_t)C);
    G[i] = b_ih[j] + b_hh[j];
  }
}

extern "C" void lstm_bias_rows_cuda(CudaCtx *c, float *G, const float *b_ih, const float *b_hh,
                                    int R, int C) {
  lstm_bias_rows_kernel<<<lstm_blocks((size_t)R * C), EW_THREADS, 0, c->stream>>>(
      G, b_ih, b_hh, R, C);
  CUDA_CHECK_LAUNCH();
}

// One thread per column: the column of dG (R, C) summed in float from row 0 up, the order of
// the CPU loop, then added (+=) to both bias gradients. Neighbouring threads read neighbouring
// columns of a row, so the reads coalesce.
static __global__ void lstm_bias_grad_kernel(float *db_ih, float *db_hh, const float *dG, int R,
                                             int C) {
  for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < C; j += gridDim.x * blockDim.x) {
    float acc = 0.0f;
    for (int r = 0; r < R; r++) acc += dG[(size_t)r * C + j];
    db_ih[j] += acc;
    db_hh[j] += acc;
  }
}

extern "C" void lstm_bias_grad_cuda(CudaCtx *c, float *db_ih, float *db_hh, const float *dG, int R,
                                    int C) {
  lstm_bias_grad_kernel<<<lstm_blocks((size_t)C), EW_THREADS, 0, c->stream>>>(
      db_ih, db_hh, dG, R, C);
  CUDA_CHECK_LAUNCH();
}

// ---- the cells of one step: element k = b * H + j of (B, H); its gates are row b of the
// (B, 4H) gate matrix, at columns j, H + j, 2H + j, 3H + j (i, f, g, o).

static __global__ void lstm_step_fwd_kernel(float *G, const float *cprev, float *c, float *tc,
                                            float *h, int B, int H) {
  size_t n = (size_t)B * H;
  for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < n;
       k += (size_t)gridDim.x * blockDim.x) {
    size_t b = k / (size_t)H, j = k % (size_t)H;
    float *g = G + b * 4 * (size_t)H + j;
    lstm_cell_fwd(&g[0], &g[H], &g[2 * H], &g[3 * H], cprev[k], &c[k], &tc[k], &h[k]);
  }
}

extern "C" void lstm_step_fwd_cuda(CudaCtx *c, float *G, const float *cprev, float *cc, float *tc,
                                   float *h, int B, int H) {
  lstm_step_fwd_kernel<<<lstm_blocks((size_t)B * H), EW_THREADS, 0, c->stream>>>(
      G, cprev, cc, tc, h, B, H);
  CUDA_CHECK_LAUNCH();
}

// dc: dL/dc of this step in, dL/dc_prev out (each element read and written by its own thread).
static __global__ void lstm_step_bwd_kernel(float *dG, float *dc, const float *G,
                                            const float *cprev, const float *tc, const float *dh,
                                            int B, int H) {
  size_t n = (size_t)B * H;
  for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < n;
       k += (size_t)gridDim.x * blockDim.x) {
    size_t b = k / (size_t)H, j = k % (size_t)H, row = b * 4 * (size_t)H + j;
    const float *g = G + row;
    float *dg = dG + row;
    lstm_cell_bwd(g[0], g[H], g[2 * H], g[3 * H], cprev[k], tc[k], dh[k], dc[k], &dg[0], &dg[H],
                  &dg[2 * H], &dg[3 * H], &dc[k]);
  }
}

extern "C" void lstm_step_bwd_cuda(CudaCtx *c, float *dG, float *dc, const float *G,
                                   const float *cprev, const float *tc, const float *dh, int B,
                                   int H) {
  lstm_step_bwd_kernel<<<lstm_blocks((size_t)B * H), EW_THREADS, 0, c->stream>>>(
      dG, dc, G, cprev, tc, dh, B, H);
  CUDA_CHECK_LAUNCH();
}
