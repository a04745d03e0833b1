// params_io.c: parameters as HDF5 datasets named by state_dict key.
#include "data/params_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

// A buffer laid out like p lives where p's parameters live: on a GPU it goes through a host
// copy (made at checkpoint time, never in a training step).
int params_write(H5File *f, const Params *p, const float *buf, const char *group) {
  if (p->ctx && p->ctx->dev != DEV_CPU) {
    float *host = xmalloc_floats(p->total);
    ctx_download(p->ctx, host, buf, sizeof(float) * p->total);
    Params cpu = *p;  // the same layout, on the CPU
    cpu.ctx = NULL;
    cpu.dev = DEV_CPU;
    int rc = params_write(f, &cpu, host, group);
    free(host);
    return rc;
  }
  char name[256];
  for (int i = 0; i < p->n; i++) {
    const ParamInfo *pi = &p->info[i];
    int64_t dims[PARAM_MAX_DIMS];
    for (int d = 0; d < pi->ndim; d++) dims[d] = pi->shape[d];
    snprintf(name, sizeof name, "%s/%s", group, pi->name);
    if (h5_write_f32(f, name, buf + pi->offset, pi->ndim, dims)) return -1;
  }
  return 0;
}

static void shape_text(char *s, size_t n, const int64_t *d, int nd) {
  int k = snprintf(s, n, "(");
  for (int i = 0; i < nd && k < (int)n; i++) k += snprintf(s + k, n - (size_t)k, i ? ", %lld" : "%lld", (long long)d[i]);
  if (k < (int)n) snprintf(s + k, n - (size_t)k, ")");
}

int params_read(H5File *f, const Params *p, float *buf, const char *group, char *err,
                size_t errlen) {
  if (p->ctx && p->ctx->dev != DEV_CPU) {
    Params cpu = *p;
    cpu.ctx = NULL;
    cpu.dev = DEV_CPU;
    float *host = xmalloc_floats(p->total);
    ctx_download(p->ctx, host, buf, sizeof(float) * p->total);  // keeps the padding as it was
    int rc = params_read(f, &cpu, host, group, err, errlen);
    if (!rc) ctx_upload(p->ctx, buf, host, sizeof(float) * p->total);
    free(host);
    return rc;
  }
  char name[256];
  for (int i = 0; i < p->n; i++) {
    const ParamInfo *pi = &p->info[i];
    int64_t want[PARAM_MAX_DIMS], have[8];
    for (int d = 0; d < pi->ndim; d++) want[d] = pi->shape[d];
    snprintf(name, sizeof name, "%s/%s", group, pi->name);
    if (!h5_exists(f, name)) {
      snprintf(err, errlen, "%s: no dataset %s: the checkpoint does not hold this job's model",
               f->path, name);
      return -2;
    }
    int nd = h5_shape(f, name, have, 8, err, errlen);
    if (nd < 0) return -1;
    int same = nd == pi->ndim;
    for (int d = 0; same && d < nd; d++) same = have[d] == want[d];
    if (!same) {
      char a[96], b[96];
      shape_text(a, sizeof a, have, nd);
      shape_text(b, sizeof b, want, pi->ndim);
      snprintf(err, errlen, "%s: %s has shape %s, this job's model needs %s", f->path, name, a, b);
      return -2;
    }
    if (h5_read_f32(f, name, buf + pi->offset, pi->ndim, want, err, errlen)) return -1;
  }
  return 0;
}
