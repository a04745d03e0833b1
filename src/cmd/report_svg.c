// report_svg.c: the chart's geometry, ticks and paths.
#include "cmd/report_svg.h"

#include <math.h>
#include <string.h>

#include "cmd/report_html.h"

enum { W = 980, PL = 70, PR = 700, PT = 20, PB = 250, LEG_X = 720, LEG_ROW = 18 };
static const char *palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

typedef struct {
  double lo, hi;
  int log;
} Axis;

static double to_unit(const Axis *a, double v) {
  if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  return (v - a->lo) / (a->hi - a->lo);
}
static double px_x(const Axis *a, double v) { return PL + (PR - PL) * to_unit(a, v); }
static double px_y(const Axis *a, double v) { return PB - (PB - PT) * to_unit(a, v); }

// 1, 2 or 5 times a power of ten, near span / 5.
static double nice_step(double span) {
  double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
  return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

static void grid_line(FILE *f, const Axis *a, double v, int vertical) {
  char label[32];
  // not -1.7e-17 from the linear tick loop's sums (a log axis has no zero: its ticks are exact)
  if (!a->log && fabs(v) < 1e-12 * (a->hi - a->lo)) v = 0;
  // Whole numbers in full (steps, 10000), the rest with 4 digits (0.001, 2.5, 1.5e-05).
  snprintf(label, sizeof label, v == floor(v) && fabs(v) < 1e9 ? "%.0f" : "%.4g", v);
  if (vertical) {
    double x = px_x(a, v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, PT, x, PB, x, PB + 16, label);
  } else {
    double y = px_y(a, v);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", PL, y, PR, y, PL - 6, y + 4, label);
  }
}

static void ticks(FILE *f, Axis *a, int vertical) {
  if (a->log) {
    int d0 = (int)floor(log10(a->lo) + 1e-9), d1 = (int)ceil(log10(a->hi) - 1e-9), few = d1 - d0 <= 2;
    int every = (d1 - d0) / 10 + 1;  // about 10 labels at most
    for (int d = d0; d <= d1; d += every)
      for (int m = 1; m <= 5; m += few ? (m == 1 ? 1 : 3) : 10) {
        double v = m * pow(10, d);
        if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9)) grid_line(f, a, v, vertical);
      }
    return;
  }
  double st = nice_step(a->hi - a->lo);
  double k0 = ceil(a->lo / st - 1e-9);
  for (int i = 0; i < 20 && (k0 + i) * st <= a->hi + st * 1e-9; i++) grid_line(f, a, (k0 + i) * st, vertical);
}

// What can be drawn: finite and within 1e300 (so that spans and sums stay finite).
static int plottable(double x, double y) { return fabs(x) <= 1e300 && fabs(y) <= 1e300; }

// [*lo, *hi] widened when too narrow for its ticks to advance (a single value, a flat line).
static void widen(double *lo, double *hi) {
  double m = fmax(fabs(*lo), fabs(*hi));
  if (*hi - *lo > 1e-9 * m) return;
  double d = m > 0 ? 0.1 * m : 1;
  *lo -= d, *hi += d;
}

// The data's range, rounded out to ticks on y.
static void fit(Axis *x, Axis *y, const SvgSeries *s, int ns) {
  double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < s[k].n; i++) {
      if (!plottable(s[k].x[i], s[k].y[i])) continue;
      xl = fmin(xl, s[k].x[i]), xh = fmax(xh, s[k].x[i]);
      yl = fmin(yl, s[k].y[i]), yh = fmax(yh, s[k].y[i]);
    }
  *x = (Axis){xl, xh, 0};
  *y = (Axis){yl, yh, yl >= 1e-300 && yh / yl >= 100};
  if (!isfinite(yl)) return;  // nothing to draw
  widen(&x->lo, &x->hi);
  if (y->log) {
    y->lo = pow(10, floor(log10(yl))), y->hi = pow(10, ceil(log10(yh)));
    return;
  }
  widen(&yl, &yh);
  double st = nice_step(yh - yl);
  y->lo = floor(yl / st) * st, y->hi = ceil(yh / st) * st;
}

// One series as polylines broken at missing values; of the points that fall in one pixel
// column only the lowest and highest are kept, so a long run stays a small page.
static void path(FILE *f, const Axis *ax, const Axis *ay, const SvgSeries *s, const char *colour) {
  int open = 0, col = -1, lo = -1, hi = -1;
  for (int i = 0; i <= s->n; i++) {
    int ok = i < s->n && plottable(s->x[i], s->y[i]);
    int c = ok ? (int)floor(px_x(ax, s->x[i])) : -2;
    if (lo >= 0 && (!ok || c != col)) {  // flush the previous column
      int a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
      fprintf(f, "%.1f,%.1f ", px_x(ax, s->x[a]), px_y(ay, s->y[a]));
      if (b != a) fprintf(f, "%.1f,%.1f ", px_x(ax, s->x[b]), px_y(ay, s->y[b]));
      lo = hi = -1;
    }
    if (!ok) {
      if (open) fputs("\"/>\n", f);
      open = 0;
      continue;
    }
    if (!open) fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour);
    open = 1;
    if (lo < 0) col = c, lo = hi = i;
    if (s->y[i] < s->y[lo]) lo = i;
    if (s->y[i] > s->y[hi]) hi = i;
  }
  int finite = 0;
  for (int i = 0; i < s->n; i++) finite += plottable(s->x[i], s->y[i]);
  if (finite > 60) return;
  for (int i = 0; i < s->n; i++)  // few points (validation, test): mark each
    if (plottable(s->x[i], s->y[i]))
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px_x(ax, s->x[i]), px_y(ay, s->y[i]), colour);
}

static void legend(FILE *f, const SvgSeries *s, int k, const char *colour) {
  int y = PT + 6 + k * LEG_ROW, missing = 0;
  double last = NAN;
  for (int i = 0; i < s->n; i++) plottable(s->x[i], s->y[i]) ? (void)(last = s->y[i]) : (void)missing++;
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/><text x=\"%d\" y=\"%d\">",
          LEG_X, y, LEG_X + 18, y, colour, LEG_X + 24, y + 4);
  html_text(f, s->name);
  if (!isnan(last)) fprintf(f, " = %.5g", last);
  if (missing) fprintf(f, " (%d non-finite)", missing);
  fputs("</text>\n", f);
}

void svg_chart(FILE *f, const SvgSeries *s, int ns) {
  int h = PB + 36;
  if (PT + 6 + ns * LEG_ROW > h) h = PT + 6 + ns * LEG_ROW;
  fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", W, h, W, h);
  Axis ax, ay;
  fit(&ax, &ay, s, ns);
  if (!isfinite(ay.lo)) {
    fprintf(f, "<text x=\"%d\" y=\"%d\">no finite values</text>\n", PL, (PT + PB) / 2);
  } else {
    ticks(f, &ax, 1);
    ticks(f, &ay, 0);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", PL, PT, PR - PL, PB - PT);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n", (PL + PR) / 2, PB + 30);
    if (ay.log) fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#666\">log scale</text>\n", PL + 4, PT - 6);
    for (int k = 0; k < ns; k++) path(f, &ax, &ay, &s[k], palette[k % 10]);
  }
  for (int k = 0; k < ns; k++) legend(f, &s[k], k, palette[k % 10]);
  fputs("</svg>\n", f);
}
