// primcache.c: a linear-probe list of oneDNN primitives. Models have a few dozen distinct
// shapes, so a scan is cheaper than hashing and keeps the code obvious.
#include "core/primcache.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

// Entries are allocated one by one so a pointer handed out stays valid as the cache grows.
struct PrimCache {
  PrimEntry **e;
  int n, cap;
};

PrimCache *primcache_new(void) { return xcalloc(1, sizeof(PrimCache)); }

void primcache_free(PrimCache *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++) {
    if (c->e[i]->aux_free) c->e[i]->aux_free(c->e[i]->aux);
    if (c->e[i]->prim) dnnl_primitive_destroy(c->e[i]->prim);
    if (c->e[i]->pd) dnnl_primitive_desc_destroy(c->e[i]->pd);
    free(c->e[i]);
  }
  free(c->e);
  free(c);
}

static void make_key(int *out, const int *key, int nkey) {
  GENET_ASSERT(nkey > 0 && nkey <= PRIMCACHE_KEY_LEN);
  memset(out, 0, sizeof(int) * PRIMCACHE_KEY_LEN);
  memcpy(out, key, sizeof(int) * (size_t)nkey);
}

PrimEntry *primcache_find(PrimCache *c, const int *key, int nkey) {
  int k[PRIMCACHE_KEY_LEN];
  make_key(k, key, nkey);
  for (int i = 0; i < c->n; i++)
    if (memcmp(c->e[i]->key, k, sizeof k) == 0) return c->e[i];
  return NULL;
}

PrimEntry *primcache_add_aux(PrimCache *c, const int *key, int nkey) {
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 16;
    c->e = xrealloc(c->e, sizeof(PrimEntry *) * (size_t)c->cap);
  }
  PrimEntry *e = xcalloc(1, sizeof(PrimEntry));
  c->e[c->n++] = e;
  make_key(e->key, key, nkey);
  return e;
}

PrimEntry *primcache_add(PrimCache *c, const int *key, int nkey, dnnl_primitive_desc_t pd) {
  PrimEntry *e = primcache_add_aux(c, key, nkey);
  e->pd = pd;
  DNNL_CHECK(dnnl_primitive_create(&e->prim, pd));
  return e;
}
