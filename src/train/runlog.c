// runlog.c: rank 0's record of a run (runlog.h): the scalars of one step gathered into one
// record of metrics.jsonl and one TensorBoard Event each, the best value of the task's tag, the
// progress line and the summary at the end.
#include "train/runlog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "train/metrics_log.h"
#include "train/tb_events.h"
#include "train/trainer.h"

enum { RL_MAX_TAGS = 48, RL_TAG = 64, RL_LATEST = 4 };

struct RunLog {
  MetricsLog m;
  TbWriter tb;
  char host[256];
  // The record being gathered: the scalars given for one step.
  int n;
  int64_t step, epoch;
  double time;
  char tag[RL_MAX_TAGS][RL_TAG];
  double val[RL_MAX_TAGS];
  int in_step;             // inside the task's step: its metrics are those of step t->step + 1
  const char *best_tag;
  int have_best;
  double best;
  int64_t best_step;
  char ckpt[GENET_PATH_MAX];
  // This process's run: when and where it started, for rates and the summary.
  double t0, mono0;
  int64_t step0, work0;
  double busy, step_t0;    // seconds inside finished steps; the running step's start
  double ms_busy;          // runlog_step_ms: busy at the previous call
  int64_t ms_step;
  // The progress line: redrawn on a terminal, a plain line every progress_every s otherwise.
  int tty, drawn;
  double drawn_at, progress_every, plain_at;
  int nlatest;
  char ltag[RL_LATEST][RL_TAG];
  double lval[RL_LATEST];
};

static double unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void runlog_clear_line(RunLog *r) {
  if (r && r->drawn) {
    fputs("\r\033[K", stdout);
    fflush(stdout);
    r->drawn = 0;
  }
}

static void warn(RunLog *r, const char *what, const char *err) {
  runlog_clear_line(r);
  fprintf(stderr, "genet: warning: %s not written (%s); training goes on without it\n", what, err);
}

void runlog_warn_output(Trainer *t, const char *what, const char *err) {
  if (t->comm.rank == 0) warn(t->runlog, what, err);
}

// "model name" of /proc/cpuinfo's first processor.
static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) || !colon) continue;
    colon += 1 + (colon[1] == ' ');
    colon[strcspn(colon, "\n")] = 0;
    snprintf(buf, n, "%s", colon);
    break;
  }
  if (ferror(f)) snprintf(buf, n, "unknown");  // a read error is not the end of the file
  fclose(f);
}

// Rank 0's RunLog, made on first use (the resumed checkpoint is known before the start).
static RunLog *get(Trainer *t) {
  if (t->comm.rank == 0 && !t->runlog) t->runlog = xcalloc(1, sizeof *t->runlog);
  return t->runlog;
}

void runlog_start(Trainer *t, const char *best_tag, int resumed) {
  if (t->comm.rank != 0) return;
  RunLog *r = get(t);
  r->best_tag = best_tag;
  r->t0 = unix_now();
  r->mono0 = r->plain_at = now_s();
  r->step0 = r->ms_step = t->step;
  r->work0 = t->work_done;
  // Under mpirun, rank 0's stdout is a pseudo-terminal that mpirun copies into whatever its own
  // stdout is (a log file, a pipe): there the redrawn line would fill the file, so a launched
  // rank counts as not on a terminal and prints the plain line.
  r->tty = isatty(fileno(stdout)) && !getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_RANK") &&
           !getenv("PMIX_RANK");
  r->progress_every = (double)config_int(&t->cfg, "progress_every");
  if (gethostname(r->host, sizeof r->host) != 0) snprintf(r->host, sizeof r->host, "unknown");
  r->host[sizeof r->host - 1] = 0;
  char err[GENET_ERR_MAX], path[GENET_PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/job.txt", t->out_dir);
  if (write_text_atomic(path, t->job_text, err, sizeof err)) warn(r, "job.txt", err);
  if (mlog_open(&r->m, t->out_dir)) warn(r, "metrics.jsonl", r->m.err);
  // The best of a resumed run includes what the records up to its checkpoint saw.
  if (resumed && best_tag)
    if ((r->have_best = mlog_scan_lowest(r->m.path, best_tag, t->step, &r->best, &r->best_step)) < 0) {
      r->have_best = 0;
      warn(r, "the best value so far", "metrics.jsonl: read error");
    }
  char cpu[256], version[128];
  cpu_model(cpu, sizeof cpu);
  snprintf(version, sizeof version, "%s (commit %s)", GENET_VERSION, GENET_GIT_COMMIT);
  JsonLine j = {0};
  jl_begin(&j);
  jl_str(&j, "event", "start");
  jl_num(&j, "time", r->t0);
  jl_str(&j, "task", t->task);
  jl_int(&j, "step", t->step);
  jl_bool(&j, "resumed", resumed);
  jl_int(&j, "ranks", t->comm.size);
  jl_int(&j, "threads", t->ctx.nthreads);
  jl_str(&j, "device", t->ctx.dev == DEV_CUDA ? "cuda" : "cpu");
  jl_str(&j, "host", r->host);
  jl_int(&j, "pid", (long long)getpid());
  jl_str(&j, "cpu", cpu);
  jl_str(&j, "genet", version);
  jl_str(&j, "out_dir", t->out_dir);
  jl_str(&j, "checkpoint_dir", t->ckpt_dir);
  jl_end(&j);
  if (r->m.f && mlog_write(&r->m, &j)) warn(r, "metrics.jsonl", r->m.err);
  jl_free(&j);
  if (tb_open(&r->tb, t->out_dir, r->host, r->t0)) warn(r, "the TensorBoard event file", r->tb.err);
}

// The latest value of the losses the progress line shows (train/loss*, train/ppl).
static void note_latest(RunLog *r, const char *tag, double v) {
  if (strncmp(tag, "train/loss", 10) && strcmp(tag, "train/ppl")) return;
  int i = 0;
  while (i < r->nlatest && strcmp(r->ltag[i], tag)) i++;
  if (i == r->nlatest) {
    if (r->nlatest == RL_LATEST) return;
    snprintf(r->ltag[r->nlatest++], RL_TAG, "%s", tag);
  }
  r->lval[i] = v;
}

// Writes the gathered record: one line of metrics.jsonl, one Event per scalar.
static void flush(RunLog *r) {
  if (!r || !r->n) return;
  JsonLine j = {0};
  jl_begin(&j);
  jl_int(&j, "step", r->step);
  jl_int(&j, "epoch", r->epoch);
  jl_num(&j, "time", r->time);
  for (int i = 0; i < r->n; i++) jl_num(&j, r->tag[i], r->val[i]);
  jl_end(&j);
  if (r->m.f && mlog_write(&r->m, &j)) warn(r, "metrics.jsonl", r->m.err);
  jl_free(&j);
  for (int i = 0; i < r->n && r->tb.f; i++)
    if (tb_scalar(&r->tb, r->tag[i], r->step, r->time, (float)r->val[i]))
      warn(r, "the TensorBoard event file", r->tb.err);
  for (int i = 0; i < r->n; i++) {
    note_latest(r, r->tag[i], r->val[i]);
    if (r->best_tag && !strcmp(r->tag[i], r->best_tag) && isfinite(r->val[i]) &&
        (!r->have_best || r->val[i] < r->best)) {
      r->best = r->val[i];
      r->best_step = r->step;
      r->have_best = 1;
    }
  }
  r->n = 0;
}

void runlog_metric(Trainer *t, const char *tag, double v) {
  RunLog *r = t->runlog;
  if (!r) return;
  int64_t step = t->step + r->in_step;
  if (r->n && r->step != step) flush(r);
  if (!r->n) {
    r->step = step;
    r->epoch = t->epoch;
    r->time = unix_now();
  }
  int i = 0;
  while (i < r->n && strcmp(r->tag[i], tag)) i++;  // given twice in a step: the last value
  if (i == r->n) {
    if (r->n == RL_MAX_TAGS) return;
    snprintf(r->tag[r->n++], RL_TAG, "%s", tag);
  }
  r->val[i] = v;
}

void runlog_metrics_flush(Trainer *t) { flush(t->runlog); }

double runlog_step_ms(Trainer *t) {
  RunLog *r = t->runlog;
  if (!r) return NAN;
  // Time inside steps only: an epoch's end (grids, the SWD, evaluation) and checkpoints
  // between steps do not count, so the figure does not jump at epoch boundaries.
  double busy = r->busy + (r->in_step ? now_s() - r->step_t0 : 0.0);
  int64_t step = t->step + r->in_step, n = step - r->ms_step;
  double ms = n > 0 ? 1e3 * (busy - r->ms_busy) / (double)n : NAN;
  r->ms_busy = busy;
  r->ms_step = step;
  return ms;
}

void runlog_step_begin(Trainer *t) {
  RunLog *r = t->runlog;
  if (!r) return;
  r->in_step = 1;
  r->step_t0 = now_s();
}

// Steps (or the task's own unit) of the whole run: epochs x steps an epoch, capped by
// max_steps; 0 when unknown.
static int64_t total_of(const Trainer *t, int64_t *done, const char **unit) {
  if (t->work_unit) {
    *done = t->work_done;
    *unit = t->work_unit;
    return t->work_total;
  }
  *done = t->step;
  *unit = "step";
  int64_t total = t->steps_per_epoch > 0 ? t->epochs * t->steps_per_epoch : 0;
  if (t->max_steps > 0 && (total == 0 || t->max_steps < total)) total = t->max_steps;
  return total;
}

static void progress_text(Trainer *t, char *buf, size_t n) {
  RunLog *r = t->runlog;
  const char *unit;
  int64_t done, total = total_of(t, &done, &unit);
  double secs = now_s() - r->mono0, rate = secs > 0 ? (double)(done - (t->work_unit ? r->work0 : r->step0)) / secs : 0;
  size_t k = (size_t)snprintf(buf, n, "%s", t->task);
  if (t->steps_per_epoch > 0 && k < n)
    k += (size_t)snprintf(buf + k, n - k, " | epoch %lld/%lld", (long long)(t->epoch < t->epochs ? t->epoch + 1 : t->epochs),
                          (long long)t->epochs);
  if (k < n) k += (size_t)snprintf(buf + k, n - k, " | %s %lld", unit, (long long)done);
  // A task whose limit is checked between steps (style: max_evals, between L-BFGS steps, as the
  // seed's loop) can pass it within the last step: say so rather than show "eval 22/4".
  if (total > 0 && done > total && k < n)
    k += (size_t)snprintf(buf + k, n - k, " (past %lld: the step in progress ends whole)", (long long)total);
  else if (total > 0 && k < n)
    k += (size_t)snprintf(buf + k, n - k, "/%lld", (long long)total);
  if (k < n) k += (size_t)snprintf(buf + k, n - k, " | %.2f %ss/s", rate, unit);
  if (total > 0 && rate > 0 && done <= total && k < n) {
    long long eta = (long long)((double)(total - done) / rate + 0.5);
    k += (size_t)snprintf(buf + k, n - k, " | ETA %lld:%02lld:%02lld", eta / 3600, eta / 60 % 60, eta % 60);
  }
  for (int i = 0; i < r->nlatest && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, " | %s %.4g", r->ltag[i] + 6, r->lval[i]);  // without "train/"
}

void runlog_step_end(Trainer *t) {
  RunLog *r = t->runlog;
  if (!r) return;
  r->in_step = 0;
  r->busy += now_s() - r->step_t0;
  // At an epoch's last step the epoch end adds its numbers to the same step's record.
  if (!(t->steps_per_epoch > 0 && t->batch >= t->steps_per_epoch)) flush(r);
  double now = now_s();
  char line[512];
  if (r->tty && now - r->drawn_at >= 0.2) {  // at most 5 redraws a second
    progress_text(t, line, sizeof line);
    // Cut to the terminal's width: a wrapped line could not be erased by \r and \033[K.
    struct winsize ws;
    if (ioctl(fileno(stdout), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
      line[ws.ws_col - 1] = 0;
    fprintf(stdout, "\r\033[K%s", line);
    fflush(stdout);
    r->drawn = 1;
    r->drawn_at = now;
  } else if (!r->tty && r->progress_every > 0 && now - r->plain_at >= r->progress_every) {
    progress_text(t, line, sizeof line);
    trainer_log(t, "| progress: %s\n", line);
    r->plain_at = now;
  }
}

void runlog_checkpoint(Trainer *t, const char *path) {
  RunLog *r = get(t);
  if (r) snprintf(r->ckpt, sizeof r->ckpt, "%s", path);
}

void runlog_end(Trainer *t, const char *status) {
  RunLog *r = t->runlog;
  if (!r) return;
  flush(r);
  double now = unix_now(), secs = now - r->t0;
  int64_t steps = t->step - r->step0;
  JsonLine j = {0};
  jl_begin(&j);
  jl_str(&j, "event", "end");
  jl_num(&j, "time", now);
  jl_int(&j, "step", t->step);
  jl_str(&j, "status", status);
  jl_int(&j, "steps", steps);
  jl_num(&j, "seconds", secs);
  jl_num(&j, "steps_per_s", secs > 0 ? (double)steps / secs : NAN);
  if (r->best_tag) {
    JsonLine b = {0};
    jl_begin(&b);
    jl_str(&b, "tag", r->best_tag);
    jl_num(&b, "value", r->have_best ? r->best : NAN);
    if (r->have_best) jl_int(&b, "step", r->best_step);
    else jl_raw(&b, "step", "null");
    jl_end(&b);
    jl_raw(&j, "best", b.s);
    jl_free(&b);
  }
  jl_str(&j, "checkpoint", r->ckpt[0] ? r->ckpt : NULL);
  jl_end(&j);
  if (r->m.f && mlog_write(&r->m, &j)) warn(r, "metrics.jsonl", r->m.err);
  jl_free(&j);
  int m_ok = r->m.f != NULL;  // still open: every record was written
  // The summary: what this process did, where its results are, how to read them.
  char best[160] = "";
  if (r->best_tag && r->have_best)
    snprintf(best, sizeof best, "; best %s %.6g at step %lld", r->best_tag, r->best, (long long)r->best_step);
  trainer_log(t, "| summary: %lld steps in %.2f s (%.3g steps/s), %s at step %lld%s\n", (long long)steps,
              secs, secs > 0 ? (double)steps / secs : 0.0, status, (long long)t->step, best);
  trainer_log(t, "| last checkpoint: %s\n", r->ckpt[0] ? r->ckpt : "none");
  trainer_log(t, "| metrics: %s%s%s%s (tensorboard --logdir %s)\n", r->m.path, m_ok ? "" : " (incomplete: see the warning)",
              r->tb.f ? ", TensorBoard: " : "", r->tb.f ? r->tb.path : "", t->out_dir);
  trainer_log(t, "| report: genet report %s\n", t->out_dir);
  mlog_close(&r->m);
  tb_close(&r->tb);
  free(r);
  t->runlog = NULL;
}
