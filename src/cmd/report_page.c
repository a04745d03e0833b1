// report_page.c: header, charts, images, text files and the job, in that order.
#include "cmd/report_page.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/report_html.h"
#include "cmd/report_svg.h"
#include "core/file_open.h"
#include "core/util.h"

#define TEXT_MAX (256 << 10)   // text files beyond this show their beginning
#define IMAGE_MAX (32 << 20)   // larger images are listed, not embedded

static const char *style =
    "body{font-family:sans-serif;margin:20px auto;max-width:1000px;color:#222;padding:0 12px}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}"
    "h3{font-size:15px;margin:14px 0 4px}"
    "table{border-collapse:collapse}td,th{padding:2px 14px 2px 0;text-align:left;vertical-align:top}"
    "th{color:#555;font-weight:normal}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;"
    "word-break:break-all;font-size:12px}figure{display:inline-block;margin:0 12px 12px 0;vertical-align:top}"
    "figcaption{font-size:12px;color:#555}img{max-width:100%;image-rendering:pixelated}.note{color:#777}"
    "svg{max-width:100%;height:auto}";

// Reads a whole file up to max bytes; *total is its size. NULL when unreadable.
static unsigned char *read_head(const char *dir, const char *name, size_t max, size_t *n, size_t *total) {
  char path[GENET_PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_read(path, 1, err, sizeof err);  // no link out of the run directory
  if (!f) {
    if (errno != ENOENT) fprintf(stderr, "genet: warning: %s; not embedded\n", err);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  *total = sz > 0 ? (size_t)sz : 0;
  size_t want = *total < max ? *total : max;
  unsigned char *b = xmalloc(want + 1);
  *n = fread(b, 1, want, f);
  int bad = ferror(f);  // a short read from an error is not the whole file
  fclose(f);
  if (bad) {
    fprintf(stderr, "genet: warning: %s: read error: not shown\n", path);
    free(b);
    return NULL;
  }
  return b;
}

static void row_str(FILE *f, const char *label, const char *v) {
  if (!v) return;
  fprintf(f, "<tr><th>%s</th><td>", label);
  html_text(f, v);
  fputs("</td></tr>\n", f);
}

static void row_num(FILE *f, const char *label, double v, const char *fmt) {
  if (!isfinite(v)) return;
  fprintf(f, "<tr><th>%s</th><td>", label);
  fprintf(f, fmt, v);
  fputs("</td></tr>\n", f);
}

static void header(FILE *f, const ReportInputs *in) {
  const ReportLog *r = in->log;
  fputs("<table>\n", f);
  row_str(f, "run directory", in->dir);
  if (r) {
    const JsonObj *s = &r->start, *e = &r->end;
    row_str(f, "task", jsonl_str(s, "task"));
    if (r->end_is_last) row_str(f, "status", jsonl_str(e, "status"));
    else if (r->starts) row_str(f, "status", "no end record after the last start (still running, or killed)");
    // The position reached (a resumed run's end record counts only its own steps).
    double step = r->end_is_last && isfinite(jsonl_num(e, "step")) ? jsonl_num(e, "step") : r->last_step;
    row_num(f, "steps", step, "%.0f");
    if (r->seconds > 0) {
      fputs("<tr><th>time</th><td>", f);
      double t = r->seconds;
      // The times are the log's: past ten million hours (or infinite) they are not a real run's,
      // and (int) of a larger double is undefined (it printed -2147483648 h).
      if (!(t < 3.6e10)) fputs("over 10000000 h (times in the log out of range)", f);
      else if (t >= 3600) fprintf(f, "%lld h %02d min", (long long)(t / 3600), (int)fmod(t / 60, 60));
      else if (t >= 60) fprintf(f, "%d min %02d s", (int)(t / 60), (int)fmod(t, 60));
      else fprintf(f, "%.1f s", t);
      fprintf(f, " (%d run%s)</td></tr>\n", r->starts > 1 ? r->starts : 1,
              r->starts > 1 ? "s: resumed" : "");
    }
    if (r->end_is_last) {
      if (jsonl_num(e, "steps") > 0)  // not after a run that found nothing left to do
        row_num(f, r->starts > 1 ? "steps/s (last run)" : "steps/s", jsonl_num(e, "steps_per_s"), "%.3g");
      const char *bt = jsonl_str(e, "best.tag");
      double bv = jsonl_num(e, "best.value");
      if (bt && isfinite(bv)) {
        fputs("<tr><th>best</th><td>", f);
        html_text(f, bt);
        fprintf(f, " = %.6g</td></tr>\n", bv);
      }
      row_str(f, "checkpoint", jsonl_str(e, "checkpoint"));
    }
    double t0 = jsonl_num(s, "time");
    if (isfinite(t0) && t0 >= 0 && t0 < 1e11) {
      time_t tt = (time_t)t0;
      struct tm tm;
      char when[64];
      if (gmtime_r(&tt, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
        row_str(f, r->starts > 1 ? "last started" : "started", when);
    }
    row_str(f, "host", jsonl_str(s, "host"));
    row_str(f, "cpu", jsonl_str(s, "cpu"));
    row_str(f, "device", jsonl_str(s, "device"));
    row_num(f, "ranks", jsonl_num(s, "ranks"), "%.0f");
    row_num(f, "threads", jsonl_num(s, "threads"), "%.0f");
    row_str(f, "genet", jsonl_str(s, "genet"));
  }
  fputs("</table>\n", f);
}

static void charts(FILE *f, const ReportInputs *in) {
  fputs("<h2>Metrics</h2>\n", f);
  if (in->log_warning[0]) {
    fputs("<p class=\"note\">", f);
    html_text(f, in->log_warning);
    fputs("</p>\n", f);
  }
  const ReportLog *r = in->log;
  if (!r || !r->ns) {
    fputs(r ? "<p class=\"note\">metrics.jsonl holds no scalar records.</p>\n"
            : "<p class=\"note\">No metrics.jsonl in this directory.</p>\n", f);
    return;
  }
  if (r->dropped)
    fprintf(f, "<p class=\"note\">Showing the first %d of %ld series (tags): %ld more are left out, to "
            "keep the page small.</p>\n", r->ns, r->ns + r->dropped, r->dropped);
  char *done = xcalloc((size_t)r->ns, 1);
  SvgSeries *s = xmalloc((size_t)r->ns * sizeof *s);
  for (int i = 0; i < r->ns; i++) {  // groups in the order their first tag appeared
    if (done[i]) continue;
    size_t glen = strcspn(r->s[i].tag, "/");
    int n = 0;
    for (int j = i; j < r->ns; j++)
      if (!done[j] && strcspn(r->s[j].tag, "/") == glen && !memcmp(r->s[j].tag, r->s[i].tag, glen)) {
        done[j] = 1;
        s[n++] = (SvgSeries){r->s[j].tag, r->s[j].step, r->s[j].val, r->s[j].n};
      }
    fputs("<h3>", f);
    html_escape(f, r->s[i].tag, glen);
    fputs("</h3>\n", f);
    svg_chart(f, s, n);
  }
  free(s);
  free(done);
}

// A PNG's width and height from its IHDR, or -1 when the bytes are not a PNG.
static int png_size(const unsigned char *b, size_t n, uint32_t *w, uint32_t *h) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n < 24 || memcmp(b, sig, 8) || memcmp(b + 12, "IHDR", 4)) return -1;
  *w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
  *h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
  return 0;
}

static void figure(FILE *f, const char *dir, const char *name) {
  size_t n, total;
  unsigned char *b = read_head(dir, name, IMAGE_MAX, &n, &total);
  uint32_t w, h;
  fputs("<figure>", f);
  if (!b || n != total || png_size(b, n, &w, &h)) {
    fputs("<figcaption>", f);
    html_text(f, name);
    fputs(!b ? ": unreadable" : n != total ? ": too large to embed" : ": not a PNG file", f);
    fputs("</figcaption>", f);
  } else {
    fputs("<img alt=\"", f);
    html_text(f, name);
    fprintf(f, "\" width=\"%u\" src=\"data:image/png;base64,", (unsigned)w);
    html_base64(f, b, n);
    fputs("\"><figcaption>", f);
    html_text(f, name);
    fprintf(f, " (%u x %u)</figcaption>", (unsigned)w, (unsigned)h);
  }
  fputs("</figure>\n", f);
  free(b);
}

// "fake_samples_epoch_012.png" -> its prefix length (up to the digits) and 12; -1 without digits.
static long long seq_number(const char *name, size_t *prefix) {
  size_t n = strlen(name) - 4, d = n;  // names end in ".png"
  while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') d--;
  if (d == n || n - d > 18) return -1;
  *prefix = d;
  return strtoll(name + d, NULL, 10);
}

int report_png_order(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t px = strlen(x), py = strlen(y);  // the order of (prefix, number, name): a total order
  long long nx = seq_number(x, &px), ny = seq_number(y, &py);
  size_t m = px < py ? px : py;
  int c = strncmp(x, y, m);
  if (c || px != py) return c ? c : px < py ? -1 : 1;
  if (nx != ny) return nx < ny ? -1 : 1;
  return strcmp(x, y);
}

static void images(FILE *f, const ReportInputs *in) {
  fputs("<h2>Images</h2>\n", f);
  if (!in->npng) {
    fputs("<p class=\"note\">No PNG images in this directory.</p>\n", f);
    return;
  }
  size_t p;
  for (int i = 0; i < in->npng; i++)  // single images first (real_samples.png, result.png)
    if (seq_number(in->png[i], &p) < 0) figure(f, in->dir, in->png[i]);
  // Then each numbered sequence (adjacent and in order, by report_png_order): the first, two
  // in between and the latest.
  for (int i = 0; i < in->npng;) {
    size_t pi;
    if (seq_number(in->png[i], &pi) < 0) {
      i++;
      continue;
    }
    int j = i + 1;
    while (j < in->npng && seq_number(in->png[j], &p) >= 0 && p == pi && !strncmp(in->png[i], in->png[j], pi)) j++;
    int n = j - i, pick[4] = {0, (n - 1) / 3, 2 * (n - 1) / 3, n - 1};
    fputs("<h3>", f);
    html_escape(f, in->png[i], pi);
    fprintf(f, "*.png</h3>\n<p class=\"note\">%d image%s%s</p>\n", n, n > 1 ? "s" : "",
            n > 4 ? ": the first, two in between and the latest" : "");
    for (int k = 0; k < 4; k++)
      if (k == 0 || pick[k] != pick[k - 1]) figure(f, in->dir, in->png[i + pick[k]]);
    i = j;
  }
}

static void text_file(FILE *f, const char *dir, const char *name, const char *title) {
  size_t n, total;
  unsigned char *b = read_head(dir, name, TEXT_MAX, &n, &total);
  fputs("<h3>", f);
  html_text(f, title);
  fputs("</h3>\n", f);
  if (!b) {
    fputs("<p class=\"note\">unreadable</p>\n", f);
    return;
  }
  if (n < total) fprintf(f, "<p class=\"note\">the first %zu of %zu bytes</p>\n", n, total);
  fputs("<pre>", f);
  html_escape(f, (const char *)b, n);
  fputs("</pre>\n", f);
  free(b);
}

void report_page(FILE *f, const ReportInputs *in) {
  const char *task = in->log ? jsonl_str(&in->log->start, "task") : NULL;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        // Nothing outside the page may load: images are data: URIs, the style is inline.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n"
        "<title>genet report: ", f);
  html_text(f, task ? task : in->dir);
  fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>genet run", style);
  if (task) {
    fputs(": ", f);
    html_text(f, task);
  }
  fputs("</h1>\n", f);
  header(f, in);
  charts(f, in);
  images(f, in);
  fputs("<h2>Text</h2>\n", f);
  if (!in->ntxt) fputs("<p class=\"note\">No text files (*.txt besides job.txt) in this directory.</p>\n", f);
  for (int i = 0; i < in->ntxt; i++) text_file(f, in->dir, in->txt[i], in->txt[i]);
  fputs("<h2>Job</h2>\n", f);
  if (in->have_job) text_file(f, in->dir, "job.txt", "job.txt (the resolved job)");
  else fputs("<p class=\"note\">No job.txt in this directory.</p>\n", f);
  fputs("</body></html>\n", f);
}
