// utf8.h: UTF-8 checking and lowercasing for word-level text (`genet prepare text`, prompts of
// `genet generate`), equal to what the reference's Python does: bytes.decode('utf-8') (strict)
// and str.lower(). The Unicode data comes from utf8proc (libutf8proc-dev).
#pragma once
#include <stddef.h>

// 0 if s[0, n) is valid UTF-8 as Python's strict decoder reads it (no overlong forms, no
// surrogates U+D800-U+DFFF, nothing above U+10FFFF, no truncated sequences). Otherwise -1,
// *bad = the offset of the first offending byte, and why = e.g.
// "invalid UTF-8 byte 0xff at column 17 (never used in UTF-8)", column = *bad + 1.
int utf8_check(const char *s, size_t n, size_t *bad, char *why, size_t whylen);

// Python 3's str.lower() of the valid UTF-8 string s[0, n), written to out (room for 2 * n + 1
// bytes: no code point's lowercase takes more than twice its bytes), NUL-terminated. Returns
// the length written. s is the whole string of Python's call: a capital sigma lowercases by
// its neighbours within s. Invalid UTF-8 is a broken invariant (check it first): aborts.
size_t utf8_lower(char *out, const char *s, size_t n);
