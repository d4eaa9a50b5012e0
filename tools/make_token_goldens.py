#!/usr/bin/env python3
"""make_token_goldens.py — reference XLM-R token ids for the tokenizer parity test (token-parity/1).

What it is
    Tokenizes ≥ 20,000 strings (tools/corpus.py: Polish msgstr, English msgid, emoji, mixed scripts,
    whitespace runs, tabs/newlines, special tokens written in text) with the two Hugging Face pipelines
    a user can meet for the same XLM-R tokenizer.json, and a few hundred query/document pairs with the
    model card's recipe, and writes the strings with their ids to Tests/Fixtures/tokenizer/xlmr-parity.json.
    Tests/SitoToolsTests/TokenizerParityTests.swift checks Sito against every id (formats/tokenization.md,
    "Parity").

    The two pipelines (formats/tokenization.md, "Whitespace"):
      "json"  — tokenizer.json as written, i.e. the `tokenizers` library, and transformers when it loads
                the file as a generic TokenizersBackend (transformers 4.x fast tokenizers did the same).
                Sito: whitespace = "metaspace-collapse".
      "class" — transformers ≥ 5 AutoTokenizer on an XLM-R folder (tokenizer_class XLMRobertaTokenizer,
                or config.json model_type xlm-roberta): the class replaces the normalizer with the
                Precompiled charsmap alone and the pre-tokenizer with WhitespaceSplit + Metaspace.
                Sito: whitespace = "whitespace-split".

Schema (token-parity/1)
    {"format": "token-parity/1",
     "reference": {"tokenizers": ver, "transformers": ver, "python": ver,
                   "tokenizer_json_sha256": hex, "corpus": "tools/corpus.py strings(N, seed=0)"},
     "strings": [[text, json_ids, class_ids_or_null], ...],      # encode(text, add_special_tokens=False)
     "pairs":   [[query, document, max_length, json_ids, class_ids_or_null], ...]
                                                               # tokenizer(query + "</s></s>" + document,
                                                               #           truncation=True, max_length=N)
    }
    Ids are one string of space-separated decimal ids; a class entry is null when equal to the json one.

How to run
    /work/venv/bin/python tools/make_token_goldens.py \
        --tokenizer .cache/fixtures/xlmr-tokenizer/tokenizer.json \
        --out Tests/Fixtures/tokenizer/xlmr-parity.json [--count 20000] [--pairs 400]
    Needs tokenizers and transformers (tools/venv.sh). Deterministic for a given machine's locale files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402


def ids_text(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokenizer", required=True, help="XLM-R tokenizer.json")
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=20000, help="strings (default 20000)")
    p.add_argument("--pairs", type=int, default=400, help="query/document pairs (default 400)")
    a = p.parse_args(argv)

    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    with open(a.tokenizer, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()

    tmp = tempfile.mkdtemp(prefix="sito-tok-")
    try:
        json_dir = os.path.join(tmp, "json")
        class_dir = os.path.join(tmp, "class")
        for d in (json_dir, class_dir):
            os.makedirs(d)
            shutil.copy(a.tokenizer, os.path.join(d, "tokenizer.json"))
        with open(os.path.join(class_dir, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "XLMRobertaTokenizer"}, f)
        tok_json = AutoTokenizer.from_pretrained(json_dir)
        tok_class = AutoTokenizer.from_pretrained(class_dir)
    finally:
        shutil.rmtree(tmp)
    if type(tok_class).__name__ != "XLMRobertaTokenizer":
        print(f"warning: transformers {transformers.__version__} loads {type(tok_class).__name__}, "
              "not XLMRobertaTokenizer, for an XLM-R folder", file=sys.stderr)
    raw = tokenizers.Tokenizer.from_file(a.tokenizer)

    texts = corpus.strings(a.count)
    j_ids = tok_json(texts, add_special_tokens=False)["input_ids"]
    c_ids = tok_class(texts, add_special_tokens=False)["input_ids"]
    # The `tokenizers` library itself must agree with transformers' generic backend.
    r_ids = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
    assert r_ids == j_ids, "tokenizers and transformers (TokenizersBackend) disagree"
    strings = [[t, ids_text(j), None if c == j else ids_text(c)] for t, j, c in zip(texts, j_ids, c_ids)]

    # Pairs: real Polish/English messages and edge strings, with lengths that make truncation cut.
    rng = random.Random(1)
    pl = corpus.gettext_messages("pl", "msgstr")
    edges = corpus.edge_strings()
    long_doc = " ".join(rng.sample(pl, 400))
    pairs = []
    lengths = [8192, 8192, 512, 64, 16, 8, 5, 4, 3, 2]
    for i in range(a.pairs):
        q = rng.choice(pl if i % 4 else edges)
        d = rng.choice(pl if i % 3 else edges)
        if i % 25 == 0:
            d = long_doc
        n = lengths[i % len(lengths)]
        text = q + "</s></s>" + d
        j = tok_json(text, truncation=True, max_length=n)["input_ids"]
        c = tok_class(text, truncation=True, max_length=n)["input_ids"]
        pairs.append([q, d, n, ids_text(j), None if c == j else ids_text(c)])

    out = {
        "format": "token-parity/1",
        "reference": {
            "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
            "tokenizer_json_sha256": sha,
            "corpus": f"tools/corpus.py strings({a.count}, seed=0); pairs random.Random(1)",
        },
        "strings": strings,
        "pairs": pairs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    differ = sum(1 for s in strings if s[2] is not None)
    print(f"wrote {a.out}: {len(strings)} strings ({differ} differ between json and class pipelines), "
          f"{len(pairs)} pairs, {os.path.getsize(a.out)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
