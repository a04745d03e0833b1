// utf8.c: UTF-8 checking and Python's str.lower() on top of utf8proc.
//
// utf8proc's utf8proc_tolower() is Unicode's *simple* lowercase mapping (one code point to
// one); Python's str.lower() applies the *full* mapping (SpecialCasing.txt, unconditional
// entries) plus the Final_Sigma rule. The two differ in exactly two places, handled here:
//  - U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE: simple 'i', full 'i' + U+0307 COMBINING
//    DOT ABOVE (two code points). It is the only unconditional multi-code-point lowercase.
//  - U+03A3 GREEK CAPITAL LETTER SIGMA: simple 'σ' always; Python gives final 'ς' when the
//    sigma follows a cased letter and no cased letter follows it, case-ignorable code points
//    skipped on both sides (Unicode 3.13, Final_Sigma; CPython's handle_capital_sigma):
//    'ΟΔΟΣ' -> 'οδος', 'Σ' -> 'σ', 'ΣΑ' -> 'σα', "ΟΔΟΣ'" -> "οδος'".
// The language-specific entries of SpecialCasing (Lithuanian, Turkish, Azeri) are ignored,
// as Python ignores them. Tested against Python on tests/fixtures/lower_words.tsv
// (scripts/fixtures/make_lower_words.py). Checked once for every code point, alone and as a sigma's
// neighbour, against Python 3.11 (Unicode 14) with utf8proc 2.8 (Unicode 15): identical but for
// 111 code points that Unicode 15 added (marks and format characters, case-ignorable there).
#include "data/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <utf8proc.h>

#include "core/util.h"

// Why a sequence that utf8proc rejects is invalid, for the error line (utf8proc only says
// that it is). k = bytes available from p.
static const char *explain(const uint8_t *p, size_t k, char *buf, size_t len) {
  uint8_t b = p[0];
  if (b >= 0x80 && b <= 0xbf) return "continuation byte without a lead byte";
  if (b == 0xc0 || b == 0xc1) return "overlong encoding of an ASCII character";
  if (b >= 0xf5) return "never used in UTF-8";
  size_t need = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  for (size_t i = 1; i < need; i++)
    if (i >= k || (p[i] & 0xc0) != 0x80) {
      snprintf(buf, len, "truncated sequence: %zu bytes expected, %zu found", need, i);
      return buf;
    }
  if ((b == 0xe0 && p[1] < 0xa0) || (b == 0xf0 && p[1] < 0x90)) return "overlong encoding";
  if (b == 0xed && p[1] >= 0xa0) {
    snprintf(buf, len, "surrogate U+%04X", 0xd000u | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu));
    return buf;
  }
  if (b == 0xf4 && p[1] >= 0x90) return "code point above U+10FFFF";
  return "invalid sequence";
}

int utf8_check(const char *s, size_t n, size_t *bad, char *why, size_t whylen) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
    if (k <= 0) {
      char detail[80];
      *bad = i;
      snprintf(why, whylen, "invalid UTF-8 byte 0x%02x at column %zu (%s)", p[i], i + 1,
               explain(p + i, n - i, detail, sizeof detail));
      return -1;
    }
    i += (size_t)k;
  }
  return 0;
}

// Unicode's Case_Ignorable (DerivedCoreProperties.txt): general categories Mn, Me, Cf, Lm, Sk,
// and Word_Break MidLetter, MidNumLet, Single_Quote (a handful of punctuation marks, listed;
// utf8proc has no Word_Break property).
static int case_ignorable(utf8proc_int32_t c) {
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
      return 1;
    default:
      break;
  }
  static const utf8proc_int32_t mid[] = {
      0x0027, 0x002e, 0x003a, 0x00b7, 0x0387, 0x055f, 0x05f4, 0x2018, 0x2019,
      0x2024, 0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a};
  for (size_t i = 0; i < sizeof mid / sizeof mid[0]; i++)
    if (c == mid[i]) return 1;
  return 0;
}

// Unicode's Cased: Lowercase or Uppercase or Lt. Letters of categories Lu, Ll, Lt, and any
// code point with a case mapping (Other_Lowercase/Other_Uppercase such as 'ⅰ', 'ⓐ'); the
// rest of Other_Lowercase/Other_Uppercase has no mapping: 'ª', 'º', the squared, circled and
// negative Latin capitals U+1F130-U+1F189, and modifier letters (Lm: case-ignorable, so
// never asked here).
static int cased(utf8proc_int32_t c) {
  utf8proc_category_t k = utf8proc_category(c);
  if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) return 1;
  if (utf8proc_tolower(c) != c || utf8proc_toupper(c) != c || utf8proc_totitle(c) != c) return 1;
  return c == 0x00aa || c == 0x00ba || (c >= 0x1f130 && c <= 0x1f149) ||
         (c >= 0x1f150 && c <= 0x1f169) || (c >= 0x1f170 && c <= 0x1f189);
}

static utf8proc_int32_t decode(const uint8_t *p, size_t k) {
  utf8proc_int32_t c;
  if (utf8proc_iterate(p, (utf8proc_ssize_t)k, &c) <= 0) genet_die("utf8_lower: invalid UTF-8 (check it first)");
  return c;
}

// Final_Sigma for the sigma at s[at, next): a cased letter before it and none after it, each
// looked for past case-ignorable code points.
static int final_sigma(const uint8_t *p, size_t n, size_t at, size_t next) {
  utf8proc_int32_t c = 0;
  size_t j = at;
  int found = 0;
  while (j > 0) {
    do j--; while (j > 0 && (p[j] & 0xc0) == 0x80);  // back to the previous lead byte
    c = decode(p + j, n - j);
    if (!case_ignorable(c)) {
      found = 1;
      break;
    }
  }
  if (!found || !cased(c)) return 0;
  for (j = next; j < n;) {
    utf8proc_ssize_t k = utf8proc_iterate(p + j, (utf8proc_ssize_t)(n - j), &c);
    if (k <= 0) genet_die("utf8_lower: invalid UTF-8 (check it first)");
    if (!case_ignorable(c)) return !cased(c);
    j += (size_t)k;
  }
  return 1;
}

size_t utf8_lower(char *out, const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  uint8_t *o = (uint8_t *)out;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {  // ASCII: lowercase is ASCII, no context
      *o++ = (uint8_t)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
      i++;
      continue;
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
    if (k <= 0) genet_die("utf8_lower: invalid UTF-8 at byte %zu (check it first)", i);
    if (c == 0x0130) {  // full mapping: 'i' + COMBINING DOT ABOVE
      *o++ = 'i';
      o += utf8proc_encode_char(0x0307, o);
    } else if (c == 0x03a3) {
      o += utf8proc_encode_char(final_sigma(p, n, i, i + (size_t)k) ? 0x03c2 : 0x03c3, o);
    } else {
      o += utf8proc_encode_char(utf8proc_tolower(c), o);
    }
    i += (size_t)k;
  }
  *o = 0;
  return (size_t)(o - (uint8_t *)out);
}
