// dnnl_util.h (prefix dn_, since dnnl_ is oneDNN's own): the few oneDNN steps every CPU primitive needs, so the op files read as
// "describe, look up or create, execute". Memory objects wrap genet's own buffers (no copy).
#pragma once
#include <oneapi/dnnl/dnnl.h>

#include "core/ctx.h"
#include "core/primcache.h"

// A plain f32 descriptor, e.g. dn_md(4, (dnnl_dims_t){N, C, H, W}, dnnl_nchw).
dnnl_memory_desc_t dn_md(int ndims, const dnnl_dim_t *dims, dnnl_format_tag_t tag);
// A memory object over `ptr` (or DNNL_MEMORY_ALLOCATE for oneDNN-owned storage).
dnnl_memory_t dn_mem(Ctx *ctx, const dnnl_memory_desc_t *md, void *ptr);
// Executes a primitive on the context's stream and waits for it.
void dn_run(Ctx *ctx, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args);
// The layout a primitive chose for one of its arguments (dnnl_query_src_md, ...).
const dnnl_memory_desc_t *dn_pd_md(dnnl_primitive_desc_t pd, dnnl_query_t what);
// Copies src into dst, converting layouts (a cached reorder primitive); no-op when equal.
void dn_reorder(Ctx *ctx, dnnl_memory_t src, dnnl_memory_t dst);
