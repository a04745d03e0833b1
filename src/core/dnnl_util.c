// dnnl_util.c: memory descriptors, memory objects, execution and reorders for oneDNN.
#include "core/dnnl_util.h"

#include <string.h>

#include "core/util.h"

dnnl_memory_desc_t dn_md(int ndims, const dnnl_dim_t *dims, dnnl_format_tag_t tag) {
  dnnl_memory_desc_t md;
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, ndims, dims, dnnl_f32, tag));
  return md;
}

dnnl_memory_t dn_mem(Ctx *ctx, const dnnl_memory_desc_t *md, void *ptr) {
  dnnl_memory_t m;
  DNNL_CHECK(dnnl_memory_create(&m, md, ctx->engine, ptr));
  return m;
}

void dn_run(Ctx *ctx, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args) {
  DNNL_CHECK(dnnl_primitive_execute(prim, ctx->stream, nargs, args));
  DNNL_CHECK(dnnl_stream_wait(ctx->stream));
}

const dnnl_memory_desc_t *dn_pd_md(dnnl_primitive_desc_t pd, dnnl_query_t what) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
  GENET_ASSERT(md != NULL);
  return md;
}

// Reorders are keyed by both layouts; the key is the bytes of the two descriptors folded
// into ints (descriptors of one shape and tag are bitwise equal).
void dn_reorder(Ctx *ctx, dnnl_memory_t src, dnnl_memory_t dst) {
  const dnnl_memory_desc_t *smd, *dmd;
  DNNL_CHECK(dnnl_memory_get_memory_desc(src, &smd));
  DNNL_CHECK(dnnl_memory_get_memory_desc(dst, &dmd));
  if (dnnl_memory_desc_equal(smd, dmd)) {
    void *s, *d;
    DNNL_CHECK(dnnl_memory_get_data_handle(src, &s));
    DNNL_CHECK(dnnl_memory_get_data_handle(dst, &d));
    if (s != d) memcpy(d, s, dnnl_memory_desc_get_size(smd));
    return;
  }
  // FNV-1a over both descriptors: a 64-bit digest in the key, plus the op tag.
  uint64_t h = 1469598103934665603ull;
  const unsigned char *p[2] = {(const unsigned char *)smd, (const unsigned char *)dmd};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sizeof(dnnl_memory_desc_t); i++) h = (h ^ p[k][i]) * 1099511628211ull;
  uint64_t h2 = 0;
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sizeof(dnnl_memory_desc_t); i++) h2 = h2 * 31 + p[k][i];
  int key[5] = {0x5EED0, (int)(h & 0x7fffffff), (int)(h >> 32), (int)(h2 & 0x7fffffff), (int)(h2 >> 32)};
  PrimEntry *e = primcache_find(ctx->prims, key, 5);
  if (!e) {
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, smd, ctx->engine, dmd, ctx->engine, NULL));
    e = primcache_add(ctx->prims, key, 5, pd);
  }
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  dn_run(ctx, e->prim, 2, args);
}
