// fuzz_jsonl.c: any bytes as one JSON line, and as a run's metrics.jsonl read by genet report
// and drawn into its page (the charts' ranges and ticks see whatever numbers the bytes hold).
#include <stdint.h>

#include "cmd/report_log.h"
#include "cmd/report_page.h"
#include "data/jsonl.h"
#include "fuzz_util.h"

// Whatever the values, the charts' coordinates and tick labels are numbers: a NaN or an
// infinity there would be an SVG error in the browser.
static void check_numbers(const char *page) {
  static const char *bad[] = {"=\"nan", "=\"-nan", "=\"inf", "=\"-inf", ">nan<", ">-nan<", ">inf<", ">-inf<"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (strstr(page, bad[i])) abort();
  for (const char *p = strstr(page, "points=\""); p; p = strstr(p, "points=\"")) {
    p += 8;
    size_t n = strcspn(p, "\"");
    if (strspn(p, "0123456789.,- ") != n) abort();
    p += n;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char err[8192], warn[8192], path[256];
  JsonObj o = {0};
  if (jsonl_parse(&o, (const char *)data, n, err, sizeof err) == 0) {
    for (int i = 0; i < o.n; i++) (void)jsonl_num(&o, o.f[i].key);
  }
  jsonl_free(&o);
  fuzz_write("metrics.jsonl", data, n);
  snprintf(path, sizeof path, "%s/metrics.jsonl", fuzz_dir());
  ReportLog r;
  if (report_log_read(&r, path, warn, sizeof warn, err, sizeof err) == 0) {
    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    if (!f) abort();
    ReportInputs in = {.dir = fuzz_dir(), .log = &r, .log_warning = warn};
    report_page(f, &in);
    fclose(f);
    check_numbers(page);
    free(page);
    report_log_free(&r);
  }
  return 0;
}
