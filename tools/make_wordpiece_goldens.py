#!/usr/bin/env python3
"""make_wordpiece_goldens.py — reference WordPiece ids for the BERT tokenizer parity test.

What it is
    Tokenizes the same ≥ 20,000 strings as the XLM-R parity file (Tests/Fixtures/tokenizer/xlmr-parity.json:
    Polish msgstr, English msgid, emoji, mixed scripts, whitespace runs, specials in text) with the
    `tokenizers` library and all-MiniLM-L6-v2's tokenizer.json, and writes only the ids (the strings are
    read from the XLM-R file, by index) to Tests/Fixtures/tokenizer/minilm-parity.json.
    Tests/SitoToolsTests/WordPieceParityTests.swift checks Sito's WordPiece tokenizer against every id.

Schema (wordpiece-parity/1)
    {"format": "wordpiece-parity/1",
     "reference": {"tokenizers": ver, "tokenizer_json_sha256": hex, "strings": "xlmr-parity.json"},
     "ids": ["id id id", ...]}          # encode(strings[i], add_special_tokens=False), space-separated

How to run
    .cache/venv/bin/python tools/make_wordpiece_goldens.py \
        --tokenizer .cache/fixtures/all-minilm-l6-v2/tokenizer.json \
        --strings Tests/Fixtures/tokenizer/xlmr-parity.json --out Tests/Fixtures/tokenizer/minilm-parity.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--strings", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(a.tokenizer)
    tok.no_truncation()
    tok.no_padding()
    strings = [s[0] for s in json.load(open(a.strings, encoding="utf-8"))["strings"]]
    ids = [" ".join(map(str, e.ids)) for e in tok.encode_batch(strings, add_special_tokens=False)]
    sha = hashlib.sha256(open(a.tokenizer, "rb").read()).hexdigest()
    out = {"format": "wordpiece-parity/1",
           "reference": {"tokenizers": tokenizers.__version__, "tokenizer_json_sha256": sha, "strings": "xlmr-parity.json"},
           "ids": ids}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print(f"make_wordpiece_goldens: {len(ids)} strings -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
