#!/usr/bin/env python3
"""check_sentencepiece.py — how far libsentencepiece is from transformers on XLM-R, measured in Python.

What it is
    A cross-check for the tokenizer path Sito takes (issue 2/3): build a SentencePiece ModelProto from
    an XLM-R `tokenizer.json` (Unigram pieces in the model's id order, so no id shift is needed here;
    scores; piece types; the precompiled nmt_nfkc charsmap; add_dummy_prefix, remove_extra_whitespaces,
    escape_whitespaces), split the special tokens written in the text out first, encode every other
    segment with the sentencepiece Python binding (the same C++ library Sito links), wrap in <s> … </s>,
    and compare with transformers' AutoTokenizer on corpus.strings(N) and on the text cases of the
    committed goldens. Prints every mismatch with both token sequences. The protobuf is written by hand
    (no protobuf package needed).

    Findings with transformers 5.24.0 / sentencepiece 0.2.3 (N = 20000, plus the goldens' text):
      whole segments: 14 mismatches of 20309 — exact Unigram ties ("...." = "." + "..." = "..." + ".")
        and float32 score accumulation over the long golden documents ("▁poda no" vs "▁pod ano");
      --per-word (normalize, split at whitespace, encode each word, as transformers does): 28 of
        20309, every one an exact tie, where transformers puts the shorter piece first (". ...").
    See formats/golden.md, "Reference behaviour worth knowing".

How to run (in the goldens venv, tools/venv.sh)
    .cache/venv/bin/python tools/check_sentencepiece.py [--n 20000] [--model-dir .cache/fixtures/models/xlmr-tiny]
        [--write-model /tmp/xlmr.model] [--per-word]
"""
from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# SentencePiece piece types (sentencepiece_model.proto)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED = 1, 2, 3, 4


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes(field: int, b: bytes) -> bytes:
    return _key(field, 2) + _varint(len(b)) + b


def _int(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(n)


def _float(field: int, x: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", x)


def model_proto(tokenizer_json: dict) -> bytes:
    """ModelProto bytes: pieces (field 1), trainer_spec (2), normalizer_spec (3)."""
    m = tokenizer_json["model"]
    assert m["type"] == "Unigram", m["type"]
    specials = {t["id"] for t in tokenizer_json["added_tokens"] if t.get("special")}
    unk = m["unk_id"]
    out = bytearray()
    for i, (piece, score) in enumerate(m["vocab"]):
        kind = UNKNOWN if i == unk else CONTROL if i in specials else NORMAL
        out += _bytes(1, _bytes(1, piece.encode()) + _float(2, score) + _int(3, kind))
    ids = {t["content"]: t["id"] for t in tokenizer_json["added_tokens"]}
    # trainer_spec: model_type UNIGRAM (3), unk_id (40), bos_id (41), eos_id (42), pad_id (43)
    out += _bytes(2, _int(3, 1) + _int(40, unk) + _int(41, ids["<s>"]) + _int(42, ids["</s>"]) +
                  _int(43, ids["<pad>"]))
    norm = tokenizer_json["normalizer"]
    steps = norm["normalizers"] if norm["type"] == "Sequence" else [norm]
    charsmap = next(base64.b64decode(s["precompiled_charsmap"]) for s in steps if s["type"] == "Precompiled")
    # normalizer_spec: name (1), precompiled_charsmap (2), add_dummy_prefix (3),
    # remove_extra_whitespaces (4), escape_whitespaces (5)
    out += _bytes(3, _bytes(1, b"nmt_nfkc") + _bytes(2, charsmap) + _int(3, 1) + _int(4, 1) + _int(5, 1))
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Compare libsentencepiece with transformers on XLM-R.")
    p.add_argument("--model-dir", default=os.path.join(ROOT, ".cache/fixtures/models/xlmr-tiny"))
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--write-model", help="also write the ModelProto here")
    p.add_argument("--show", type=int, default=50, help="mismatches to print")
    p.add_argument("--per-word", action="store_true",
                   help="encode each whitespace-separated word of the normalized text separately")
    a = p.parse_args(argv)

    import sentencepiece as spm
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    with open(os.path.join(a.model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    proto = model_proto(tj)
    if a.write_model:
        with open(a.write_model, "wb") as f:
            f.write(proto)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    tok = AutoTokenizer.from_pretrained(a.model_dir)
    special = {t["content"]: t["id"] for t in tj["added_tokens"]}
    split = re.compile("(" + "|".join(re.escape(s) for s in sorted(special, key=len, reverse=True)) + ")")

    def encode(text: str) -> list[int]:
        ids = [special["<s>"]]
        for seg in split.split(text):
            if seg in special:
                ids.append(special[seg])
            elif seg and a.per_word:
                for word in sp.normalize(seg).replace("\u2581", " ").split():
                    ids += sp.encode(word)
            elif seg:
                ids += sp.encode(seg)
        return ids + [special["</s>"]]

    texts = [("corpus", s) for s in corpus.strings(a.n)]
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests/Fixtures/goldens/*.golden.json"))):
        with open(path, encoding="utf-8") as f:
            g = json.load(f)
        for c in g["cases"]:
            if "query" in c:
                texts.append((f"{os.path.basename(path)}:{c.get('tag', '')}", c["query"] + "</s></s>" + c["document"]))
    bad = 0
    for where, s in texts:
        want, got = tok(s)["input_ids"], encode(s)
        if want != got:
            bad += 1
            if bad <= a.show:
                i = next(k for k in range(min(len(want), len(got))) if want[k] != got[k])
                lo = max(0, i - 4)
                print(f"{where}: {s[:80]!r}\n  transformers:   {tok.convert_ids_to_tokens(want[lo:i + 6])}\n"
                      f"  sentencepiece:  {tok.convert_ids_to_tokens(got[lo:i + 6])}")
    print(f"check_sentencepiece: {bad} mismatches of {len(texts)} strings "
          f"(corpus.strings({a.n}) + golden text cases; untruncated comparison)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
