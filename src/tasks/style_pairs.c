// style_pairs.c: many style pairs over the ranks of one job (style_pairs.h).
#include "tasks/style_pairs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/dir.h"
#include "core/file_open.h"
#include "core/util.h"

#define PAIRS_MAX_STYLES 8  // as the style task's MAX_STYLES

typedef struct {
  int line;             // in the pairs file, from 1
  char *content, *style, *output;  // output: relative to OUT unless absolute (malloc'd)
} Pair;

typedef struct {
  Pair *p;
  int n;
} Pairs;

static void pairs_free(Pairs *ps) {
  for (int i = 0; i < ps->n; i++) {
    free(ps->p[i].content);
    free(ps->p[i].style);
    free(ps->p[i].output);
  }
  free(ps->p);
}

static int count_list(const char *s) {  // comma-separated items
  int n = 0;
  char *copy = xstrdup(s), *save = NULL;
  for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) n++;
  free(copy);
  return n;
}

static int readable(const char *path, char *err, size_t errlen) {
  char e[GENET_ERR_MAX];
  int fd = file_open_read(path, 0, e, sizeof e);
  if (fd < 0) return genet_err(err, errlen, "%s", e);
  close(fd);
  return 0;
}

// Reads and checks FILE; 0, or -1 with "FILE:LINE: what" in err.
static int pairs_read(Pairs *ps, const char *file, int nblend, char *err, size_t errlen) {
  memset(ps, 0, sizeof *ps);
  char e[GENET_ERR_MAX];
  FILE *f = file_fopen_read(file, 0, e, sizeof e);
  if (!f) return genet_err(err, errlen, "pairs = %s: %s", file, e);
  char buf[3 * GENET_PATH_MAX + 64];
  int line = 0, cap = 0, rc = 0;
  while (!rc && fgets(buf, sizeof buf, f)) {
    line++;
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '\n') buf[--len] = 0;
    if (len && buf[len - 1] == '\r') buf[--len] = 0;
    char *s = buf + strspn(buf, " \t");
    if (*s == '#') continue;
    if (!*s) {
      rc = genet_err(err, errlen, "%s:%d: empty line (one pair a line: CONTENT STYLE[,STYLE...] "
                     "[OUTPUT])", file, line);
      break;
    }
    char *fld[4], *save = NULL;
    int nf = 0;
    for (char *p = strtok_r(s, " \t", &save); p && nf < 4; p = strtok_r(NULL, " \t", &save))
      fld[nf++] = p;
    if (nf < 2 || nf > 3) {
      rc = genet_err(err, errlen, "%s:%d: %d field%s, expected CONTENT STYLE[,STYLE...] [OUTPUT]",
                     file, line, nf, nf == 1 ? "" : "s");
      break;
    }
    int nstyle = count_list(fld[1]);
    if (nstyle < 1 || nstyle > PAIRS_MAX_STYLES) {
      rc = genet_err(err, errlen, "%s:%d: %d style images (1 to %d)", file, line, nstyle,
                     PAIRS_MAX_STYLES);
      break;
    }
    if (nblend && nblend != nstyle) {
      rc = genet_err(err, errlen, "%s:%d: %d style image%s, but style_blend has %d weight%s", file,
                     line, nstyle, nstyle == 1 ? "" : "s", nblend, nblend == 1 ? "" : "s");
      break;
    }
    if (readable(fld[0], e, sizeof e)) {
      rc = genet_err(err, errlen, "%s:%d: content %s", file, line, e);
      break;
    }
    char *copy = xstrdup(fld[1]), *sv = NULL;
    for (char *p = strtok_r(copy, ", ", &sv); p && !rc; p = strtok_r(NULL, ", ", &sv))
      if (readable(p, e, sizeof e)) rc = genet_err(err, errlen, "%s:%d: style %s", file, line, e);
    free(copy);
    if (rc) break;
    char out[GENET_PATH_MAX + 32];
    if (nf == 3) snprintf(out, sizeof out, "%s", fld[2]);
    else snprintf(out, sizeof out, "pair_%d/result.png", ps->n + 1);
    for (int i = 0; i < ps->n && !rc; i++)
      if (!strcmp(ps->p[i].output, out))
        rc = genet_err(err, errlen, "%s:%d: output %s is line %d's too", file, line, out,
                       ps->p[i].line);
    if (rc) break;
    if (ps->n == cap) {
      cap = cap ? 2 * cap : 16;
      ps->p = xrealloc(ps->p, sizeof *ps->p * cap);
    }
    ps->p[ps->n++] = (Pair){line, xstrdup(fld[0]), xstrdup(fld[1]), xstrdup(out)};
  }
  if (!rc && ferror(f)) rc = genet_err(err, errlen, "pairs = %s: read failed", file);
  if (!rc && !ps->n) rc = genet_err(err, errlen, "pairs = %s: no pairs", file);
  fclose(f);
  if (rc) pairs_free(ps);
  return rc ? -1 : 0;
}

// OUT/output, or output itself when absolute.
static void output_path(char *dst, size_t n, const char *out_dir, const Pair *p) {
  if (p->output[0] == '/') snprintf(dst, n, "%s", p->output);
  else snprintf(dst, n, "%s/%s", out_dir, p->output);
}

// Copies src to dst whole or not at all (atomic_file.h).
static int copy_file(const char *src, const char *dst, char *err, size_t errlen) {
  FILE *in = file_fopen_read(src, 0, err, errlen);
  if (!in) return -1;
  AtomicFile a;
  if (atomic_open(&a, dst, NULL, err, errlen)) {
    fclose(in);
    return -1;
  }
  char buf[1 << 16];
  size_t k;
  int bad = 0;
  while ((k = fread(buf, 1, sizeof buf, in)) > 0) bad |= fwrite(buf, 1, k, a.f) != k;
  bad |= ferror(in);
  fclose(in);
  if (bad) {
    atomic_abort(&a);
    return genet_err(err, errlen, "%s -> %s: copy failed", src, dst);
  }
  return atomic_commit(&a, err, errlen);
}

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

// OUT/index.html: one row per pair, its images side by side.
static int write_index(const Pairs *ps, const char *file, const char *out_dir, char *err,
                       size_t errlen) {
  char path[GENET_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/index.html", out_dir);
  AtomicFile a;
  if (atomic_open(&a, path, NULL, err, errlen)) return -1;
  FILE *f = a.f;
  fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>genet style pairs</title>\n"
        "<style>body{font-family:sans-serif}td{padding:4px;vertical-align:top}"
        "img{max-width:256px}</style></head><body>\n<h1>Style transfer: ", f);
  html_text(f, file);
  fprintf(f, " (%d pairs)</h1>\n<table>\n<tr><th>pair</th><th>content</th><th>style</th>"
          "<th>result</th></tr>\n", ps->n);
  for (int i = 0; i < ps->n; i++) {
    const Pair *p = &ps->p[i];
    fprintf(f, "<tr><td>%d (line %d)</td><td>", i + 1, p->line);
    html_text(f, p->content);
    fputs("</td><td>", f);
    html_text(f, p->style);
    fputs("</td><td><a href=\"", f);
    html_text(f, p->output);
    fputs("\"><img src=\"", f);
    html_text(f, p->output);
    fputs("\"></a><br>", f);
    html_text(f, p->output);
    fprintf(f, " (<a href=\"pair_%d/metrics.jsonl\">metrics</a>)</td></tr>\n", i + 1);
  }
  fputs("</table>\n</body></html>\n", f);
  return atomic_commit(&a, err, errlen);
}

// Runs pair k (0-based) as a single-process style job; 0 finished, 1 stopped (signal or
// max_steps), exits on an error.
static int run_pair(Comm *world, const Pairs *ps, int k, const char *job, int nover, char **over,
                    TaskResolve resolve, const char *ckpt_dir, const char *out_dir) {
  const Pair *p = &ps->p[k];
  char kv[5][GENET_PATH_MAX + 64];
  snprintf(kv[0], sizeof kv[0], "content=%s", p->content);
  snprintf(kv[1], sizeof kv[1], "style=%s", p->style);
  snprintf(kv[2], sizeof kv[2], "pairs=");
  snprintf(kv[3], sizeof kv[3], "checkpoint_dir=%s/pair_%d", ckpt_dir, k + 1);
  snprintf(kv[4], sizeof kv[4], "out_dir=%s/pair_%d", out_dir, k + 1);
  // The command line's overrides, less those of the five keys set here.
  char **args = xmalloc(sizeof(char *) * (size_t)(nover + 5));
  int nargs = 0;
  for (int i = 0; i < nover; i++) {
    int mine = 0;
    for (int j = 0; j < 5; j++) {
      size_t klen = strcspn(kv[j], "=") + 1;
      mine |= !strncmp(over[i], kv[j], klen);
    }
    if (!mine) args[nargs++] = over[i];
  }
  for (int i = 0; i < 5; i++) args[nargs++] = kv[i];
  Trainer t;
  memset(&t, 0, sizeof t);
  // One process per pair: no collectives; the node's cores still split between the ranks.
  t.comm = (Comm){.kind = COMM_SINGLE, .rank = 0, .size = 1, .local_rank = world->local_rank,
                  .local_size = world->local_size};
  char err[GENET_ERR_MAX];
  const TaskOps *ops = resolve(&t.cfg, job, nargs, args, err, sizeof err);
  if (!ops) comm_abort(world, "pair %d (%s line %d): %s", k + 1, job, p->line, err);
  printf("| pair %d/%d (line %d) on rank %d: %s + %s -> %s\n", k + 1, ps->n, p->line, world->rank,
         p->content, p->style, p->output);
  fflush(stdout);
  trainer_open(&t, job, ops);
  int rc = trainer_run(&t, ops);
  int done = rc == 0 && t.work_done > t.work_total;  // style: every evaluation of every stage
  trainer_close(&t);
  config_free(&t.cfg);
  free(args);
  if (!done) return 1;
  char res[GENET_PATH_MAX + 64], dst[GENET_PATH_MAX + 64], mark[GENET_PATH_MAX + 64];
  snprintf(res, sizeof res, "%s/pair_%d/result.png", out_dir, k + 1);
  output_path(dst, sizeof dst, out_dir, p);
  if (strcmp(res, dst)) {
    char dir[GENET_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", dst);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = 0;
    if ((slash && slash != dir && dir_make(dir, err, sizeof err)) || copy_file(res, dst, err, sizeof err))
      comm_abort(world, "pair %d: %s", k + 1, err);
  }
  snprintf(mark, sizeof mark, "%s/pair_%d/pair.done", ckpt_dir, k + 1);
  AtomicFile a;
  if (atomic_open(&a, mark, NULL, err, sizeof err)) comm_abort(world, "pair %d: %s", k + 1, err);
  fprintf(a.f, "%s %s %s\n", p->content, p->style, p->output);
  if (atomic_commit(&a, err, sizeof err)) comm_abort(world, "pair %d: %s", k + 1, err);
  return 0;
}

int style_pairs_main(Comm *comm, const Config *cfg, const char *job, int nover, char **over,
                     TaskResolve resolve) {
  const char *file = config_str(cfg, "pairs");
  const char *blend = config_str(cfg, "style_blend");
  char err[GENET_ERR_MAX];
  Pairs ps;
  if (pairs_read(&ps, file, blend[0] ? count_list(blend) : 0, err, sizeof err)) {
    if (comm->rank == 0) fprintf(stderr, "genet: %s\n", err);
    return 2;
  }
  // The job's own directories; copies: cfg is freed by the caller only after we return.
  char *ckpt_dir = xstrdup(config_str(cfg, "checkpoint_dir"));
  char *out_dir = xstrdup(config_str(cfg, "out_dir"));
  int stopped = 0, mine = 0, skipped = 0;
  for (int k = comm->rank; k < ps.n && !stopped; k += comm->size) {
    char mark[GENET_PATH_MAX + 64];
    snprintf(mark, sizeof mark, "%s/pair_%d/pair.done", ckpt_dir, k + 1);
    mine++;
    if (access(mark, F_OK) == 0) {
      printf("| pair %d/%d (line %d) on rank %d: finished already (%s), skipped\n", k + 1, ps.n,
             ps.p[k].line, comm->rank, mark);
      skipped++;
      continue;
    }
    stopped = run_pair(comm, &ps, k, job, nover, over, resolve, ckpt_dir, out_dir);
  }
  printf("| rank %d: %d pair%s of %d (%d finished before), %s\n", comm->rank, mine,
         mine == 1 ? "" : "s", ps.n, skipped, stopped ? "stopped: resume with the same job" : "done");
  fflush(stdout);
  int any = comm_sum_double(comm, stopped) > 0;
  int rc = any ? GENET_EXIT_STOPPED : 0;
  if (!any && comm->rank == 0) {
    if (dir_make(out_dir, err, sizeof err) || write_index(&ps, file, out_dir, err, sizeof err))
      comm_abort(comm, "%s", err);
    printf("| all %d pairs done: %s/index.html\n", ps.n, out_dir);
  }
  free(ckpt_dir);
  free(out_dir);
  pairs_free(&ps);
  return rc;
}
