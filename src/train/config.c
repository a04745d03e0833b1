// config.c: parsing and validating job files and overrides.
#include "train/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_open.h"
#include "core/util.h"

void config_init(Config *c, const CfgSpec *const *tables, const int *sizes, int ntables) {
  memset(c, 0, sizeof *c);
  for (int t = 0; t < ntables; t++)
    for (int i = 0; i < sizes[t]; i++) {
      GENET_ASSERT(c->nspec < CFG_MAX_KEYS);
      const CfgSpec *s = &tables[t][i];
      for (int j = 0; j < c->nspec; j++) GENET_ASSERT(strcmp(c->spec[j]->key, s->key) != 0);
      c->spec[c->nspec] = s;
      c->value[c->nspec] = s->def ? xstrdup(s->def) : NULL;
      c->origin[c->nspec] = xstrdup("default");
      c->nspec++;
    }
}

void config_init_like(Config *c, const Config *like) {
  memset(c, 0, sizeof *c);
  c->nspec = like->nspec;
  for (int i = 0; i < like->nspec; i++) c->spec[i] = like->spec[i];
}

void config_free(Config *c) {
  for (int i = 0; i < c->nspec; i++) {
    free(c->value[i]);
    free(c->origin[i]);
  }
  memset(c, 0, sizeof *c);
}

static int find(const Config *c, const char *key) {
  for (int i = 0; i < c->nspec; i++)
    if (strcmp(c->spec[i]->key, key) == 0) return i;
  return -1;
}

static int parse_ll(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) *out = 1;
  else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) *out = 0;
  else return -1;
  return 0;
}

static int in_choices(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, v, n)) return 1;
    if (!bar) break;
    p = bar + 1;
  }
  return 0;
}

// Checks `value` against the key's type and range; on error writes "<what> (got '<v>')".
static int validate(const CfgSpec *s, const char *v, char *why, size_t len) {
  int bounded = s->min <= s->max;
  switch (s->type) {
    case CFG_INT: {
      long long x;
      if (!bounded && parse_ll(v, &x)) return genet_err(why, len, "expected an integer");
      if (bounded && (parse_ll(v, &x) || x < s->min || x > s->max))  // past long long too
        return genet_err(why, len, "expected an integer in [%.15g, %.15g]", s->min, s->max);
      return 0;
    }
    case CFG_FLOAT: {
      double x;
      if (parse_double(v, &x)) return genet_err(why, len, "expected a number");
      if (bounded && (x < s->min || x > s->max))
        return genet_err(why, len, "expected a number in [%.15g, %.15g]", s->min, s->max);
      return 0;
    }
    case CFG_BOOL: {
      int b;
      return parse_bool(v, &b) ? genet_err(why, len, "expected true or false") : 0;
    }
    case CFG_CHOICE:
      return in_choices(s->choices, v) ? 0 : genet_err(why, len, "expected one of %s", s->choices);
    case CFG_STRING:  // empty only where the default is empty (an optional path)
      return *v || (s->def && !*s->def) ? 0 : genet_err(why, len, "expected a non-empty value");
  }
  return -1;
}

int config_set(Config *c, const char *key, const char *value, const char *origin, char *err,
               size_t errlen) {
  int i = find(c, key);
  if (i < 0 && c->ignore_unknown) return 0;
  if (i < 0) return genet_err(err, errlen, "%s: unknown key '%.60s'", origin, key);
  // Checkpoints store the job as `key = value` lines (meta/job) that a resume compares: a value
  // that would not read back the same (a line break, a '#' comment, surrounding spaces) is
  // refused here, before any work, instead of corrupting the stored job.
  size_t n = strlen(value);
  for (size_t j = 0; j < n; j++)
    if (value[j] == '\n' || value[j] == '\r' || value[j] == '#' ||
        ((unsigned char)value[j] < 0x20 && value[j] != '\t'))
      return genet_err(err, errlen, "%s: %s: the value holds a line break, a control character or "
                       "'#' (byte %zu); a job value must fit on one line of a job file", origin, key, j + 1);
  if (n && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[n - 1])))
    return genet_err(err, errlen, "%s: %s = '%.80s': a job value cannot start or end with a space",
                     origin, key, value);
  char why[160];
  if (validate(c->spec[i], value, why, sizeof why))
    return genet_err(err, errlen, "%s: %s = '%.80s': %s", origin, key, value, why);
  free(c->value[i]);
  free(c->origin[i]);
  c->value[i] = xstrdup(value);
  c->origin[i] = xstrdup(origin);
  return 0;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

int config_load_file(Config *c, const char *path, char *err, size_t errlen) {
  FILE *f = file_fopen_read(path, 0, err, errlen);  // a regular file: a FIFO would hang train
  if (!f && (errno == ENOENT || errno == EACCES))
    return genet_err(err, errlen, "%s: cannot open job file: %s", path, strerror(errno));
  if (!f) return -1;
  int rc = config_load_stream(c, f, path, err, errlen);
  fclose(f);
  return rc;
}

int config_load_text(Config *c, const char *text, const char *name, char *err, size_t errlen) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  if (!f) return genet_err(err, errlen, "%s: cannot read job text", name);
  int rc = config_load_stream(c, f, name, err, errlen);
  fclose(f);
  return rc;
}

int config_load_stream(Config *c, FILE *f, const char *path, char *err, size_t errlen) {
  char *line = NULL, origin[600];
  size_t cap = 0;
  ssize_t n;
  int lineno = 0, rc = 0, first_line[CFG_MAX_KEYS] = {0};
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    snprintf(origin, sizeof origin, "%s:%d", path, lineno);
    if ((size_t)n != strlen(line)) {
      rc = genet_err(err, errlen, "%s: NUL byte in job file (not a text file?)", origin);
      break;
    }
    if (n > 65536) {
      rc = genet_err(err, errlen, "%s: line of %zd characters, longer than 65536", origin, n);
      break;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = trim(line);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = genet_err(err, errlen, "%s: expected 'key = value', got '%.80s'", origin, s);
      break;
    }
    *eq = 0;
    char *key = trim(s), *val = trim(eq + 1);
    if (!*key) {
      rc = genet_err(err, errlen, "%s: missing key before '='", origin);
      break;
    }
    int k = find(c, key);
    if (k >= 0 && first_line[k]) {  // the last one winning silently hides a typo or a stale line
      rc = genet_err(err, errlen, "%s: %s set twice (first at line %d): keep one", origin, key, first_line[k]);
      break;
    }
    if (k >= 0) first_line[k] = lineno;
    if ((rc = config_set(c, key, val, origin, err, errlen))) break;
  }
  if (!rc && ferror(f)) rc = genet_err(err, errlen, "%s: read error", path);
  free(line);
  return rc;
}

// key=value arguments; `origin` names them in messages ("command line", "generate").
static int apply_args(Config *c, int n, char **kv, const char *origin, char *err, size_t errlen) {
  int seen[CFG_MAX_KEYS] = {0};
  for (int i = 0; i < n; i++) {
    char *eq = strchr(kv[i], '=');
    if (!eq || eq == kv[i])
      return genet_err(err, errlen, "%s: expected key=value, got '%s'", origin, kv[i]);
    char key[128];
    size_t klen = (size_t)(eq - kv[i]);
    if (klen >= sizeof key) return genet_err(err, errlen, "%s: key too long in '%s'", origin, kv[i]);
    memcpy(key, kv[i], klen);
    key[klen] = 0;
    int k = find(c, key);
    if (k >= 0 && seen[k]++)
      return genet_err(err, errlen, "%s: %s given twice: keep one", origin, key);
    if (config_set(c, key, eq + 1, origin, err, errlen)) return -1;
  }
  return 0;
}

int config_apply_overrides(Config *c, int n, char **kv, char *err, size_t errlen) {
  return apply_args(c, n, kv, "command line", err, errlen);
}

int config_parse_args(Config *c, const CfgSpec *keys, int nkeys, const char *cmd, int n, char **kv,
                      char *err, size_t errlen) {
  config_init(c, &keys, &nkeys, 1);
  for (int i = 0; i < n; i++) {  // an unknown key: list the known ones, there are few
    size_t klen = strcspn(kv[i], "=");
    int known = 0;
    for (int k = 0; k < nkeys && !known; k++) known = strlen(keys[k].key) == klen && !strncmp(keys[k].key, kv[i], klen);
    if (!known && kv[i][klen] == '=' && klen > 0) {
      int at = genet_err(err, errlen, "%s: unknown key '%.*s' (", cmd, (int)(klen < 60 ? klen : 60), kv[i]);
      for (int k = 0; k < nkeys; k++) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "%s%s", k ? ", " : "", keys[k].key);
      }
      size_t used = strlen(err);
      snprintf(err + used, errlen - used, ")");
      return at;
    }
  }
  return apply_args(c, n, kv, cmd, err, errlen);
}

int config_check_required(const Config *c, char *err, size_t errlen) {
  for (int i = 0; i < c->nspec; i++)
    if (!c->value[i]) return genet_err(err, errlen, "missing required key '%s' (%s)", c->spec[i]->key, c->spec[i]->help);
  return 0;
}

int config_same_value(const Config *c, int i, const char *a, const char *b) {
  if (!a || !b) return a == b;
  double x, y;
  int p, q;
  switch (c->spec[i]->type) {
    case CFG_INT:
    case CFG_FLOAT:
      return !parse_double(a, &x) && !parse_double(b, &y) ? x == y : !strcmp(a, b);
    case CFG_BOOL:
      return !parse_bool(a, &p) && !parse_bool(b, &q) ? p == q : !strcmp(a, b);
    default:
      return !strcmp(a, b);
  }
}

static int must_find(const Config *c, const char *key, CfgType type) {
  int i = find(c, key);
  if (i < 0) genet_die("config: no key '%s' in this task's table", key);
  GENET_ASSERT(c->spec[i]->type == type || (type == CFG_STRING && c->spec[i]->type == CFG_CHOICE));
  GENET_ASSERT(c->value[i] != NULL);
  return i;
}

long long config_int(const Config *c, const char *key) {
  long long v = 0;
  GENET_ASSERT(parse_ll(c->value[must_find(c, key, CFG_INT)], &v) == 0);
  return v;
}

double config_float(const Config *c, const char *key) {
  double v = 0;
  GENET_ASSERT(parse_double(c->value[must_find(c, key, CFG_FLOAT)], &v) == 0);
  return v;
}

int config_bool(const Config *c, const char *key) {
  int v = 0;
  GENET_ASSERT(parse_bool(c->value[must_find(c, key, CFG_BOOL)], &v) == 0);
  return v;
}

const char *config_str(const Config *c, const char *key) { return c->value[must_find(c, key, CFG_STRING)]; }

char *config_text(const Config *c) {
  size_t len = 1;
  for (int i = 0; i < c->nspec; i++)
    len += strlen(c->spec[i]->key) + (c->value[i] ? strlen(c->value[i]) : 0) + 8;
  char *out = xmalloc(len), *p = out;
  *p = 0;
  for (int i = 0; i < c->nspec; i++)
    p += sprintf(p, "%s = %s\n", c->spec[i]->key, c->value[i] ? c->value[i] : "");
  return out;
}
