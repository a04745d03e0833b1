// test_ddp_schedule.c: GradSync's schedule, the part both transports share (ddp.c), driven by a
// fake transport that records every call. No MPI, no GPU: the decisions the NCCL path makes on
// a GPU (which bucket starts when, in which order, what finish waits for) are the ones checked
// here. For many layouts (random tensor sizes and padding, a tensor cut into pieces), bucket
// caps, readiness orders and polling outcomes, against an oracle that tracks readiness per
// float with no bitmap:
//   * every bucket starts exactly once per step, in index order, with its own range of grad;
//   * each starts at the earliest call it may: the ready call after which it and every bucket
//     before it are complete (or in finish, for what was never completed);
//   * test polls only started buckets not yet reported complete; nothing is waited for before
//     finish; finish waits once, in index order, for each started bucket test did not report,
//     and never for one it did;
//   * the stats count the buckets, the early ones and the bytes; a second step reuses the plan;
//   * gradsync_free in the middle of a step waits for what was started, then frees the
//     transport once;
//   * nothing to average (one rank, CPU or GPU without NCCL): every call is a no-op.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/ddp.h"
#include "core/util.h"
#include "testlib.h"

// ---------------------------------------------------------------- the fake transport

enum { OP_START, OP_WAIT, OP_BCAST, OP_FREE };
enum { PHASE_FINISH = -1, PHASE_FREE = -2 };  // else: index of the ready call in the step
enum { POLL_NEVER, POLL_SECOND, POLL_ALWAYS, POLL_RANDOM, NPOLL };
static const char *POLL_NAMES[] = {"never done", "done at the 2nd poll", "done at once",
                                   "done at random (later buckets before earlier ones)"};

typedef struct {
  int op, k, phase;
  size_t off, n;  // start: the range handed over, as an offset into grad
} Call;

// Polls are checked as they come (a step of one-float buckets makes millions): the log holds
// the other calls.
typedef struct {
  const float *grad;
  int poll;              // POLL_*
  int phase;             // set by the driver before each call into GradSync
  int ncalls, cap;
  Call *calls;
  int started;           // buckets started this step
  int *polls;            // (nb) polls of bucket k this step
  unsigned char *reported;  // (nb) test returned 1 for bucket k this step
  int bad_polls;         // polls of a bucket not started, or already reported
  uint64_t rng;          // POLL_RANDOM's outcomes
  int frees;
} Fake;

#define FAKE_MAXB (1 << 16)  // more than any plan here has buckets

static void fake_reset(Fake *f, int nb) {
  f->ncalls = f->started = f->bad_polls = 0;
  memset(f->polls, 0, sizeof(int) * (size_t)(nb + 1));
  memset(f->reported, 0, (size_t)nb + 1);
}

static void log_call(Fake *f, int op, int k, size_t off, size_t n) {
  if (f->ncalls == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 256;
    f->calls = realloc(f->calls, sizeof(Call) * (size_t)f->cap);
  }
  f->calls[f->ncalls++] = (Call){op, k, f->phase, off, n};
}
static void fake_start(void *self, int k, float *buf, size_t n) {
  Fake *f = self;
  f->started++;
  log_call(f, OP_START, k, (size_t)(buf - f->grad), n);
}
static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static int fake_test(void *self, int k) {
  Fake *f = self;
  f->bad_polls += k < 0 || k >= f->started || f->reported[k];
  int p = ++f->polls[k];
  int done = f->poll == POLL_ALWAYS || (f->poll == POLL_SECOND && p >= 2) ||
             (f->poll == POLL_RANDOM && lcg(&f->rng) % 3 == 0);
  f->reported[k] |= done;
  return done;
}
static void fake_wait(void *self, int k) { log_call(self, OP_WAIT, k, 0, 0); }
static void fake_bcast(void *self, float *data, size_t n) {
  (void)data;
  log_call(self, OP_BCAST, 0, 0, n);
}
static void fake_free(void *self) {
  Fake *f = self;
  f->frees++;
  log_call(f, OP_FREE, 0, 0, 0);
}

// ---------------------------------------------------------------- layouts and the oracle

#define MAXT 16

typedef struct {
  int n;
  size_t offset[MAXT], numel[MAXT], total;
} Layout;

static void layout_random(Layout *L, uint64_t seed) {
  uint64_t r = seed;
  L->n = 1 + (int)(lcg(&r) % MAXT);
  size_t off = 0;
  for (int i = 0; i < L->n; i++) {
    L->offset[i] = off;
    L->numel[i] = 1 + lcg(&r) % (lcg(&r) % 4 == 0 ? 700 : 40);
    off += L->numel[i] + lcg(&r) % 8;  // padding 0..7
  }
  L->total = off;
}

// A padded layout like params_alloc's, with one tensor far larger than the others.
static void layout_big(Layout *L) {
  const size_t sz[] = {7, 15, 1, 5000, 99, 210, 17, 3};
  L->n = 8;
  size_t off = 0;
  for (int i = 0; i < L->n; i++) {
    L->offset[i] = off;
    L->numel[i] = sz[i];
    off += (sz[i] + 15) / 16 * 16;
  }
  L->total = off;
}

static GradBuffer buffer_of(const Layout *L, float *grad) {
  return (GradBuffer){.data = NULL, .grad = grad, .total = L->total, .ntensors = L->n,
                      .offset = L->offset, .numel = L->numel};
}

// The oracle: per float, is it a tensor element (else padding), has it been marked, and which
// bucket holds it; per bucket, how many of its elements are still unmarked.
typedef struct {
  const Layout *L;
  unsigned char *elem, *marked;
  int *bucket;        // (total)
  size_t *unmarked;   // (nb)
  int nb, prefix;     // buckets 0 .. prefix - 1 are complete
  size_t *lo, *hi;
} Oracle;

static void oracle_init(Oracle *o, const Layout *L, const GradSync *s) {
  o->L = L;
  o->elem = calloc(L->total + 1, 1);
  o->marked = calloc(L->total + 1, 1);
  o->bucket = calloc(L->total + 1, sizeof(int));
  for (int i = 0; i < L->n; i++) memset(o->elem + L->offset[i], 1, L->numel[i]);
  o->nb = gradsync_num_buckets(s);
  o->prefix = 0;
  o->lo = malloc(sizeof(size_t) * (size_t)(o->nb + 1));
  o->hi = malloc(sizeof(size_t) * (size_t)(o->nb + 1));
  o->unmarked = calloc((size_t)o->nb + 1, sizeof(size_t));
  for (int k = 0; k < o->nb; k++) {
    gradsync_bucket_range(s, k, &o->lo[k], &o->hi[k]);
    for (size_t i = o->lo[k]; i < o->hi[k]; i++) {
      o->bucket[i] = k;
      o->unmarked[k] += o->elem[i];
    }
  }
}
static void oracle_free(Oracle *o) {
  free(o->elem), free(o->marked), free(o->bucket), free(o->unmarked), free(o->lo), free(o->hi);
}

// Marks [a, a + n) clipped to the buffer; returns how many buckets, from 0, are now complete.
static int oracle_mark(Oracle *o, size_t a, size_t n) {
  size_t e = n < o->L->total - (a < o->L->total ? a : o->L->total) ? a + n : o->L->total;
  for (size_t i = a; i < e; i++)
    if (!o->marked[i]) {
      o->marked[i] = 1;
      o->unmarked[o->bucket[i]] -= o->elem[i];
    }
  while (o->prefix < o->nb && o->unmarked[o->prefix] == 0) o->prefix++;
  return o->prefix;
}

// ---------------------------------------------------------------- readiness orders

enum { ORD_FORWARD, ORD_REVERSE, ORD_RANDOM, ORD_RANGES, ORD_FLOATS, ORD_TWICE, ORD_PARTIAL, ORD_NONE, NORD };
static const char *ORD_NAMES[] = {"forward", "reverse", "random tensors", "random ranges (some repeated, some past the end)",
                                  "one float at a time, top down", "every tensor twice", "half the tensors", "none"};

// The ranges (offset, n) one order marks, in order; returns how many.
static int make_order(const Layout *L, int order, uint64_t seed, size_t *ra, size_t *rn, int max) {
  uint64_t r = seed;
  int m = 0, idx[MAXT];
  for (int i = 0; i < L->n; i++) idx[i] = i;
  switch (order) {
    case ORD_FORWARD:
      for (int i = 0; i < L->n; i++) ra[m] = L->offset[i], rn[m++] = L->numel[i];
      break;
    case ORD_REVERSE:
    case ORD_TWICE:
      for (int rep = 0; rep < (order == ORD_TWICE ? 2 : 1); rep++)
        for (int i = L->n - 1; i >= 0; i--) ra[m] = L->offset[i], rn[m++] = L->numel[i];
      break;
    case ORD_RANDOM:
      for (int i = L->n - 1; i > 0; i--) {
        int j = (int)(lcg(&r) % (uint64_t)(i + 1)), t = idx[i];
        idx[i] = idx[j], idx[j] = t;
      }
      for (int i = 0; i < L->n; i++) ra[m] = L->offset[idx[i]], rn[m++] = L->numel[idx[i]];
      break;
    case ORD_RANGES: {  // a partition of [0, total) into odd chunks, shuffled, plus repeats
      for (size_t a = 0; a < L->total && m < max / 2; a += rn[m - 1]) {
        ra[m] = a;
        rn[m] = 1 + lcg(&r) % 61;
        if (a + rn[m] >= L->total) rn[m] = L->total - a + lcg(&r) % 5;  // past the end: clipped
        m++;
      }
      for (int i = m - 1; i > 0; i--) {
        int j = (int)(lcg(&r) % (uint64_t)(i + 1));
        size_t ta = ra[i], tn = rn[i];
        ra[i] = ra[j], rn[i] = rn[j], ra[j] = ta, rn[j] = tn;
      }
      int m0 = m;
      for (int i = 0; i < m0 && m < max; i++)
        if (lcg(&r) % 4 == 0) ra[m] = ra[i], rn[m++] = 1;
      break;
    }
    case ORD_FLOATS:
      for (size_t a = L->total; a-- > 0 && m < max;) ra[m] = a, rn[m++] = 1;
      break;
    case ORD_PARTIAL:
      for (int i = L->n - 1; i >= 0; i -= 2) ra[m] = L->offset[i], rn[m++] = L->numel[i];
      break;
    default:
      break;
  }
  return m;
}

// ---------------------------------------------------------------- one step, checked

#define MAXR (1 << 15)

// Runs one step of `order` through s (over fake f) and checks the calls; returns the number of
// violations and describes the first in why.
static int step_checked(GradSync *s, Fake *f, const Layout *L, int order, uint64_t seed,
                        char *why, size_t whylen) {
  static size_t ra[MAXR], rn[MAXR];
  int nr = make_order(L, order, seed, ra, rn, MAXR);
  Oracle o;
  oracle_init(&o, L, s);
  const int nb = o.nb;
  int *expect_phase = malloc(sizeof(int) * (size_t)(nb + 1));
  for (int k = 0; k < nb; k++) expect_phase[k] = PHASE_FINISH;
  fake_reset(f, nb);
  f->phase = -3;
  gradsync_begin(s);
  // Buckets of padding alone (the top piece of a cut tensor can be) are complete from the start:
  // they start at the first ready call, or in finish when there is none.
  int prefix = oracle_mark(&o, 0, 0);
  for (int k = 0; k < prefix; k++) expect_phase[k] = nr ? 0 : PHASE_FINISH;
  for (int i = 0; i < nr; i++) {
    f->phase = i;
    gradsync_ready_offset(s, ra[i], rn[i]);
    int p = oracle_mark(&o, ra[i], rn[i]);
    for (int k = prefix; k < p; k++) expect_phase[k] = i;
    prefix = p;
  }
  f->phase = PHASE_FINISH;
  gradsync_finish(s);
  GradSyncStats st = gradsync_stats(s);

  int bad = 0;
#define BAD(...) do { if (!bad++) snprintf(why, whylen, __VA_ARGS__); } while (0)
  int next = 0, early = 0;
  const unsigned char *reported = f->reported;
  unsigned char *waited = calloc((size_t)nb + 1, 1);
  if (f->bad_polls) BAD("%d polls of a bucket not started or already reported complete", f->bad_polls);
  for (int c = 0; c < f->ncalls; c++) {
    const Call *x = &f->calls[c];
    if (x->op == OP_START) {
      if (x->k != next) BAD("start of bucket %d where %d was next", x->k, next);
      else if (x->phase != expect_phase[x->k])
        BAD("bucket %d started at call %d, should be at %d (-1: finish)", x->k, x->phase, expect_phase[x->k]);
      else if (x->off != o.lo[x->k] || x->n != o.hi[x->k] - o.lo[x->k])
        BAD("bucket %d handed floats [%zu, +%zu), its range is [%zu, %zu)", x->k, x->off, x->n, o.lo[x->k], o.hi[x->k]);
      early += x->phase >= 0;
      next = x->k + 1;
    } else if (x->op == OP_WAIT) {
      if (x->phase != PHASE_FINISH) BAD("bucket %d waited for outside finish (call %d)", x->k, x->phase);
      if (x->k >= next) BAD("bucket %d waited for before it started", x->k);
      if (reported[x->k]) BAD("bucket %d waited for, though test reported it complete", x->k);
      if (waited[x->k]++) BAD("bucket %d waited for twice", x->k);
      for (int j = x->k + 1; j < nb; j++)
        if (waited[j]) BAD("bucket %d waited for after bucket %d", x->k, j);
    } else {
      BAD("unexpected call %d during a step", x->op);
    }
  }
  if (next != nb) BAD("%d of %d buckets started", next, nb);
  for (int k = 0; k < nb; k++)
    if (!reported[k] && !waited[k]) BAD("bucket %d neither reported complete nor waited for", k);
  if (st.buckets != nb || st.buckets_early != early || st.bytes != L->total * sizeof(float))
    BAD("stats: %d buckets (%d early), %zu bytes; want %d (%d), %zu", st.buckets, st.buckets_early,
        st.bytes, nb, early, L->total * sizeof(float));
  // A complete gradient starts every bucket during backward; none marked starts none.
  if (order != ORD_PARTIAL && order != ORD_NONE && early != nb) BAD("only %d of %d buckets started early", early, nb);
  if (order == ORD_NONE && early != 0) BAD("%d buckets started with nothing marked", early);
#undef BAD
  free(waited), free(expect_phase);
  oracle_free(&o);
  return bad;
}

static Fake *fake_new(const float *grad, int poll) {
  Fake *f = calloc(1, sizeof *f);
  f->grad = grad;
  f->poll = poll;
  f->rng = 12345;
  f->polls = calloc(FAKE_MAXB, sizeof(int));
  f->reported = calloc(FAKE_MAXB, 1);
  return f;
}
static void fake_delete(Fake *f) { free(f->calls), free(f->polls), free(f->reported), free(f); }

static GradTransport transport_of(Fake *f) {
  return (GradTransport){f, fake_start, f->poll == NPOLL ? NULL : fake_test, fake_wait, fake_bcast, fake_free};
}

// ---------------------------------------------------------------- the tests

static void test_schedules(void) {
  const size_t caps[] = {4, 64, 1000, 4096, (size_t)1 << 30};
  int runs = 0, fails = 0, max_nb = 0;
  char first[512] = "";
  for (int li = 0; li < 41; li++) {
    Layout L;
    if (li == 40) layout_big(&L);
    else layout_random(&L, 1000 + (uint64_t)li);
    float *grad = calloc(L.total + 1, sizeof(float));
    GradBuffer b = buffer_of(&L, grad);
    for (int ci = 0; ci < 5; ci++)
      for (int poll = 0; poll <= NPOLL; poll++) {  // NPOLL: a transport without test (NCCL's)
        Fake *f = fake_new(grad, poll);
        GradTransport t = transport_of(f);
        GradSync *s = gradsync_create_transport(&b, caps[ci], &t);
        if (gradsync_num_buckets(s) >= FAKE_MAXB) genet_die("test_ddp_schedule: raise FAKE_MAXB");
        if (gradsync_num_buckets(s) > max_nb) max_nb = gradsync_num_buckets(s);
        for (int o = 0; o < NORD; o++)
          for (int rep = 0; rep < 2; rep++) {  // twice: the second step reuses the plan
            char why[200];
            runs++;
            if (step_checked(s, f, &L, o, (uint64_t)(li * 7919 + ci * 131 + o * 17 + rep), why, sizeof why)) {
              if (!fails++)
                snprintf(first, sizeof first, "layout %d (%d tensors, %zu floats), cap %zu B, %s, order %s: %s",
                         li, L.n, L.total, caps[ci], poll == NPOLL ? "no test" : POLL_NAMES[poll], ORD_NAMES[o], why);
            }
          }
        gradsync_free(s);
        fails += f->frees != 1;
        fake_delete(f);
      }
    free(grad);
  }
  test_check(fails == 0, "schedule: %d steps (41 layouts x 5 caps x %d polling behaviours x %d orders x 2), "
             "up to %d buckets: %d wrong%s%s", runs, NPOLL + 1, NORD, max_nb, fails, fails ? "; first: " : "", first);
}

// Which calls each order makes, on a layout whose plan is known: one tensor per bucket.
static void test_known_sequence(void) {
  Layout L = {.n = 4, .offset = {0, 4, 8, 12}, .numel = {4, 4, 4, 4}, .total = 16};
  float grad[16];
  GradBuffer b = buffer_of(&L, grad);
  Fake *f = fake_new(grad, POLL_NEVER);
  GradTransport t = transport_of(f);
  GradSync *s = gradsync_create_transport(&b, 16, &t);  // 16 B: one tensor per bucket
  size_t lo, hi;
  gradsync_bucket_range(s, 0, &lo, &hi);
  int ok = gradsync_num_buckets(s) == 4 && lo == 12 && hi == 16;
  // Ready order: tensor 2, 3, 0, 1 -> bucket 1 is complete first but waits for bucket 0 (tensor
  // 3); then 0 and 1 start together; bucket 3 (tensor 0) is complete before bucket 2 (tensor 1),
  // so both start at the last call.
  const int order[4] = {2, 3, 0, 1};
  gradsync_begin(s);
  char seq[128] = "";
  size_t used = 0;
  for (int i = 0; i < 4; i++) {
    f->ncalls = 0;
    f->phase = i;
    gradsync_ready_offset(s, L.offset[order[i]], L.numel[order[i]]);
    used += (size_t)snprintf(seq + used, sizeof seq - used, "%sready(t%d):", i ? " " : "", order[i]);
    for (int c = 0; c < f->ncalls; c++)
      if (f->calls[c].op == OP_START) used += (size_t)snprintf(seq + used, sizeof seq - used, " start%d", f->calls[c].k);
  }
  f->ncalls = 0;
  gradsync_finish(s);
  used += (size_t)snprintf(seq + used, sizeof seq - used, " finish:");
  for (int c = 0; c < f->ncalls; c++)
    used += (size_t)snprintf(seq + used, sizeof seq - used, " %s%d", f->calls[c].op == OP_WAIT ? "wait" : "?", f->calls[c].k);
  const char *want = "ready(t2): ready(t3): start0 start1 ready(t0): ready(t1): start2 start3 finish: wait0 wait1 wait2 wait3";
  test_check(ok && !strcmp(seq, want), "known sequence: %s", seq);

  // A bucket test reported complete is never waited for.
  f->poll = POLL_ALWAYS;
  fake_reset(f, 4);
  gradsync_begin(s);
  for (int i = 3; i >= 0; i--) gradsync_ready_offset(s, L.offset[i], L.numel[i]);
  f->ncalls = 0;
  gradsync_finish(s);
  test_check(f->ncalls == 0, "every bucket reported complete by polling: finish waits for none (%d calls)", f->ncalls);

  // broadcast goes through the transport with the whole buffer.
  f->ncalls = 0;
  gradsync_broadcast_params(s);
  test_check(f->ncalls == 1 && f->calls[0].op == OP_BCAST && f->calls[0].n == 16, "broadcast: one call over 16 floats");

  // Freed in the middle of a step: what started is waited for, then the transport is freed.
  f->poll = POLL_NEVER;
  fake_reset(f, 4);
  gradsync_begin(s);
  gradsync_ready_offset(s, 12, 4);  // bucket 0 starts
  gradsync_ready_offset(s, 8, 4);   // bucket 1 starts
  f->ncalls = 0;
  gradsync_free(s);
  int free_ok = f->ncalls == 3 && f->calls[0].op == OP_WAIT && f->calls[0].k == 0 && f->calls[1].op == OP_WAIT &&
                f->calls[1].k == 1 && f->calls[2].op == OP_FREE && f->frees == 1;
  test_check(free_ok, "freed mid-step: waits for buckets 0 and 1, then frees the transport (%d calls)", f->ncalls);
  fake_delete(f);
}

// Nothing to average: every call is a no-op, also for device buffers (one GPU, no NCCL); the
// grad pointer is never touched, so an address no one may read proves it.
static void test_inactive(void) {
  Comm one = {.kind = COMM_SINGLE, .rank = 0, .size = 1, .local_size = 1};
  Layout L;
  layout_big(&L);
  float *poison = (float *)(uintptr_t)0x10;  // any dereference faults
  GradBuffer b = buffer_of(&L, poison);
  b.data = poison;
  for (int dev = 0; dev < 2; dev++) {
    b.stream = dev ? (void *)(uintptr_t)0x20 : NULL;
    GradSync *s = gradsync_create(&one, &b, 64);
    gradsync_begin(s);
    for (int i = L.n - 1; i >= 0; i--) gradsync_ready_offset(s, L.offset[i], L.numel[i]);
    gradsync_progress(s);
    gradsync_finish(s);
    gradsync_broadcast_params(s);
    GradSyncStats st = gradsync_stats(s);
    test_check(st.buckets == 0 && st.bytes == 0 && st.buckets_early == 0 && gradsync_num_buckets(s) > 1,
               "one rank, %s buffers: no-op (%d buckets planned, none moved)", dev ? "device (no NCCL)" : "CPU",
               gradsync_num_buckets(s));
    gradsync_free(s);
  }
}

int main(void) {
  test_known_sequence();
  test_schedules();
  test_inactive();
  return test_finish("ddp_schedule");
}
