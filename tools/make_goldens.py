#!/usr/bin/env python3
"""make_goldens.py — reference token ids and logits from transformers, as a golden/1 file.

What it is
    Runs the reference implementation — transformers' AutoTokenizer and
    AutoModelForSequenceClassification, float32, eager attention, CPU — on a Hugging Face model folder
    and a file of cases, with the model card's recipe:
        text = f"{query}</s></s>{document}"
        ids  = tokenizer(text, truncation=True, max_length=N)["input_ids"]
        logits = model(input_ids=ids, attention_mask=1…1).logits[0]
    and, for BERT-family cross-encoders (config.model_type "bert"), the tokenizer's own pair recipe,
    [CLS] query [SEP] document [SEP] with LongestFirst truncation and its token-type ids (0 / 1):
        enc    = tokenizer([query], [document], truncation=True, max_length=N)   # a batch of one: see main()
        logits = model(input_ids=enc.input_ids, token_type_ids=enc.token_type_ids, attention_mask=1…1).logits[0]
    (ids-only cases: token_type_ids all 0, passed explicitly), recording token_type_ids in each pair case;
    and writes a golden file in the schema golden/1 (formats/golden.md), recording the sha256 of every
    model file and the library versions. One sequence per forward pass (no padding, no batching), so a
    golden never depends on padding behaviour.

    Cases (JSONL, one object per line; fields other than these are ignored):
        {"query": str, "document": str}              tokenize with the recipe, run the model
        {"input_ids": [int, ...]}                    run the model on these ids as given
        {"query":..., "document":..., "logits": false}  tokenization only (no logits written)
        {"text": str}                                single text (embedding models, issue 7): see --task
        optional "tag": str                          copied into the golden (names the case in reports)

    Needs the goldens venv (tools/venv.sh): torch, transformers, tokenizers, safetensors, numpy.

How to run
    .cache/venv/bin/python tools/make_goldens.py --model .cache/fixtures/models/xlmr-tiny \\
        --pairs <(python3 tools/pairs.py --set tiny) --out Tests/Fixtures/goldens/xlmr-tiny.golden.json
    Options: --name NAME (default: the folder's name), --max-length N (default: the model's maximum,
    max_position_embeddings - pad_token_id - 1 for XLM-R, max_position_embeddings for BERT; for
    --task embedding, sentence_bert_config.json's
    max_seq_length when present), --task sequence-classification|embedding.
    Or regenerate every committed golden: tools/regenerate_goldens.sh.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time

SEPARATOR = "</s></s>"
TEMPLATE = "{query}" + SEPARATOR + "{document}"
# BERT cross-encoders: tokenizer(query, document) — [CLS] query [SEP] document [SEP], type ids 0 then 1.
PAIR_RECIPE = {"template": "pair", "sequence": "[CLS] {query} [SEP] {document} [SEP]", "truncation": "longest_first",
               "token_type_ids": "0 up to the first [SEP], 1 after; all 0 for ids-only cases"}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 22):
            h.update(b)
    return h.hexdigest()


def model_files(folder: str) -> dict[str, str]:
    """sha256 of every file the reference reads: config, weights (+ index), tokenizer files."""
    out = {}
    for rel in sorted(os.listdir(folder)):
        p = os.path.join(folder, rel)
        if rel.startswith(".") or not os.path.isfile(p):
            continue
        if rel.endswith((".json", ".safetensors", ".model", ".txt")):
            out[rel] = sha256_file(p)
    return out


def read_cases(path: str) -> list[dict]:
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            c = json.loads(line)
            has_text = "query" in c or "document" in c
            if has_text and not ("query" in c and "document" in c):
                raise SystemExit(f"{path}:{n}: a text case needs both 'query' and 'document'")
            if not has_text and "input_ids" not in c and "text" not in c:
                raise SystemExit(f"{path}:{n}: a case needs query+document, text, or input_ids")
            cases.append(c)
    return cases


def fmt_float(x) -> float:
    # float(x) of a float32 is exact; json writes repr(), the shortest string that round-trips the double,
    # so the golden holds the float32 value exactly.
    return float(x)


def fmt_float32(x) -> float:
    # Embeddings (hundreds of numbers a case): the shortest decimal that round-trips the FLOAT32 (≤ 9
    # significant digits), as a double whose repr is that decimal. Read as float32 it is the reference's
    # value; about half the bytes of fmt_float.
    import numpy as np
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a golden/1 file from transformers.")
    p.add_argument("--model", required=True, help="Hugging Face model folder")
    p.add_argument("--pairs", required=True, help="JSONL file of cases ('-' for stdin)")
    p.add_argument("--out", required=True, help="golden file to write")
    p.add_argument("--name", help="model name recorded in the golden (default: folder name)")
    p.add_argument("--max-length", type=int, help="default: max_position_embeddings - pad_token_id - 1")
    p.add_argument("--task", choices=["sequence-classification", "embedding"], default="sequence-classification")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: reproducible summation order)")
    a = p.parse_args(argv)

    import numpy as np
    import tokenizers
    import torch
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    folder = a.model.rstrip("/")
    name = a.name or os.path.basename(folder)
    cases = read_cases("/dev/stdin" if a.pairs == "-" else a.pairs)

    config = AutoConfig.from_pretrained(folder)
    offset = (config.pad_token_id + 1) if config.model_type in ("xlm-roberta", "roberta") else 0
    model_max = config.max_position_embeddings - offset
    max_length = a.max_length or model_max
    if a.task == "embedding" and not a.max_length:
        # sentence-transformers truncates at max_seq_length (256 for all-MiniLM-L6-v2), not the model's.
        try:
            with open(os.path.join(folder, "sentence_bert_config.json")) as f:
                max_length = min(model_max, int(json.load(f)["max_seq_length"]))
        except (OSError, KeyError, ValueError):
            pass
    if max_length > model_max:
        raise SystemExit(f"--max-length {max_length} exceeds the model's maximum {model_max}")

    # BERT cross-encoders: the tokenizer's pair template and token types (formats/golden.md).
    pair_recipe = a.task == "sequence-classification" and config.model_type == "bert"
    tok = AutoTokenizer.from_pretrained(folder)
    if a.task == "sequence-classification":
        from transformers import AutoModelForSequenceClassification as Auto
    else:
        from transformers import AutoModel as Auto
    # dtype=float32 explicitly: transformers 5 otherwise keeps a bf16 checkpoint in bf16.
    model = Auto.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    pooling = None
    if a.task == "embedding":
        pooling = embedding_recipe(folder)

    t0 = time.time()
    out_cases = []
    for c in cases:
        o: dict = {}
        if "tag" in c:
            o["tag"] = c["tag"]
        types = None
        if "query" in c and pair_recipe:
            o["query"], o["document"] = c["query"], c["document"]
            # A batch of one, not tok(query, document): transformers' single call encodes an EMPTY
            # document as no pair at all ("[(text, text_pair)] if text_pair else [text]": [CLS] q [SEP],
            # one [SEP]), while batches — sentence-transformers' CrossEncoder, the model cards — and
            # the tokenizers library give [CLS] q [SEP] [SEP]. Identical for every non-empty document.
            enc = tok([c["query"]], [c["document"]], truncation=True, max_length=max_length)
            ids, types = enc["input_ids"][0], enc["token_type_ids"][0]
            if "input_ids" in c and c["input_ids"] != ids:
                raise SystemExit(f"case {len(out_cases)}: given input_ids differ from the tokenizer's")
        elif "query" in c:
            o["query"], o["document"] = c["query"], c["document"]
            text = TEMPLATE.format(query=c["query"], document=c["document"])
            ids = tok(text, truncation=True, max_length=max_length)["input_ids"]
            if "input_ids" in c and c["input_ids"] != ids:
                raise SystemExit(f"case {len(out_cases)}: given input_ids differ from the tokenizer's")
        elif "text" in c:
            o["text"] = c["text"]
            ids = tok(c["text"], truncation=True, max_length=max_length)["input_ids"]
        else:
            ids = [int(i) for i in c["input_ids"]]
            if len(ids) > max_length:
                raise SystemExit(f"case {len(out_cases)}: {len(ids)} ids > max_length {max_length}")
        o["input_ids"] = ids
        if types is not None:
            o["token_type_ids"] = types
        if c.get("logits", True) is not False:
            with torch.no_grad():
                x = torch.tensor([ids], dtype=torch.long)
                mask = torch.ones_like(x)
                if pair_recipe:
                    tt = torch.tensor([types], dtype=torch.long) if types is not None else torch.zeros_like(x)
                    y = model(input_ids=x, attention_mask=mask, token_type_ids=tt).logits[0]
                    o["logits"] = [fmt_float(v) for v in y.to(torch.float32).numpy()]
                elif a.task == "sequence-classification":
                    y = model(input_ids=x, attention_mask=mask).logits[0]
                    o["logits"] = [fmt_float(v) for v in y.to(torch.float32).numpy()]
                else:
                    h = model(input_ids=x, attention_mask=mask).last_hidden_state[0]
                    o["embedding"] = [fmt_float32(v) for v in pool(h, pooling).numpy()]
        out_cases.append(o)
    elapsed = time.time() - t0

    golden = {
        "format": "golden/1",
        "model": name,
        "model_sha256": model_files(folder),
        "reference": {
            "library": "transformers",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "dtype": "float32",
            "attention": "eager",
            "device": "cpu",
            "tokenizer_class": type(tok).__name__,
        },
        "task": a.task,
        "recipe": (PAIR_RECIPE if pair_recipe
                   else {"template": TEMPLATE, "truncation": True} if a.task == "sequence-classification"
                   else dict(pooling, template="{text}", truncation=True)),
        "max_length": max_length,
        "cases": out_cases,
    }
    write_golden(a.out, golden)
    n_logits = sum(1 for c in out_cases if "logits" in c or "embedding" in c)
    longest = max((len(c["input_ids"]) for c in out_cases), default=0)
    print(f"make_goldens: {name}: {len(out_cases)} cases ({n_logits} with outputs, longest {longest} "
          f"tokens) in {elapsed:.1f} s -> {a.out} ({os.path.getsize(a.out):,} bytes)", file=sys.stderr)
    return 0


def embedding_recipe(folder: str) -> dict:
    """Pooling and normalization from a sentence-transformers layout (modules.json, 1_Pooling/)."""
    pooling, normalize = "mean", False
    try:
        with open(os.path.join(folder, "1_Pooling", "config.json")) as f:
            pc = json.load(f)
        if pc.get("pooling_mode_cls_token"):
            pooling = "cls"
    except OSError:
        pass
    try:
        with open(os.path.join(folder, "modules.json")) as f:
            normalize = any(m.get("type", "").endswith("Normalize") for m in json.load(f))
    except OSError:
        pass
    return {"pooling": pooling, "normalize": normalize}


def pool(h, recipe: dict):
    import torch
    v = h[0] if recipe["pooling"] == "cls" else h.mean(dim=0)
    if recipe["normalize"]:
        v = torch.nn.functional.normalize(v, p=2, dim=0)
    return v.to(torch.float32)


def write_golden(path: str, golden: dict) -> None:
    """Header keys pretty-printed, then one case per line (readable diffs, small files)."""
    head = {k: v for k, v in golden.items() if k != "cases"}
    lines = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # drop the closing "\n}"
    body = ",\n".join("    " + json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in golden["cases"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(lines + ',\n  "cases": [\n' + body + "\n  ]\n}\n")
    with open(tmp, encoding="utf-8") as f:
        json.load(f)  # must parse
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
