// report_html.h: the few pieces of HTML writing `genet report` needs: escaped text and files
// as base64 (for data: URIs), both streamed to a FILE.
#pragma once
#include <stddef.h>
#include <stdio.h>

// s[0, n) with & < > " ' written as entities, safe inside elements and quoted attributes.
void html_escape(FILE *f, const char *s, size_t n);
// html_escape of a NUL-terminated string.
void html_text(FILE *f, const char *s);
// data[0, n) in base64 (RFC 4648, with padding).
void html_base64(FILE *f, const unsigned char *data, size_t n);
