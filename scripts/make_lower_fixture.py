#!/usr/bin/python3
"""Writes tests/fixtures/lower_words.tsv: words and Python's str.lower() of each, the
reference for genet's lowercasing (src/data/utf8.c, `genet prepare text`), as torchtext's
Field(lower=True) lowercases each word of the seed's WikiText-2. Plain python3, no packages:

    python3 scripts/make_lower_fixture.py

One pair a line, "WORD<TAB>LOWER", UTF-8; lines starting with '#' are comments. The fixture is
committed; tests/test_prepare.c reads it, so the tests do not need Python.
"""
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "lower_words.tsv")

WORDS = [
    # ASCII and WikiText-2's own tokens
    "Hello", "WORLD", "the", "iPhone", "ABC123xyz", "U.S.", "Don't", "1990s", "MiXeD-CaSe",
    "@-@", "@,@", "@.@", "<unk>", "<eos>", "=", "==", "\\", "~", "Z", "A",
    # Latin-1 capitals (WikiText-2: École, Île, Último) and Latin Extended
    "École", "Île", "Último", "ÀÉÎÕÜ", "ÇA", "Ñandú", "ØRESUND", "ÅNGSTRÖM", "Þór", "ÆSIR",
    "ÐÝÞ", "Ÿ", "ŁÓDŹ", "ČEŠKÝ", "ŐŰ", "Ħ", "Ŋ", "Ǿ",
    "E\u0301COLE",  # decomposed: E + COMBINING ACUTE ACCENT
    "Ⱥ", "Ȿ",  # lowercase takes 3 bytes where the capital took 2
    # Greek: Final_Sigma in its contexts
    "ΟΔΟΣ", "Σ", "ΣΑ", "ΑΣ", "ΣΣ", "ΑΣΣ", "ΑΣΑ", "ΌΣΟΣ", "ΟΔΥΣΣΕΥΣ", "ΑΘΗΝΑ",
    "ΟΔΟΣ'", "ΟΔΟΣ's", "ΟΔΟΣ.Α", "Α.Σ", "1Σ", "Σ1", "ΟΔΟΣ-ΟΔΟΣ", "ΑΣ@-@ΑΣ",
    "Σ\u0308Α", "Α\u0301Σ", "ΑΣ\u00ad", "ΑΣ\u00adΑ", "\u02b0Σ", "ªΣ", "ºΣ",
    "\U0001F130Σ", "ⅰΣ", "ΑΣⅰ", "ⓐΣ", "ΑΣ\u2019", "ΑΣ\u2019Α", "aΣ", "ÉΣ", "ΣΣΣ", "ΆΈΉΊΌΎΏ",
    "ΪΫ", "ϴ", "Ϗ",
    # Cyrillic and Armenian, Georgian, Cherokee
    "МОСКВА", "Ёлка", "ЇЖАК", "Ґ", "ЎЗБЕКИСТОН", "ЏЂЉЊ", "Ѣ", "ԱՐԱՐԱՏ", "ᲐᲑᲒ", "ᎠᎡᎢ",
    # Turkish: İ is 'i' + COMBINING DOT ABOVE in Python (no Turkish special case)
    "İSTANBUL", "İ", "I", "ı", "DİYARBAKIR", "İİ",
    # German sharp s
    "STRAẞE", "Straße", "GROSS", "ẞ", "ß",
    # title-case digraphs and ligatures
    "ǅ", "Ǆ", "ǆ", "ǈ", "Ǉ", "ǋ", "Ǌ", "ǲ", "Ǳ", "ǅUBROVNIK", "ﬁ", "ﬀ",
    # letter-like symbols and enclosed letters
    "\u212a", "\u2126", "\u212b", "Ⅻ", "ⅻ", "Ⓐ", "ⓐ", "\U0001F170",
    # full-width letters
    "ＡＢＣ", "Ｗｉｋｉ", "ｗｉｋｉ",
    # astral planes: Deseret, Osage, Adlam, Vithkuqi, Glagolitic (BMP), emoji, CJK, Hangul
    "𐐀𐐁𐐂", "𐐨𐐩", "𐒰𐒱", "𞤀𞤁", "𐕰𐕱", "ⰀⰁ", "😀", "東京", "서울", "القاهرة",
    # modifier letters and combining marks on their own
    "\u02b0", "\u0345", "\u0307", "ªº",
]


def main():
    lines = [
        "# word<TAB>Python's str.lower(word); written by scripts/make_lower_fixture.py",
        "# Python %s, Unicode %s" % (sys.version.split()[0], unicodedata.unidata_version),
    ]
    seen = set()
    for w in WORDS:
        assert w and not any(c.isspace() for c in w) and not w.startswith("#"), repr(w)
        assert w not in seen, repr(w)
        seen.add(w)
        lines.append("%s\t%s" % (w, w.lower()))
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d words" % (os.path.relpath(OUT), len(WORDS)))


if __name__ == "__main__":
    main()
