// dispatch.h: how an op picks the device it runs on, in one line per op.
//
// Every public op in src/ops takes the Ctx first and is a thin entry whose whole body is one
// of three forms (tests/test_dispatch.sh keeps it so):
//
//   DISPATCH(ctx, foo_cpu(ctx, args...), foo_cuda(ctx->cuda, args...));
//       both backends exist: foo_cpu is a static function beside the entry, foo_cuda is
//       declared in kernels/cuda_ops.h and defined in kernels/foo.cu.
//   DISPATCH_CPU(ctx, foo_cpu(ctx, args...));
//       no CUDA version yet: a CUDA context dies with one line naming the op.
//   DISPATCH_ANY(ctx, foo_any(ctx, args...));
//       a composite written only in terms of other dispatched ops (Gram = GEMMs): it runs on
//       whatever device those ops run on, so it has no per-device body of its own.
//
// A value-returning op writes `return DISPATCH(...)`. Adding a CUDA op is: write kernels/foo.cu,
// declare foo_cuda in kernels/cuda_ops.h, and turn the op's DISPATCH_CPU line into DISPATCH.
// Models and tasks only ever call the entry, so they do not change.
//
// Why a macro per op rather than ggml's design: ggml's backend interface (ggml_backend_i) is per
// graph, not per op: a backend receives a whole compute graph through one function pointer
// (graph_compute), and inside it a switch over each node's op type (ggml-cuda's
// ggml_cuda_compute_forward) calls that op's kernel; supports_op says which ops a backend runs.
// That fits ggml, whose ops all take tensors that carry their shapes. genet has no graph: the
// models call ops eagerly, with ~35 different C signatures, so a graph-and-switch layer would
// mean packing every call's arguments into a node and unpacking them in each backend's switch.
// Here each entry calls its implementations directly: the compiler
// checks every CUDA signature against its call site, the static foo_cpu is inlined into the
// entry (the CPU path costs the one compare that the old GENET_ASSERT(ctx->dev == DEV_CPU)
// cost: no allocation, no copy, no indirect call), which ops lack a CUDA version is visible
// at each op's definition, and a build without CUDA never names a CUDA symbol at all (the
// CUDA arm is dropped by the preprocessor).
#pragma once
#include "core/ctx.h"
#include "core/util.h"
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_ops.h"
#endif

// Dies with "genet: op <op> <why>" unless ctx runs on the CPU. `op` is the entry's __func__.
static inline void dispatch_need_cpu(const Ctx *ctx, const char *op, const char *why) {
  if (ctx->dev != DEV_CPU) genet_die("op %s %s", op, why);
}

#ifdef GENET_HAVE_CUDA
#define DISPATCH(ctx, cpu, cuda) ((ctx)->dev == DEV_CUDA ? (cuda) : (cpu))
#else
#define DISPATCH(ctx, cpu, cuda)                                                         \
  (dispatch_need_cpu((ctx), __func__, "runs on CUDA, but this genet was built without CUDA"), \
   (cpu))
#endif

#define DISPATCH_CPU(ctx, cpu) \
  (dispatch_need_cpu((ctx), __func__, "has no CUDA implementation yet"), (cpu))

#define DISPATCH_ANY(ctx, any) ((void)(ctx), (any))
