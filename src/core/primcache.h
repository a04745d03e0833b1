// primcache.h: oneDNN primitives created once per (op, shape) and reused.
// The key is a short list of ints naming the op and every dimension that shapes it; the
// value is the primitive and its descriptor (to query memory layouts and scratchpad size).
#pragma once
#include <oneapi/dnnl/dnnl.h>

#define PRIMCACHE_KEY_LEN 24

typedef struct {
  int key[PRIMCACHE_KEY_LEN];
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  void *aux;                   // optional per-shape state of the op (scratch buffers, more
  void (*aux_free)(void *aux); // primitives); the cache calls aux_free(aux) when it is freed
} PrimEntry;

typedef struct PrimCache PrimCache;

PrimCache *primcache_new(void);
void primcache_free(PrimCache *c);
// Returns the entry for `key` (nkey ints, unused tail taken as 0), or NULL when absent.
PrimEntry *primcache_find(PrimCache *c, const int *key, int nkey);
// Stores pd (ownership passes to the cache), creates its primitive, and returns the entry.
PrimEntry *primcache_add(PrimCache *c, const int *key, int nkey, dnnl_primitive_desc_t pd);
// An entry without a primitive (pd and prim NULL) for state an op shares across its shapes
// (convplan's scratch buffers): the caller sets aux and aux_free.
PrimEntry *primcache_add_aux(PrimCache *c, const int *key, int nkey);
