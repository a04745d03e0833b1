// cuda_ops.h: the CUDA implementations of genet's ops. Same signatures as the CPU ops in src/,
// with the CudaCtx (stream, handles) in place of Ctx. Pointers are device memory.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/philox.h"  // Rng: dropout's stream, host state passed by pointer
#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

void gemm_cuda(CudaCtx *c, int transa, int transb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void act_forward_cuda(CudaCtx *c, int kind, float slope, float *y, const float *x, size_t n);
void act_backward_cuda(CudaCtx *c, int kind, float slope, float *dx, const float *dy,
                       const float *y, size_t n);

// x *= s (src/ops/scale.h)
void scale_inplace_cuda(CudaCtx *c, float *x, size_t n, float s);
// y += x / d (src/ops/add.h)
void add_inplace_cuda(CudaCtx *c, float *y, const float *x, size_t n, float d);

// genet's own kernels for what the libraries lack: ids, targets and the Rng are as
// in the CPU ops; ids and targets are device int32. An id or target outside its range, or a
// BCE input outside [0, 1], dies with the CPU op's message (checked on the device, read back
// once per call). Scalar results are reduced on the device.
void dropout_forward_cols_cuda(CudaCtx *c, float *y, float *mask, const float *x, int T, int B,
                               int Bg, int b0, int D, float p, Rng *rng);
void dropout_backward_cuda(CudaCtx *c, float *dx, const float *dy, const float *mask, size_t n);
void embedding_forward_cuda(CudaCtx *c, float *y, const int32_t *idx, const float *table, int n,
                            int V, int D);
void embedding_backward_cuda(CudaCtx *c, float *dtable, const float *dy, const int32_t *idx, int n,
                             int V, int D);
double cross_entropy_forward_cuda(CudaCtx *c, float *lse, const float *logits,
                                  const int32_t *targets, int N, int V);
void cross_entropy_backward_cuda(CudaCtx *c, float *dlogits, const float *logits, const float *lse,
                                 const int32_t *targets, float dloss, int N, int V);
float mse_loss_forward_cuda(CudaCtx *c, const float *x, const float *t, size_t n);
void mse_loss_backward_cuda(CudaCtx *c, float *dx, const float *x, const float *t, size_t n,
                            float dloss);
float bce_loss_forward_cuda(CudaCtx *c, const float *p, const float *t, size_t n);
void bce_loss_backward_cuda(CudaCtx *c, float *dp, const float *p, const float *t, size_t n,
                            float dloss);
void linear_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w, const float *b,
                         int N, int in, int out);
void linear_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, int N, int in, int out);
// ---- cuDNN convolutions (conv.cu, conv_transpose.cu), BatchNorm and max pooling (batchnorm.cu,
// pool.cu): the ops of src/ops/{conv,conv_transpose,batchnorm,pool}.h, same arguments and
// semantics (parameter gradients +=, input gradients =). maxpool2d's workspace on CUDA is one
// int32 argmax per output element.
void conv2d_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w, const float *b,
                         int N, int Cin, int H, int W, int Cout, int K, int stride, int pad);
void conv2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, int N, int Cin, int H, int W, int Cout,
                          int K, int stride, int pad);
void conv_transpose2d_forward_cuda(CudaCtx *c, float *y, const float *x, const float *w,
                                   const float *b, int N, int Cin, int H, int W, int Cout, int K,
                                   int stride, int pad);
void conv_transpose2d_backward_cuda(CudaCtx *c, float *dx, float *dw, float *db, const float *dy,
                                    const float *x, const float *w, int N, int Cin, int H, int W,
                                    int Cout, int K, int stride, int pad);
void batchnorm_forward_cuda(CudaCtx *c, float *y, float *save_mean, float *save_var,
                            float *running_mean, float *running_var, const float *x,
                            const float *weight, const float *bias, int N, int C, int H, int W,
                            int training, float momentum, float eps);
void batchnorm_backward_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias, const float *dy,
                             const float *x, const float *save_mean, const float *save_var,
                             const float *weight, int N, int C, int H, int W, int training,
                             float eps);
size_t maxpool2d_workspace_size_cuda(CudaCtx *c, int N, int C, int H, int W, int K, int stride);
void maxpool2d_forward_cuda(CudaCtx *c, float *y, void *ws, const float *x, int N, int C, int H,
                            int W, int K, int stride);
void maxpool2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, const void *ws, int N, int C,
                             int H, int W, int K, int stride);

// ---- the LSTM's pieces (kernels/lstm.cu; the loops are src/ops/lstm.c's) and the
// optimizers' element loops and gradient norm (kernels/optim.cu; the scalars are computed on
// the host by src/optim/*.c and passed by value).
void lstm_fill_cuda(CudaCtx *c, float *dst, const float *src, size_t n);  // src NULL: zeros
void lstm_add_cuda(CudaCtx *c, float *y, const float *x, size_t n);
void lstm_bias_rows_cuda(CudaCtx *c, float *G, const float *b_ih, const float *b_hh, int R, int C);
void lstm_bias_grad_cuda(CudaCtx *c, float *db_ih, float *db_hh, const float *dG, int R, int C);
void lstm_step_fwd_cuda(CudaCtx *c, float *G, const float *cprev, float *cc, float *tc, float *h,
                        int B, int H);
void lstm_step_bwd_cuda(CudaCtx *c, float *dG, float *dc, const float *G, const float *cprev,
                        const float *tc, const float *dh, int B, int H);
void sgd_update_cuda(CudaCtx *c, float *param, float *buf, const float *grad, size_t n, float lr,
                     float momentum, float omd, float wd, int use_mom, int first, int nesterov);
void adam_update_cuda(CudaCtx *c, float *param, float *m, float *v, const float *grad, size_t n,
                      float beta1, float omb1, float beta2, float omb2, float eps, float wd,
                      float step_size, float bc2_sqrt);
double optim_sumsq_cuda(CudaCtx *c, const float *x, size_t n);  // sum x_i^2 in double
// L-BFGS's vector operations (kernels/lbfgs.cu; the host logic is src/optim/lbfgs.c's): sums in
// double with fixed-order partials, read back once per call.
double lbfgs_dot_cuda(CudaCtx *c, const float *a, const float *b, size_t n);
double lbfgs_asum_cuda(CudaCtx *c, const float *a, size_t n);
float lbfgs_amax_cuda(CudaCtx *c, const float *a, size_t n);  // NaN when any a_i is NaN
// mode 0: sum y.s, mode 1: sum y.y, of y = g - pg and s = d * t rounded to float
double lbfgs_ys_yy_cuda(CudaCtx *c, const float *g, const float *pg, const float *d, float t,
                        size_t n, int mode);
void lbfgs_axpy_cuda(CudaCtx *c, float *x, float a, const float *y, size_t n);  // x += a y
void lbfgs_neg_cuda(CudaCtx *c, float *d, const float *g, size_t n);            // d = -g
// y = g - pg, s = d * t
void lbfgs_pair_cuda(CudaCtx *c, float *y, float *s, const float *g, const float *pg,
                     const float *d, float t, size_t n);

// ---- synchronized BatchNorm's device pieces (kernels/batchnorm.cu), called by the
// host logic in src/ops/batchnorm.c, which sums over the ranks between them. The double arrays
// are DEVICE memory (the context's statistics buffer, ctx_stats): every piece is queued on the
// context's stream and returns without waiting; nothing is downloaded or uploaded.
//   sync_sums: s[c] = sum over channel c of x (mean NULL) or of (x - mean[c])^2.
//   sync_div: s[c] /= gcnt (the global sums become the global means).
//   sync_normalize: y, save_mean, save_var, running stats from the global mean[c] and squared
//     deviations ss[c] over gcnt values.
//   sync_bwd_sums: loc = [sum dy | sum dy (x - ms) | sum (x - ms)] (3 C), ms = save_mean, and
//     glob a copy of loc (queued on the stream, to be summed over the ranks in place).
//   sync_bwd_apply: dweight, dbias (+=) from loc, dx from glob (same layout, over gcnt values).
void batchnorm_sync_sums_cuda(CudaCtx *c, double *s, const float *x, const double *mean, int N,
                              int C, int H, int W);
void batchnorm_sync_div_cuda(CudaCtx *c, double *s, int C, double gcnt);
void batchnorm_sync_normalize_cuda(CudaCtx *c, float *y, float *save_mean, float *save_var,
                                   float *running_mean, float *running_var, const float *x,
                                   const float *weight, const float *bias, const double *mean,
                                   const double *ss, double gcnt, int N, int C, int H, int W,
                                   float momentum, float eps);
void batchnorm_sync_bwd_sums_cuda(CudaCtx *c, double *loc, double *glob, const float *x,
                                  const float *dy, const float *save_mean, int N, int C, int H,
                                  int W);
void batchnorm_sync_bwd_apply_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias,
                                   const float *dy, const float *x, const float *save_mean,
                                   const float *save_var, const float *weight, const double *loc,
                                   const double *glob, double gcnt, int N, int C, int H, int W,
                                   float eps);

// ---- issue 23, fast neural style's ops (kernels/instancenorm.cu, reflection_pad.cu,
// upsample.cu): the ops of src/ops/{instancenorm,reflection_pad,upsample}.h, same arguments and
// semantics (parameter gradients +=, input gradients =).
void instancenorm_forward_cuda(CudaCtx *c, float *y, float *save_mean, float *save_var,
                               const float *x, const float *weight, const float *bias, int N,
                               int C, int H, int W, float eps);
void instancenorm_backward_cuda(CudaCtx *c, float *dx, float *dweight, float *dbias,
                                const float *dy, const float *x, const float *save_mean,
                                const float *save_var, const float *weight, int N, int C, int H,
                                int W, float eps);
void reflection_pad2d_forward_cuda(CudaCtx *c, float *y, const float *x, int N, int C, int H,
                                   int W, int pad);
void reflection_pad2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, int N, int C, int H,
                                    int W, int pad);
void upsample_nearest2d_forward_cuda(CudaCtx *c, float *y, const float *x, int N, int C, int H,
                                     int W, int scale);
void upsample_nearest2d_backward_cuda(CudaCtx *c, float *dx, const float *dy, int N, int C, int H,
                                      int W, int scale);

#ifdef __cplusplus
}
#endif
