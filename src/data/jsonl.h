// jsonl.h: one line of a JSON-lines file as a flat list of key/value pairs.
//
// The logs genet reads (metrics.jsonl) hold one object per line whose values are numbers,
// strings, booleans or null. A value that is itself an object is flattened one key at a time
// ({"best":{"tag":"val/ppl"}} gives "best.tag"); an array is checked and skipped. Lines are
// untrusted: anything that is not one JSON object (RFC 8259) returns -1 with one line in err
// saying at which column and what was expected; nothing here exits.
#pragma once
#include <stddef.h>

typedef enum { JSON_NUM, JSON_STR, JSON_BOOL, JSON_NULL } JsonType;

typedef struct {
  char *key;    // UTF-8, NUL-terminated; nested keys joined with '.'
  JsonType type;
  double num;   // JSON_NUM; JSON_BOOL: 0 or 1
  char *str;    // JSON_STR: UTF-8 with the escapes decoded, NUL-terminated; else NULL
} JsonField;

typedef struct {
  JsonField *f;
  int n, cap;
} JsonObj;

// Deeper nesting than this is refused (it only costs stack otherwise).
#define JSONL_MAX_DEPTH 64

// Parses `len` bytes (one line, without its newline; trailing spaces and a CR are fine) into
// o, which it clears first. Returns 0, or -1 with err "column C: expected ...".
// \u0000 is refused: keys and strings are C strings.
int jsonl_parse(JsonObj *o, const char *line, size_t len, char *err, size_t errlen);
void jsonl_free(JsonObj *o);
// The last field named key (a repeated key: the last one wins, as in Python), or NULL.
const JsonField *jsonl_get(const JsonObj *o, const char *key);
// The number under key, or NAN when the key is missing or not a number.
double jsonl_num(const JsonObj *o, const char *key);
// The string under key, or NULL when the key is missing or not a string.
const char *jsonl_str(const JsonObj *o, const char *key);
