// jsonl.c: a recursive-descent reader of one JSON object per line (RFC 8259), flattening
// nested objects into dotted keys and skipping arrays.
#include "data/jsonl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/utf8.h"

typedef struct {
  const char *s, *p, *end;
  char *err;
  size_t errlen;
} Parser;

typedef struct {  // a growing NUL-terminated byte string
  char *b;
  size_t n, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = 2 * (b->n + n + 1) + 16;
    b->b = xrealloc(b->b, b->cap);
  }
  memcpy(b->b + b->n, s, n);
  b->n += n;
  b->b[b->n] = 0;
}

static int fail(Parser *q, const char *what) {
  if (q->p >= q->end)
    return genet_err(q->err, q->errlen, "column %zu: expected %s, found the end of the line",
                     (size_t)(q->p - q->s) + 1, what);
  unsigned char c = (unsigned char)*q->p;
  if (c >= 0x20 && c < 0x7f)
    return genet_err(q->err, q->errlen, "column %zu: expected %s, found '%c'", (size_t)(q->p - q->s) + 1, what, c);
  return genet_err(q->err, q->errlen, "column %zu: expected %s, found byte 0x%02x", (size_t)(q->p - q->s) + 1, what, c);
}

static void skip_ws(Parser *q) {
  while (q->p < q->end && (*q->p == ' ' || *q->p == '\t' || *q->p == '\r' || *q->p == '\n')) q->p++;
}

static int hex4(const char *p, const char *end, unsigned *v) {
  if (end - p < 4) return -1;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    *v = *v * 16 + (unsigned)d;
  }
  return 0;
}

static void put_utf8(Buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 63)), u[2] = (char)(0x80 | (cp & 63)), n = 3;
  else
    u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 63)), u[2] = (char)(0x80 | (cp >> 6 & 63)),
    u[3] = (char)(0x80 | (cp & 63)), n = 4;
  buf_put(b, u, n);
}

// A string at q->p (its opening quote), decoded into out (which it resets).
static int parse_string(Parser *q, Buf *out) {
  out->n = 0;
  buf_put(out, "", 0);
  if (q->p >= q->end || *q->p != '"') return fail(q, "'\"'");
  q->p++;
  for (;;) {
    const char *run = q->p;  // copy plain bytes in runs
    while (q->p < q->end && *q->p != '"' && *q->p != '\\' && (unsigned char)*q->p >= 0x20) q->p++;
    buf_put(out, run, (size_t)(q->p - run));
    if (q->p >= q->end) return fail(q, "the closing '\"' of a string");
    if (*q->p == '"') {
      q->p++;
      return 0;
    }
    if (*q->p != '\\') return fail(q, "a string character (control characters must be escaped)");
    q->p++;
    if (q->p >= q->end) return fail(q, "an escape after '\\'");
    const char *simple = strchr("\"\\/bfnrt", *q->p);
    if (simple && *q->p) {
      buf_put(out, &"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"], 1);
      q->p++;
      continue;
    }
    if (*q->p != 'u') return fail(q, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    unsigned cp, lo;
    if (hex4(q->p + 1, q->end, &cp)) {
      q->p++;
      return fail(q, "4 hex digits after \\u");
    }
    if (cp == 0) return fail(q, "a character other than \\u0000");
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(q, "a high surrogate before this low one");
    q->p += 5;
    if (cp >= 0xd800 && cp <= 0xdbff) {  // a pair of surrogates is one code point above U+FFFF
      if (q->end - q->p < 6 || q->p[0] != '\\' || q->p[1] != 'u' || hex4(q->p + 2, q->end, &lo) ||
          lo < 0xdc00 || lo > 0xdfff)
        return fail(q, "a \\uDC00-\\uDFFF low surrogate after a high one");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      q->p += 6;
    }
    put_utf8(out, cp);
  }
}

static int parse_number(Parser *q, double *v) {
  const char *a = q->p, *e = q->end, *p = a;
  if (p < e && *p == '-') p++;
  if (p < e && *p == '0') p++;
  else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
  else return fail(q, "a value (number, string, true, false, null, object or array)");
  if (p < e && *p == '.') {
    if (++p >= e || *p < '0' || *p > '9') return q->p = p, fail(q, "a digit after '.'");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || *p < '0' || *p > '9') return q->p = p, fail(q, "a digit in the exponent");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  char small[64], *num = (size_t)(p - a) < sizeof small ? small : xmalloc((size_t)(p - a) + 1);
  memcpy(num, a, (size_t)(p - a));
  num[p - a] = 0;
  *v = strtod(num, NULL);  // the grammar above is a subset of strtod's
  if (num != small) free(num);
  q->p = p;
  return 0;
}

static int literal(Parser *q, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(q->end - q->p) < n || memcmp(q->p, word, n)) return -1;
  q->p += n;
  return 0;
}

static void add_field(JsonObj *o, const char *key, JsonType t, double num, const char *str) {
  if (o->n == o->cap) {
    o->cap = o->cap ? 2 * o->cap : 16;
    o->f = xrealloc(o->f, (size_t)o->cap * sizeof *o->f);
  }
  o->f[o->n++] = (JsonField){xstrdup(key), t, num, str ? xstrdup(str) : NULL};
}

static int parse_object(Parser *q, JsonObj *o, Buf *key, int depth, int keep);

// An array's elements, checked and dropped.
static int parse_value(Parser *q, JsonObj *o, Buf *key, int depth, int keep);
static int parse_array(Parser *q, JsonObj *o, Buf *key, int depth) {
  q->p++;  // '['
  skip_ws(q);
  if (q->p < q->end && *q->p == ']') return q->p++, 0;
  for (;;) {
    if (parse_value(q, o, key, depth, 0)) return -1;
    skip_ws(q);
    if (q->p < q->end && *q->p == ',') {
      q->p++;
      continue;
    }
    if (q->p < q->end && *q->p == ']') return q->p++, 0;
    return fail(q, "',' or ']' in an array");
  }
}

// One value under the (dotted) name in key; keep = 0 checks it without storing (in arrays).
static int parse_value(Parser *q, JsonObj *o, Buf *key, int depth, int keep) {
  skip_ws(q);
  if (q->p >= q->end) return fail(q, "a value");
  char c = *q->p;
  if (c == '{' || c == '[') {
    if (depth >= JSONL_MAX_DEPTH)
      return genet_err(q->err, q->errlen, "column %zu: nested deeper than %d levels", (size_t)(q->p - q->s) + 1,
                       JSONL_MAX_DEPTH);
    return c == '{' ? parse_object(q, o, key, depth + 1, keep) : parse_array(q, o, key, depth + 1);
  }
  if (c == '"') {
    Buf s = {0};
    int rc = parse_string(q, &s);
    if (!rc && keep) add_field(o, key->b, JSON_STR, 0, s.b);
    free(s.b);
    return rc;
  }
  int t = !literal(q, "true");
  if (t || !literal(q, "false")) {
    if (keep) add_field(o, key->b, JSON_BOOL, t, NULL);
    return 0;
  }
  if (!literal(q, "null")) {
    if (keep) add_field(o, key->b, JSON_NULL, NAN, NULL);
    return 0;
  }
  double v = 0;
  if (parse_number(q, &v)) return -1;
  if (keep) add_field(o, key->b, JSON_NUM, v, NULL);
  return 0;
}

// An object at q->p ('{'); its members' names are appended to key after a '.' (at the top
// level, without one) and removed again.
static int parse_object(Parser *q, JsonObj *o, Buf *key, int depth, int keep) {
  size_t base = key->n;
  q->p++;  // '{'
  skip_ws(q);
  if (q->p < q->end && *q->p == '}') return q->p++, 0;
  Buf name = {0};
  int rc = -1;
  for (;;) {
    skip_ws(q);
    if (q->p >= q->end || *q->p != '"') {
      fail(q, "a '\"' starting a key");
      break;
    }
    if (parse_string(q, &name)) break;
    key->n = base;
    if (base) buf_put(key, ".", 1);
    buf_put(key, name.b, name.n);
    skip_ws(q);
    if (q->p >= q->end || *q->p != ':') {
      fail(q, "':' after a key");
      break;
    }
    q->p++;
    if (parse_value(q, o, key, depth, keep)) break;
    skip_ws(q);
    if (q->p < q->end && *q->p == ',') {
      q->p++;
      continue;
    }
    if (q->p < q->end && *q->p == '}') {
      q->p++;
      rc = 0;
      break;
    }
    fail(q, "',' or '}' after a value");
    break;
  }
  free(name.b);
  key->n = base;
  if (key->b) key->b[base] = 0;
  return rc;
}

int jsonl_parse(JsonObj *o, const char *line, size_t len, char *err, size_t errlen) {
  jsonl_free(o);
  size_t bad;
  char why[160];
  if (utf8_check(line, len, &bad, why, sizeof why)) return genet_err(err, errlen, "%s", why);
  Parser q = {line, line, line + len, err, errlen};
  skip_ws(&q);
  if (q.p >= q.end || *q.p != '{') return fail(&q, "'{' starting an object");
  Buf key = {0};
  buf_put(&key, "", 0);
  int rc = parse_object(&q, o, &key, 1, 1);
  free(key.b);
  if (!rc) {
    skip_ws(&q);
    if (q.p < q.end) rc = fail(&q, "the end of the line after the object");
  }
  if (rc) jsonl_free(o);
  return rc;
}

void jsonl_free(JsonObj *o) {
  for (int i = 0; i < o->n; i++) {
    free(o->f[i].key);
    free(o->f[i].str);
  }
  free(o->f);
  *o = (JsonObj){0};
}

const JsonField *jsonl_get(const JsonObj *o, const char *key) {
  for (int i = o->n - 1; i >= 0; i--)
    if (!strcmp(o->f[i].key, key)) return &o->f[i];
  return NULL;
}

double jsonl_num(const JsonObj *o, const char *key) {
  const JsonField *f = jsonl_get(o, key);
  return f && f->type == JSON_NUM ? f->num : NAN;
}

const char *jsonl_str(const JsonObj *o, const char *key) {
  const JsonField *f = jsonl_get(o, key);
  return f && f->type == JSON_STR ? f->str : NULL;
}
