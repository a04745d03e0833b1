// report_html.c: HTML escaping and base64.
#include "cmd/report_html.h"

#include <string.h>

void html_escape(FILE *f, const char *s, size_t n) {
  size_t run = 0;  // plain bytes go out in runs
  for (size_t i = 0; i < n; i++) {
    const char *ent = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
                    : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;" : NULL;
    if (!ent) continue;
    fwrite(s + run, 1, i - run, f);
    fputs(ent, f);
    run = i + 1;
  }
  fwrite(s + run, 1, n - run, f);
}

void html_text(FILE *f, const char *s) { html_escape(f, s, strlen(s)); }

void html_base64(FILE *f, const unsigned char *d, size_t n) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char out[4];
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
    out[0] = a[v >> 18], out[1] = a[v >> 12 & 63];
    out[2] = i + 1 < n ? a[v >> 6 & 63] : '=';
    out[3] = i + 2 < n ? a[v & 63] : '=';
    fwrite(out, 1, 4, f);
  }
}
