// ddp.c: bucketed, overlapped gradient averaging (see ddp.h): the bucket plan, the readiness
// bitmap and the schedule, shared by every transport, and the MPI transport for CPU buffers.
// Readiness is a bitmap over the floats of p->grad, so any mix of ranges, repeats included, is
// counted exactly; padding bits start set, so a bucket is complete when all hi - lo bits of its
// range are set.
#include "comm/ddp.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

typedef struct {
  size_t lo, hi;     // floats [lo, hi) of p->grad
  size_t have0;      // bits set at begin (padding)
  size_t have;       // bits set now; complete when have == hi - lo
  int started, done;
} Bucket;

struct GradSync {
  int active;          // 0: nothing to average (one rank), every call a no-op
  GradTransport t;     // moves the buckets (active only)
  float *data, *grad;  // (total) the buffers described at create
  size_t total;
  int nb;
  Bucket *b;           // b[0] at the end of the buffer (last registered tensors)
  size_t nwords;
  uint64_t *ready;     // (nwords) one bit per float of p->grad
  uint64_t *ready0;    // (nwords) the bitmap at begin: padding floats set
  int in_step;
  int next;            // next bucket to start: buckets start in index order on every rank
  int first_open;      // first bucket started but not yet known complete
  double t_first;      // when the first bucket of this step started
  GradSyncStats st;
};

// Sets bits [a, b) of bm; returns how many were clear before.
static size_t bits_set(uint64_t *bm, size_t a, size_t b) {
  size_t fresh = 0;
  while (a < b) {
    size_t w = a / 64, s = a % 64;
    size_t e = b - w * 64 < 64 ? b - w * 64 : 64;  // end bit within this word
    uint64_t m = (e == 64 ? ~(uint64_t)0 : (((uint64_t)1 << e) - 1)) & (~(uint64_t)0 << s);
    fresh += (size_t)__builtin_popcountll(m & ~bm[w]);
    bm[w] |= m;
    a = w * 64 + e;
  }
  return fresh;
}

// Set bits in [a, b) of bm.
static size_t bits_count(const uint64_t *bm, size_t a, size_t b) {
  size_t n = 0;
  while (a < b) {
    size_t w = a / 64, s = a % 64;
    size_t e = b - w * 64 < 64 ? b - w * 64 : 64;
    uint64_t m = (e == 64 ? ~(uint64_t)0 : (((uint64_t)1 << e) - 1)) & (~(uint64_t)0 << s);
    n += (size_t)__builtin_popcountll(m & bm[w]);
    a = w * 64 + e;
  }
  return n;
}

static void add_bucket(GradSync *s, int *cap, size_t lo, size_t hi) {
  if (s->nb == *cap) {
    *cap = *cap ? 2 * *cap : 16;
    s->b = xrealloc(s->b, sizeof(Bucket) * (size_t)*cap);
  }
  Bucket *k = &s->b[s->nb++];
  memset(k, 0, sizeof *k);
  k->lo = lo;
  k->hi = hi;
}

// The plan and the bitmaps; no transport yet (inactive).
static GradSync *plan(const GradBuffer *p, size_t bucket_bytes) {
  GENET_ASSERT(p->grad);
  GradSync *s = xcalloc(1, sizeof *s);
  s->data = p->data;
  s->grad = p->grad;
  s->total = p->total;
  if (bucket_bytes == 0) bucket_bytes = GRADSYNC_DEFAULT_BUCKET_BYTES;
  size_t cap_f = bucket_bytes / sizeof(float);
  if (cap_f == 0) cap_f = 1;
  if (cap_f > (size_t)INT_MAX) cap_f = (size_t)1 << 30;  // MPI counts are int
  int cap = 0;
  size_t cur_lo = 0, cur_hi = 0;  // the bucket being filled; empty when equal
  for (int i = p->ntensors - 1; i >= 0; i--) {
    size_t lo = p->offset[i], hi = i + 1 < p->ntensors ? p->offset[i + 1] : p->total;
    GENET_ASSERT(lo < hi && hi <= p->total);
    if (hi - lo > cap_f) {  // alone too large: pieces of cap_f, the top one first
      if (cur_hi > cur_lo) add_bucket(s, &cap, cur_lo, cur_hi);
      size_t npieces = (hi - lo + cap_f - 1) / cap_f;
      for (size_t k = npieces; k-- > 0;) {
        size_t a = lo + k * cap_f, e = a + cap_f < hi ? a + cap_f : hi;
        add_bucket(s, &cap, a, e);
      }
      cur_lo = cur_hi = lo;
      continue;
    }
    if (cur_hi > cur_lo && cur_hi - lo > cap_f) {
      add_bucket(s, &cap, cur_lo, cur_hi);
      cur_hi = hi;
    }
    if (cur_hi == cur_lo) cur_hi = hi;
    cur_lo = lo;
  }
  if (cur_hi > cur_lo) add_bucket(s, &cap, cur_lo, cur_hi);
  for (int k = 0; k < s->nb; k++)  // the plan covers the buffer, top down, without gaps
    GENET_ASSERT(s->b[k].hi == (k ? s->b[k - 1].lo : p->total));
  GENET_ASSERT(s->nb == 0 || s->b[s->nb - 1].lo == 0);

  s->nwords = (p->total + 63) / 64;
  s->ready = xcalloc(s->nwords ? s->nwords : 1, sizeof(uint64_t));
  s->ready0 = xcalloc(s->nwords ? s->nwords : 1, sizeof(uint64_t));
  for (int i = 0; i < p->ntensors; i++) {  // padding after each tensor counts as ready
    size_t end = i + 1 < p->ntensors ? p->offset[i + 1] : p->total;
    bits_set(s->ready0, p->offset[i] + p->numel[i], end);
  }
  if (p->ntensors == 0) bits_set(s->ready0, 0, p->total);
  for (int k = 0; k < s->nb; k++) s->b[k].have0 = bits_count(s->ready0, s->b[k].lo, s->b[k].hi);
  return s;
}

// ---- the MPI transport: CPU buffers, one MPI_Iallreduce per bucket (the mean applied by
// comm_test or comm_wait as the bucket lands).

typedef struct {
  Comm *c;
  CommRequest *req;  // (nb)
} MpiGrad;

static void mpi_start(void *self, int k, float *buf, size_t n) {
  MpiGrad *m = self;
  comm_iallreduce(m->c, buf, n, 1, &m->req[k]);
}
static int mpi_test(void *self, int k) {
  MpiGrad *m = self;
  return comm_test(m->c, &m->req[k]);
}
static void mpi_wait(void *self, int k) {
  MpiGrad *m = self;
  comm_wait(m->c, &m->req[k]);
}
static void mpi_bcast(void *self, float *data, size_t n) {
  MpiGrad *m = self;
  comm_bcast(m->c, data, n * sizeof(float), 0);
}
static void mpi_free(void *self) {
  MpiGrad *m = self;
  free(m->req);
  free(m);
}

GradSync *gradsync_create(Comm *c, const GradBuffer *p, size_t bucket_bytes) {
  GENET_ASSERT(p->data);
  GradSync *s = plan(p, bucket_bytes);
  if (!p->stream) {
    GENET_ASSERT(c->kind != COMM_NCCL);  // CPU gradients go over MPI (see ddp.h)
    if (c->size == 1) return s;
    MpiGrad *m = xcalloc(1, sizeof *m);
    m->c = c;
    m->req = xcalloc((size_t)(s->nb ? s->nb : 1), sizeof(CommRequest));
    s->t = (GradTransport){m, mpi_start, mpi_test, mpi_wait, mpi_bcast, mpi_free};
  } else if (c->kind == COMM_NCCL) {
    c->device->grad_transport(c, p->stream, s->nb, &s->t);
  } else if (c->size == 1) {
    return s;  // one GPU and no NCCL communicator: the mean of one is the gradient itself
  } else {
    comm_abort(c, "gradsync_create: device gradients over %d ranks need NCCL (comm_use_nccl "
                  "before the GradSync is made)", c->size);
  }
  s->active = 1;
  return s;
}

GradSync *gradsync_create_transport(const GradBuffer *p, size_t bucket_bytes, const GradTransport *t) {
  GENET_ASSERT(t->start && t->wait);
  GradSync *s = plan(p, bucket_bytes);
  s->t = *t;
  s->active = 1;
  return s;
}

void gradsync_free(GradSync *s) {
  if (!s) return;
  // A step left unfinished: complete it rather than leave MPI requests or device work behind.
  for (int k = 0; s->active && k < s->nb; k++)
    if (s->b[k].started && !s->b[k].done) s->t.wait(s->t.self, k);
  if (s->active && s->t.free) s->t.free(s->t.self);
  free(s->b);
  free(s->ready);
  free(s->ready0);
  free(s);
}

void gradsync_begin(GradSync *s) {
  if (!s->active) return;
  GENET_ASSERT(!s->in_step);  // every begin needs its finish
  s->in_step = 1;
  memcpy(s->ready, s->ready0, s->nwords * sizeof(uint64_t));
  for (int k = 0; k < s->nb; k++) {
    s->b[k].have = s->b[k].have0;
    s->b[k].started = s->b[k].done = 0;
  }
  s->next = s->first_open = 0;
  s->t_first = 0;
  memset(&s->st, 0, sizeof s->st);
}

static void start_bucket(GradSync *s, int k) {
  Bucket *b = &s->b[k];
  if (s->st.buckets == 0) s->t_first = now_s();
  s->t.start(s->t.self, k, s->grad + b->lo, b->hi - b->lo);
  b->started = 1;
  s->st.buckets++;
  s->st.bytes += (b->hi - b->lo) * sizeof(float);
}

void gradsync_progress(GradSync *s) {
  if (!s->active || !s->t.test) return;
  // One MPI_Test drives Open MPI's progress engine for every request; testing each also
  // finishes (scales) buckets as soon as they land, off the critical path of finish.
  void *t = s->t.self;
  while (s->first_open < s->next && (s->b[s->first_open].done || s->t.test(t, s->first_open))) {
    s->b[s->first_open].done = 1;
    s->first_open++;
  }
  for (int k = s->first_open + 1; k < s->next; k++)
    if (!s->b[k].done && s->t.test(t, k)) s->b[k].done = 1;
}

void gradsync_ready_offset(GradSync *s, size_t offset, size_t n) {
  if (!s->active) return;
  GENET_ASSERT(s->in_step);
  size_t a = offset < s->total ? offset : s->total;
  size_t e = n < s->total - a ? a + n : s->total;
  if (a < e) {
    // Bucket starts descend with k: the one holding a is the first k with lo <= a.
    int lo = 0, hi = s->nb - 1;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (s->b[mid].lo <= a) hi = mid;
      else lo = mid + 1;
    }
    for (int k = lo; k >= 0 && a < e; k--) {
      Bucket *b = &s->b[k];
      size_t stop = e < b->hi ? e : b->hi;
      b->have += bits_set(s->ready, a, stop);
      a = stop;
    }
  }
  while (s->next < s->nb && s->b[s->next].have == s->b[s->next].hi - s->b[s->next].lo) {
    start_bucket(s, s->next++);
    s->st.buckets_early++;
  }
  gradsync_progress(s);
}

void gradsync_finish(GradSync *s) {
  if (!s->active) return;
  GENET_ASSERT(s->in_step);
  double t0 = now_s();
  while (s->next < s->nb) start_bucket(s, s->next++);
  for (int k = 0; k < s->nb; k++)
    if (!s->b[k].done) {
      s->t.wait(s->t.self, k);
      s->b[k].done = 1;
    }
  double t1 = now_s();
  s->st.wait_s = t1 - t0;
  s->st.comm_span_s = s->st.buckets ? t1 - s->t_first : 0.0;
  s->in_step = 0;
}

void gradsync_broadcast_params(GradSync *s) {
  if (s->active && s->t.bcast) s->t.bcast(s->t.self, s->data, s->total);
}

GradSyncStats gradsync_stats(const GradSync *s) { return s->st; }

int gradsync_num_buckets(const GradSync *s) { return s->nb; }

void gradsync_bucket_range(const GradSync *s, int i, size_t *lo, size_t *hi) {
  GENET_ASSERT(i >= 0 && i < s->nb);
  *lo = s->b[i].lo;
  *hi = s->b[i].hi;
}
