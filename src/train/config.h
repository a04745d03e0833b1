// config.h: job files (`key = value`, `#` comments) and `key=value` command-line overrides,
// checked against a table of known keys before any work starts. A bad key or value is one
// line naming the file and line (or the override), the key, the value and what was expected.
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef enum { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STRING, CFG_CHOICE } CfgType;

// What a resumed run does with a key whose value differs from the checkpoint's job.
typedef enum {
  CFG_RESUME_APPLIES = 0,  // the new value is used from the next step on (lr, clip, epochs, ...)
  CFG_RESUME_FIXED,        // refused: the continuation would be meaningless (seed, shapes)
  CFG_RESUME_IGNORED,      // not used when resuming (resume, init_weights)
} CfgOnResume;

typedef struct {
  const char *key;
  CfgType type;
  const char *def;      // default as text; NULL = required
  double min, max;      // CFG_INT / CFG_FLOAT: allowed closed range (min > max: unbounded)
  const char *choices;  // CFG_CHOICE: "a|b|c"
  const char *help;
  CfgOnResume on_resume;
} CfgSpec;

#define CFG_MAX_KEYS 96

typedef struct {
  const CfgSpec *spec[CFG_MAX_KEYS];
  int nspec;
  char *value[CFG_MAX_KEYS];   // resolved text of each key
  char *origin[CFG_MAX_KEYS];  // "default", "FILE:LINE" or "command line"
  int ignore_unknown;          // skip keys not in the tables (a first pass that only looks
                               // for `task`, before the task's own table is known)
} Config;

// Builds a config from one or more spec tables (e.g. the shared keys and the task's keys).
void config_init(Config *c, const CfgSpec *const *tables, const int *sizes, int ntables);
void config_free(Config *c);
// Applies a job file's `key = value` lines. Returns 0, or -1 with a one-line message in err.
// Overrides are config_apply_overrides' and the required keys config_check_required's.
int config_load_file(Config *c, const char *path, char *err, size_t errlen);
// The same from an open stream or from text in memory (a checkpoint's meta/job); `name` is
// what messages call it.
int config_load_stream(Config *c, FILE *f, const char *name, char *err, size_t errlen);
int config_load_text(Config *c, const char *text, const char *name, char *err, size_t errlen);
int config_set(Config *c, const char *key, const char *value, const char *origin, char *err,
               size_t errlen);
int config_apply_overrides(Config *c, int n, char **kv, char *err, size_t errlen);
// A command's key=value arguments (generate, sample, prepare, report), checked as a job's keys
// are, with the same types, ranges and messages, `cmd` naming them: c is initialised from the
// one table `keys` (config_free it), then each argument applied. 0, or -1 with one line in err.
int config_parse_args(Config *c, const CfgSpec *keys, int nkeys, const char *cmd, int n, char **kv,
                      char *err, size_t errlen);
int config_check_required(const Config *c, char *err, size_t errlen);

long long config_int(const Config *c, const char *key);
double config_float(const Config *c, const char *key);
int config_bool(const Config *c, const char *key);
const char *config_str(const Config *c, const char *key);

// An empty config over the same key tables as `like` (e.g. to read a checkpoint's job into).
void config_init_like(Config *c, const Config *like);
// Whether two texts are the same value of key i (numbers compared as numbers: 20 == 20.0).
int config_same_value(const Config *c, int i, const char *a, const char *b);

// `key = value` lines in table order: printed once at start and stored in checkpoints.
char *config_text(const Config *c);
