#!/usr/bin/env python3
"""corpus.py — deterministic real-text corpus for tokenizer and model tests (stdlib only).

What it is
    Real Polish and English strings taken from the gettext catalogs that every Debian machine ships
    (/usr/share/locale/<lang>/LC_MESSAGES/*.mo: msgid = English source, msgstr = translation), plus
    synthetic edge strings (emoji, mixed scripts, whitespace runs, special tokens written as text, ...).
    The same machine state gives the same lists, in the same order, every time: messages are
    deduplicated and sorted by code point, and every random choice uses random.Random(seed).

How to use it
    As a module (from tools/ or with tools/ on sys.path):
        import corpus
        corpus.gettext_messages("pl", "msgstr")   # sorted, unique Polish translations
        corpus.gettext_messages("pl", "msgid")    # sorted, unique English source strings
        corpus.edge_strings()                     # hand-written edge cases (fixed list)
        corpus.strings(20000)                     # n strings: edge cases first, then a mix
    From the shell (one JSON string per line, since strings may contain newlines):
        python3 tools/corpus.py --side msgstr | head
        python3 tools/corpus.py --strings 20000 > /tmp/strings.jsonl
        python3 tools/corpus.py --stats

The .mo reader follows the GNU gettext file format (MO, revisions 0 and 1): a 28-byte header
(magic 0x950412de in the file's byte order, revision, N, offset of the original-string table, offset
of the translation table), each table holding N (length, offset) pairs. Entry 0 with an empty msgid is
the catalog header (metadata, not a message) and is skipped. A msgid may carry a context
("ctxt\\x04msgid"): the context is dropped. Plural entries hold their forms separated by NUL; every
form becomes its own string. Catalogs whose header declares a charset other than UTF-8 are decoded
with that charset.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import struct
import sys

LOCALE_DIR = "/usr/share/locale"

_MAGIC_LE = 0x950412DE


def _read_mo(path: str) -> list[tuple[bytes, bytes]]:
    """Returns the raw (msgid, msgstr) byte pairs of one .mo file, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28:
        raise ValueError(f"{path}: too short for a .mo file ({len(data)} bytes)")
    (magic,) = struct.unpack_from("<I", data, 0)
    if magic == _MAGIC_LE:
        order = "<"
    elif struct.unpack_from(">I", data, 0)[0] == _MAGIC_LE:
        order = ">"
    else:
        raise ValueError(f"{path}: bad magic 0x{magic:08x}, not a .mo file")
    _, revision, count, orig_off, trans_off = struct.unpack_from(order + "5I", data, 0)
    if revision >> 16 not in (0, 1):
        raise ValueError(f"{path}: unsupported .mo major revision {revision >> 16}")
    pairs = []
    for i in range(count):
        olen, ooff = struct.unpack_from(order + "2I", data, orig_off + 8 * i)
        tlen, toff = struct.unpack_from(order + "2I", data, trans_off + 8 * i)
        if ooff + olen > len(data) or toff + tlen > len(data):
            raise ValueError(f"{path}: entry {i} points outside the file")
        pairs.append((data[ooff:ooff + olen], data[toff:toff + tlen]))
    return pairs


def _charset(pairs: list[tuple[bytes, bytes]]) -> str:
    for msgid, msgstr in pairs:
        if msgid == b"":
            for line in msgstr.split(b"\n"):
                if line.lower().startswith(b"content-type:") and b"charset=" in line.lower():
                    cs = line.lower().split(b"charset=", 1)[1].strip().decode("ascii", "replace")
                    if cs and cs != "charset":
                        return cs
    return "utf-8"


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def mo_files(lang: str = "pl") -> list[str]:
    """Every .mo catalog of `lang`, sorted by path."""
    return sorted(glob.glob(os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", "*.mo")))


def gettext_messages(lang: str = "pl", side: str = "msgstr") -> list[str]:
    """All messages of every catalog of `lang`: side "msgstr" (translations) or "msgid" (English).

    Plural forms are split into separate strings, the header entry is skipped, contexts are dropped,
    empty strings are dropped; the result is deduplicated and sorted by code point.
    """
    if side not in ("msgstr", "msgid"):
        raise ValueError(f"side must be 'msgstr' or 'msgid', not {side!r}")
    seen: set[str] = set()
    for path in mo_files(lang):
        pairs = _read_mo(path)
        charset = _charset(pairs)
        for msgid, msgstr in pairs:
            if msgid == b"":
                continue  # the catalog header
            raw = msgstr if side == "msgstr" else msgid.split(b"\x04", 1)[-1]
            for form in raw.split(b"\x00"):
                if form:
                    seen.add(_decode(form, charset))
    return sorted(seen)


def edge_strings() -> list[str]:
    """Hand-written edge cases for tokenizers (fixed order; includes the empty string)."""
    return [
        "",
        " ",
        "  ",
        "\t",
        "\n",
        " \t \n ",
        "a",
        "Zażółć gęślą jaźń",
        "ZAŻÓŁĆ GĘŚLĄ JAŹŃ",
        "  leading spaces",
        "trailing spaces   ",
        "multiple   spaces    inside",
        "tab\tseparated\tvalues",
        "line one\nline two\r\nline three\rend",
        "\n\nblank lines\n\n\n",
        "Czy to działa???",
        "Hurra!!!!",
        "Wait....",
        "…ellipsis…",
        "?!?!?!",
        "-----",
        "=====",
        "***",
        "___init___",
        "((((nested))))",
        "\"quoted\" and 'single' and „polskie” «guillemets»",
        "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇵🇱 ❤️",
        "🤖",
        "Mixed: Polski, English, Русский, 中文, 日本語, 한국어, العربية, עברית, ελληνικά, हिन्दी",
        "中文没有空格的句子很长很长",
        "مرحبا بالعالم",
        "Привет, мир!",
        "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
        "ligature ﬁ ﬂ and ½ ² ™ ℃",
        "combining: e\u0301 a\u0328 z\u0307",
        "zero\u200bwidth\u200cjoiner\u200dtest",
        "nbsp\u00a0here and\u2003em space",
        "soft\u00adhyphen",
        "</s>",
        "<s>",
        "<pad>",
        "<unk>",
        "<mask>",
        "<s></s>",
        "</s></s>",
        "query</s></s>document",
        "query </s></s> document",
        "query</s> </s>document",
        "a <mask> b",
        "a<mask>b",
        "<s> starts like a special",
        "ends like a special </s>",
        "<pad><pad><pad>",
        "</s>  </s>",
        "<S> </S> < s > </ s>",
        "<html><body>tag</body></html>",
        "http://example.com/path?q=1&r=2#frag",
        "user@example.pl",
        "C:\\Windows\\System32",
        "12345678901234567890",
        "3.14159 2,71828 1e-5 -0.0",
        "%s %d %1$s {0} ${HOME} $(pwd)",
        "x" * 300,
        "ą" * 100,
        "word " * 60,
        "▁ underline-like metaspace ▁▁",
        "\u2581leading metaspace",
        "control\x01char\x7f",
    ]


def strings(n: int, lang: str = "pl", seed: int = 0) -> list[str]:
    """`n` distinct strings: all edge strings first, then a seeded mix of the lang's translations
    (about 45%), English source strings (about 35%) and synthetic combinations (about 20%: two
    messages joined with odd whitespace or written special tokens, messages wrapped in punctuation
    runs, emoji or other scripts). Real messages are drawn without replacement. Deterministic."""
    rng = random.Random(seed)
    pl = gettext_messages(lang, "msgstr")
    en = gettext_messages(lang, "msgid")
    rng.shuffle(pl)
    rng.shuffle(en)
    out: list[str] = []
    seen: set[str] = set()

    def add(s: str) -> None:
        if s not in seen:
            seen.add(s)
            out.append(s)

    for s in edge_strings():
        if len(out) < n:
            add(s)
    seps = [" ", "  ", "\t", "\n", " \n ", "", "</s></s>", " </s> ", "<mask>"]
    decor = ["!!!!", "....", "???", "😀", "👍🏽", "中文", "Русский", "العربية", "  ", "\t"]
    ipl = ien = 0
    while len(out) < n:
        r = rng.random()
        if r < 0.45 and ipl < len(pl):
            add(pl[ipl])
            ipl += 1
        elif r < 0.80 and ien < len(en):
            add(en[ien])
            ien += 1
        elif r < 0.90:
            a, b = rng.choice(pl), rng.choice(en if rng.random() < 0.5 else pl)
            add(a + rng.choice(seps) + b)
        else:
            s = rng.choice(pl)
            d = rng.choice(decor)
            add(rng.choice([d + s, s + d, d + s + d, s.replace(" ", d, 1)]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lang", default="pl")
    p.add_argument("--side", choices=["msgstr", "msgid"], default="msgstr")
    p.add_argument("--strings", type=int, metavar="N", help="print strings(N) instead of one side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stats", action="store_true", help="print counts per side and exit")
    a = p.parse_args(argv)
    if a.stats:
        files = mo_files(a.lang)
        print(f"catalogs: {len(files)} in {LOCALE_DIR}/{a.lang}/LC_MESSAGES")
        for side in ("msgstr", "msgid"):
            print(f"{side}: {len(gettext_messages(a.lang, side))} unique strings")
        return 0
    items = strings(a.strings, a.lang, a.seed) if a.strings is not None else gettext_messages(a.lang, a.side)
    w = sys.stdout
    for s in items:
        w.write(json.dumps(s, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
