// report_svg.h: a line chart as inline SVG (no script, no external file): one polyline per
// series over a shared x axis, gridlines with tick labels, a legend with each series' last
// value. The y axis turns logarithmic when every value is positive and they span 100x or more
// (loss and tokens/s in one chart stay readable).
#pragma once
#include <stdio.h>

typedef struct {
  const char *name;
  const double *x, *y;  // x ascending; y NAN where a value is missing (the line breaks there)
  int n;
} SvgSeries;

void svg_chart(FILE *f, const SvgSeries *s, int ns);
