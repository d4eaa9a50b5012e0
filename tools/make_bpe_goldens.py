#!/usr/bin/env python3
"""make_bpe_goldens.py — reference byte-level BPE ids for the RoBERTa tokenizer parity test (bpe-parity/1).

What it is
    Tokenizes ≥ 20,000 strings with the `tokenizers` library and the trained RoBERTa-style fixture
    tokenizer (Tests/Fixtures/roberta-tokenizer/tokenizer.json, tools/make_bpe_tokenizer.py), and a few
    hundred query/document pairs through both reranker recipes, and writes Tests/Fixtures/tokenizer/
    roberta-parity.json. Tests/SitoToolsTests/BPEParityTests.swift checks Sito against every id.

    Strings: the GPT-2 pre-tokenizer's adversarial cases first (contractions in every case, digits and
    numbers of every Unicode kind, every White_Space character and its neighbours that are not White_Space,
    whitespace runs before letters / digits / punctuation / the end, \\p{L} vs \\p{M} vs \\p{N} edges,
    emoji, ZWJ sequences, combining marks, mixed scripts, written `</s>`, `<mask>` with and without spaces
    before it), then tools/corpus.py strings(N) (Polish msgstr, English msgid, the shared edge strings and
    synthetic mixes).

    Pairs, two recipes (formats/tokenization.md, "Byte-level BPE"):
      joined  the model card: encode(query + "</s></s>" + document) with truncation at max_length
              (one sequence, cut from the right)
      pair    sentence-transformers CrossEncoder / tokenizer(query, document, truncation=True):
              RobertaProcessing <s> A </s></s> B </s>, longest_first truncation (null when max_length < 4,
              which tokenizers refuses)

Schema (bpe-parity/1)
    {"format": "bpe-parity/1",
     "reference": {"tokenizers": ver, "python": ver, "tokenizer_json_sha256": hex, "corpus": "…"},
     "strings": [[text, ids], ...],                         # encode(text, add_special_tokens=False)
     "pairs":   [[query, document, max_length, joined_ids, pair_ids_or_null], ...]}
    Ids are one string of space-separated decimal ids.

How to run
    .cache/venv/bin/python tools/make_bpe_goldens.py \\
        --tokenizer Tests/Fixtures/roberta-tokenizer/tokenizer.json \\
        --out Tests/Fixtures/tokenizer/roberta-parity.json [--count 20000] [--pairs 400] \
        [--transformers-folder .cache/fixtures/models/roberta-tiny]
Needs `tokenizers` (tools/venv.sh pins it); with --transformers-folder also transformers, whose
RobertaTokenizer must give the same ids (it does: transformers 5.24.0, every string and pair). Deterministic for a given machine's locale files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) + [
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
# Characters next to the White_Space set that are not in it (or are in some regex engines' \s).
NOT_WHITE_SPACE = [0x00, 0x08, 0x0E, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD]


def adversarial() -> list[str]:
    """The GPT-2 regex's edge cases (fixed order)."""
    out: list[str] = []
    contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
    for c in contractions:
        for word in ["it", "I", "they", "ONE", ""]:
            out += [word + c, word + c.upper(), word + c + "x", " " + word + c + " ", word + c + "'s", word + "’" + c[1:]]
    out += ["don't", "DON'T", "Don’t", "'''", "''s", "' s", "'sssss", "rock'n'roll", "x'", "'", "l'été", "5's", "!'s",
            "it''s", "Ala'm", "'re're", "' ", " '", "''", "'\n's"]
    for ws in WHITE_SPACE + NOT_WHITE_SPACE:
        ch = chr(ws)
        for t in ["a{c}b", "a{c}{c}b", "{c}a", "a{c}", "{c}", "{c}{c}{c}", "1{c}2", "!{c}?", "a {c}b", "a{c} b",
                  "{c} a", "a {c}", "{c}  x", " {c}1", "x{c}\n"]:
            out.append(t.format(c=ch))
    for n in [1, 2, 3, 7, 16, 40]:
        for ws in [" ", "\t", "\n", "\r\n", " \t", "\u3000", "\u00a0"]:
            for after in ["a", "1", "!", "ą", "😀", "", "<mask>", "</s>", "'s"]:
                out.append("x" + ws * n + after)
                out.append(ws * n + after)
    out += ["123", "1234567890" * 5, " 123", "a1b2c3", "3.14", "1,000,000", "½ ⅓ ¼", "²³¹", "٠١٢٣", "१२३", "Ⅻ ⅻ", "①②③",
            "𝟙𝟚𝟛", "一二三", "x²+y²", "10km/h", "20%", "$5", "5$", "0x1F", "1e-5", "-0", "+1", "  42  ", "४२", "๑๒๓"]
    out += ["e\u0301", "\u0301", " \u0301", "a\u0301\u0302\u0303", "ą\u0328", "ǅ", "ǅungla", "ʰʱ", "ˆ", "ー",
            "\u0915\u094d\u0937", "क्षत्रिय", "ﬁ", "Ⓐ", "ㄱ", "한국어", "日本語のテキスト", "カタカナ", "ไทย", "Ελληνικά",
            "עִבְרִית", "العَرَبِيَّة", "\u200dx", "x\u200dy", "a\ufe0fb", "\U000e0041", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
            "👨‍👩‍👧‍👦", "👍🏽", "🇵🇱🇬🇧", "😀😀😀", " 😀", "a😀b", "😀 😀", "🧌", "\U0010ffff", "\ue000", "\U000f0000",
            "\ud7ff", "\uffff", "\ufffd", "\U0001F600abc", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐀𝐁𝐂", "ℌ", "ⅈ", "Ⅰ", "〇", "々", "ゝ", "ꙮ"]
    out += ["a<mask>b", "a <mask>b", "a  <mask> b", "a\t<mask>", "<mask>", " <mask>", "  <mask>  ", "\n<mask>\n",
            "<mask><mask>", "<mask> <mask>", "x\u3000<mask>", "x\u00a0<mask>", "</s>", " </s> ", "a</s>b", "<s>x</s>",
            "</s></s>", "q </s></s> d ", "<pad><unk>", "<S>", "</ s>", "<mas k>", "<<mask>>", "<</s>>", "</s", "<mask",
            "<s>  </s>", "\u3000</s>\u3000"]
    out += ["Zażółć gęślą jaźń", "W Szczebrzeszynie chrząszcz brzmi w trzcinie", "ŹDŹBŁO", "źdźbło's", "Łódź, 12.05.2023 r.",
            "Hello,world!How are you?I'm fine.", "C++ & C# | F#", "a--b---c", "...", "…", "!!!???", "@#$%^&*()", "\\n", "\\",
            "<html>", "&amp;", "http://x.pl/a?b=c", "mailto:jan@x.pl"]
    return out


def ids_text(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=20000, help="corpus strings after the adversarial ones (default 20000)")
    p.add_argument("--pairs", type=int, default=400)
    p.add_argument("--transformers-folder", help="a model folder with this tokenizer: also check that transformers' "
                   "AutoTokenizer (RobertaTokenizer) gives every id (needs transformers)")
    a = p.parse_args(argv)
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(a.tokenizer)
    tok.no_padding()
    tok.no_truncation()
    seen: set[str] = set()
    texts: list[str] = []
    for s in adversarial() + corpus.strings(a.count):
        if s not in seen:
            seen.add(s)
            texts.append(s)
    strings = [[t, ids_text(e.ids)] for t, e in zip(texts, tok.encode_batch(texts, add_special_tokens=False))]

    rng = random.Random(14)
    pl = corpus.gettext_messages("pl", "msgstr")
    en = corpus.gettext_messages("pl", "msgid")
    edges = corpus.edge_strings() + adversarial()
    long_doc = " ".join(rng.sample(pl, 300))
    long_query = " ".join(rng.sample(en, 60))
    lengths = [512, 512, 512, 128, 64, 16, 8, 5, 4, 3, 2]
    pairs = []
    for i in range(a.pairs):
        q = rng.choice(pl if i % 4 else edges)
        d = rng.choice((pl if i % 2 else en) if i % 3 else edges)
        if i % 20 == 0:
            d = long_doc
        if i % 20 == 7:
            q, d = long_query, rng.choice(pl)
        if i % 40 == 13:
            q, d = long_query, long_doc
        n = lengths[i % len(lengths)]
        tok.enable_truncation(max_length=n)
        joined = tok.encode(q + "</s></s>" + d).ids
        pair = None
        if n >= 4:
            tok.enable_truncation(max_length=n, strategy="longest_first")
            pair = ids_text(tok.encode(q, d).ids)
        pairs.append([q, d, n, ids_text(joined), pair])
    tok.no_truncation()

    reference_extra = {}
    if a.transformers_folder:
        import transformers
        from transformers import AutoTokenizer
        transformers.logging.set_verbosity_error()
        t = AutoTokenizer.from_pretrained(a.transformers_folder)
        got = t([s[0] for s in strings], add_special_tokens=False)["input_ids"]
        assert [ids_text(g) for g in got] == [s[1] for s in strings], "transformers and tokenizers disagree on a string"
        for q, d, n, joined, pair in pairs:
            assert ids_text(t(q + "</s></s>" + d, truncation=True, max_length=n)["input_ids"]) == joined, (q, d, n)
            if pair is not None:
                assert ids_text(t([q], [d], truncation=True, max_length=n)["input_ids"][0]) == pair, (q, d, n)
        reference_extra = {"transformers": transformers.__version__, "transformers_class": type(t).__name__,
                           "transformers_agrees": True}

    out = {
        "format": "bpe-parity/1",
        "reference": {
            "tokenizers": tokenizers.__version__,
            "python": platform.python_version(),
            "tokenizer_json_sha256": hashlib.sha256(open(a.tokenizer, "rb").read()).hexdigest(),
            "corpus": f"make_bpe_goldens.adversarial() + tools/corpus.py strings({a.count}, seed=0); pairs random.Random(14)",
            **reference_extra,
        },
        "strings": strings,
        "pairs": pairs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"make_bpe_goldens: {len(strings)} strings, {len(pairs)} pairs -> {a.out} ({os.path.getsize(a.out)} bytes)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
