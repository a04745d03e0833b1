// test_jsonl.c: the JSON-lines reader (src/data/jsonl.c): the records the trainer writes,
// escapes (\uXXXX and surrogate pairs against their UTF-8 bytes written out by hand), null,
// nested objects flattened and arrays skipped, and malformed lines refused with the column.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/jsonl.h"
#include "testlib.h"

static JsonObj o;
static char err[512];

static int parse(const char *line) { return jsonl_parse(&o, line, strlen(line), err, sizeof err); }

// A line that must be refused, with err containing `want`.
static void bad(const char *line, const char *want) {
  int rc = parse(line);
  test_check(rc == -1 && strstr(err, want) && o.n == 0, "refused %-28s -> %s", line, rc ? err : "(accepted)");
}

int main(void) {
  // The records of metrics.jsonl.
  int rc = parse("{\"event\":\"start\",\"time\":1764417600.25,\"task\":\"lm\",\"step\":0,\"resumed\":false,"
                 "\"ranks\":2,\"cpu\":\"AMD EPYC 7B13\",\"genet\":\"genet 0.3 (abc1234)\"}");
  test_check(rc == 0 && o.n == 8, "start record: %d fields (want 8) %s", o.n, rc ? err : "");
  test_check(!strcmp(jsonl_str(&o, "event"), "start") && !strcmp(jsonl_str(&o, "cpu"), "AMD EPYC 7B13"),
             "start record: strings");
  test_check(jsonl_num(&o, "time") == 1764417600.25 && jsonl_num(&o, "ranks") == 2, "start record: numbers exact");
  const JsonField *r = jsonl_get(&o, "resumed");
  test_check(r && r->type == JSON_BOOL && r->num == 0, "false is a boolean 0");
  test_check(isnan(jsonl_num(&o, "task")) && !jsonl_str(&o, "time") && !jsonl_get(&o, "nope"),
             "a string is no number, a number no string, a missing key NULL");

  rc = parse(" {\"step\":200, \"train/loss\" : 5.21 ,\"train/ppl\":null,\"ok\":true,\"x\":-0.5e-3,"
             "\"y\":1E+2,\"z\":0} \r");
  test_check(rc == 0 && o.n == 7, "scalar record with spaces and CR: %d fields %s", o.n, rc ? err : "");
  r = jsonl_get(&o, "train/ppl");
  test_check(r && r->type == JSON_NULL && isnan(jsonl_num(&o, "train/ppl")), "null is JSON_NULL, no number");
  test_check(jsonl_num(&o, "train/loss") == 5.21 && jsonl_num(&o, "x") == -0.0005 && jsonl_num(&o, "y") == 100 &&
                 jsonl_num(&o, "z") == 0 && jsonl_get(&o, "ok")->num == 1,
             "numbers: 5.21 -0.5e-3 1E+2 0, true");

  // The end record's nested "best", flattened; arrays (at any depth) skipped.
  rc = parse("{\"event\":\"end\",\"best\":{\"tag\":\"val/ppl\",\"value\":3.02,\"at\":{\"step\":800}},"
             "\"list\":[1,[2,{\"k\":\"v\"}],\"s\",null,{}],\"steps\":800,\"e\":{}}");
  test_check(rc == 0 && o.n == 5, "end record: %d fields (want 5: event best.tag best.value best.at.step steps) %s",
             o.n, rc ? err : "");
  test_check(!strcmp(jsonl_str(&o, "best.tag"), "val/ppl") && jsonl_num(&o, "best.value") == 3.02 &&
                 jsonl_num(&o, "best.at.step") == 800 && jsonl_num(&o, "steps") == 800 && !jsonl_get(&o, "list") &&
                 !jsonl_get(&o, "k") && !jsonl_get(&o, "list.k"),
             "nested object flattened to dotted keys, array skipped");
  rc = parse("{\"a\":1,\"a\":2}");
  test_check(rc == 0 && jsonl_num(&o, "a") == 2, "a repeated key: the last wins");
  rc = parse("{}");
  test_check(rc == 0 && o.n == 0, "empty object");

  // Escapes: the UTF-8 bytes written out by hand.
  rc = parse("{\"s\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC \\ud83d\\ude00 <\\u003c>\"}");
  const char *want = "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 <<>";
  test_check(rc == 0 && !strcmp(jsonl_str(&o, "s"), want), "escapes: simple, \\u00e9, \\u20AC, surrogate pair %s",
             rc ? err : "");
  rc = parse("{\"k\\u00e9y\":\"raw \xc3\xa9\"}");
  test_check(rc == 0 && !strcmp(jsonl_str(&o, "k\xc3\xa9y"), "raw \xc3\xa9"), "escaped key, raw UTF-8 value");
  char nested[2 * JSONL_MAX_DEPTH + 16] = "{\"a\":";
  for (int i = 1; i < JSONL_MAX_DEPTH; i++) strcat(nested, "[");
  for (int i = 1; i < JSONL_MAX_DEPTH; i++) strcat(nested, "]");
  strcat(nested, "}");
  test_check(parse(nested) == 0, "nesting %d deep accepted", JSONL_MAX_DEPTH);

  // Malformed lines: refused with where and what.
  bad("", "column 1: expected '{'");
  bad("[1,2]", "column 1: expected '{'");
  bad("{\"step\":200,\"train/lo", "column 22: expected the closing '\"'");
  bad("{\"step\":200,", "expected a '\"' starting a key, found the end");
  bad("{\"step\" 200}", "column 9: expected ':'");
  bad("{\"step\":200 \"a\":1}", "column 13: expected ',' or '}'");
  bad("{\"step\":200,}", "column 13: expected a '\"' starting a key");
  bad("{step:1}", "column 2: expected a '\"'");
  bad("{\"a\":01}", "column 7: expected ',' or '}'");
  bad("{\"a\":1.}", "column 8: expected a digit after '.'");
  bad("{\"a\":1e}", "expected a digit in the exponent");
  bad("{\"a\":-}", "column 6: expected a value");
  bad("{\"a\":NaN}", "column 6: expected a value");
  bad("{\"a\":Infinity}", "expected a value");
  bad("{\"a\":tru}", "expected a value");
  bad("{\"a\":'x'}", "expected a value");
  bad("{\"a\":1} x", "column 9: expected the end of the line");
  bad("{\"a\":1}{\"b\":2}", "column 8: expected the end of the line");
  bad("{\"a\":[1,2}", "expected ',' or ']'");
  bad("{\"a\":\"\\x\"}", "expected one of");
  bad("{\"a\":\"\\u12g4\"}", "expected 4 hex digits");
  bad("{\"a\":\"\\u0000\"}", "a character other than \\u0000");
  bad("{\"a\":\"\\ud83d\"}", "low surrogate after a high one");
  bad("{\"a\":\"\\ude00\"}", "a high surrogate before this low one");
  bad("{\"a\":\"tab\there\"}", "control characters must be escaped");
  bad("{\"a\":\"\xff\"}", "invalid UTF-8 byte 0xff at column 7");
  bad("{\"a\":\"\xc3\"}", "column 7");
  strcpy(nested, "{\"a\":");  // one level deeper
  for (int i = 0; i < JSONL_MAX_DEPTH; i++) strcat(nested, "[");
  for (int i = 0; i < JSONL_MAX_DEPTH; i++) strcat(nested, "]");
  strcat(nested, "}");
  bad(nested, "nested deeper than 64 levels");
  // Not NUL-terminated: the length bounds the parse.
  const char buf[] = "{\"a\":12}{garbage";
  rc = jsonl_parse(&o, buf, 8, err, sizeof err);
  test_check(rc == 0 && jsonl_num(&o, "a") == 12, "the length, not a NUL, ends the line");
  rc = jsonl_parse(&o, buf, 7, err, sizeof err);
  test_check(rc == -1, "cut one byte short: refused (%s)", err);
  jsonl_free(&o);
  return test_finish("jsonl");
}
