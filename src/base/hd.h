// hd.h: GENET_HD marks a `static inline` function that host and device code both compile, so
// a CPU loop and a CUDA kernel run the same arithmetic (core's Philox in rng.h, the ops' per-
// element math in base/elementwise.h). Under nvcc it is __host__ __device__, elsewhere nothing.
#pragma once

#ifdef __CUDACC__
#define GENET_HD __host__ __device__
#else
#define GENET_HD
#endif
