#!/usr/bin/env python3
"""make_fixture.py — deterministic random-weight XLM-R and BERT rerankers in Hugging Face layout (numpy + stdlib).

What it is
    Writes model folders exactly as a Hugging Face repository of an `XLMRobertaForSequenceClassification`
    would look (config.json, model.safetensors or a sharded set with model.safetensors.index.json,
    tokenizer.json, tokenizer_config.json, special_tokens_map.json), with random weights and the real
    250002-token XLM-R vocabulary. Safetensors are written by hand (8-byte little-endian header length,
    JSON header padded with spaces to a multiple of 8, raw little-endian row-major data), tensor by
    tensor and chunk by chunk, so the 2.27 GB full-size model is written with a few MB of memory.

    Byte-identical everywhere: every tensor draws from its own numpy.random.default_rng seeded by
    (variant seed, sha256 of the tensor name), in fixed chunks of 2**20 float32 normals; bf16 is rounded
    from float32 with round-to-nearest-even; JSON is written with sorted keys. EXPECTED below pins the
    sha256 of the default variants' weight files; a mismatch is reported as an error (numpy changed its
    stream, or this script changed: then regenerate the goldens, tools/make_goldens.py).

Variants
    xlmr-tiny       vocab 250002, hidden 32, 2 layers, 4 heads, ffn 64, 514 positions, f32, one file
    xlmr-tiny-long  same dims, 8194 positions, bf16, two shards + index, and the `position_ids` buffer
                    (int64 [1, 8194]) that older checkpoints carry and converters must ignore
    xlmr-base       12 layers, hidden 768, 12 heads, ffn 3072, 8194 positions, f32 (~1.1 GB)
    xlmr-large      the real bge-reranker-v2-m3 config: 24 layers, hidden 1024, 16 heads, ffn 4096,
                    8194 positions, f32 (~2.27 GB)
    bert-tiny-cls   a `BertForSequenceClassification` (the layout of the ms-marco MiniLM cross-encoders)
                    with the real all-MiniLM-L6-v2 WordPiece vocabulary (30522): hidden 32, 2 layers,
                    4 heads, ffn 64, 512 positions, 2 token types, pad id 0, layer_norm_eps 1e-12,
                    one label, f32, one file; `bert.` names, `bert.pooler.dense.*`, `classifier.*`.
                    tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json are
                    copied as they are from .cache/fixtures/all-minilm-l6-v2 (tools/fetch_fixtures.sh).
    roberta-tiny    a `RobertaForSequenceClassification` (model_type roberta, the layout of
                    sdadas/polish-reranker-roberta-v2) over the trained byte-level BPE vocabulary (8000) of
                    Tests/Fixtures/roberta-tokenizer (committed; tools/make_bpe_tokenizer.py): hidden 32,
                    2 layers, 4 heads, ffn 64, 514 positions, pad id 1, one label, f32, one file;
                    tokenizer.json, vocab.json, merges.txt, tokenizer_config.json and
                    special_tokens_map.json copied as they are.
    roberta-tiny-embed  the same vocabulary as a sentence-transformers embedding model: a bare
                    `RobertaModel` (names without `roberta.`, the pooler kept), modules.json with mean
                    pooling and Normalize, max_seq_length 128.

Weights
    Embedding tables N(0, 0.02²) with the padding row (id 1) zeroed, as HF's init does. Linear matrices
    N(0, 1/fan_in): this equals HF's 0.02 around hidden 2500 and keeps attention non-uniform and layers
    far from the identity at tiny sizes (0.02 at hidden 32 would make every softmax flat and every
    bug invisible); query and key matrices are multiplied by `qk_gain` (2 for the tiny variants) for
    sharper attention, so the first token's state depends on the text. LayerNorm weight
    1 + N(0, 0.1²), LayerNorm and linear biases N(0, 0.05²). classifier.out_proj has std
    head_std/sqrt(hidden) (6 for the tiny variants: logits spread with std ~2 over Polish pairs, ~1.2
    among the documents of one query, so ranking metrics mean something).
    bert-tiny-cls draws the same way: the word table zeroes row 0 ([PAD]), the position table zeroes
    nothing (BERT has no padding_idx there), the two token-type rows are two independent N(0, 0.02²)
    rows (as large as a word's row, so they matter: on the tiny set, running with all-zero type ids
    moves the logit by 1.5 on average, up to 5.9, against a logit std of 1.8 — a runtime that ignored
    type ids fails the golden); bert.pooler.dense is a linear N(0, 1/fan_in) and classifier.weight has
    std head_std/sqrt(hidden), as the RoBERTa head's out_proj (head_std 6: logit std 1.8 over the tiny
    set, 1.3 among the documents of one query). (A larger type std, 0.1, drowned the text: std 0.5.)

How to run
    python3 tools/make_fixture.py                      # xlmr-tiny, xlmr-tiny-long, bert-tiny-cls (the test fixtures)
    python3 tools/make_fixture.py --model xlmr-large   # the 2.27 GB full-size model, on request
    python3 tools/make_fixture.py --model xlmr-tiny --out /tmp/models --force
    Output: <out>/<variant>/ (default out: .cache/fixtures/models). The tokenizer comes from
    .cache/fixtures/xlmr-tokenizer/tokenizer.json (tools/fetch_fixtures.sh); BERT variants copy
    theirs from .cache/fixtures/all-minilm-l6-v2 (--bert-tokenizer DIR). A folder whose stamp
    (.make_fixture.json) matches this script's recipe and whose files match their recorded sha256 is
    kept as is; --force rewrites it. Prints the sha256 of every file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, ".cache", "fixtures", "models")
DEFAULT_TOKENIZER = os.path.join(ROOT, ".cache", "fixtures", "xlmr-tokenizer", "tokenizer.json")
DEFAULT_BERT_TOKENIZER = os.path.join(ROOT, ".cache", "fixtures", "all-minilm-l6-v2")
BERT_TOKENIZER_FILES = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]

# Bump when the bytes this script writes change on purpose (then update EXPECTED and the goldens).
RECIPE = 1
CHUNK = 1 << 20  # float32 normals drawn per call; part of the recipe

VOCAB = 250002
PAD_ID = 1
BERT_VOCAB = 30522
BERT_PAD_ID = 0

VARIANTS = {
    "xlmr-tiny": dict(hidden=32, layers=2, heads=4, ffn=64, positions=514, dtype="f32", shards=1,
                      position_ids=False, seed=20261126, qk_gain=2.0, head_std=6.0),
    "xlmr-tiny-long": dict(hidden=32, layers=2, heads=4, ffn=64, positions=8194, dtype="bf16", shards=2,
                           position_ids=True, seed=20261127, qk_gain=2.0, head_std=6.0),
    "xlmr-base": dict(hidden=768, layers=12, heads=12, ffn=3072, positions=8194, dtype="f32", shards=1,
                      position_ids=False, seed=20261128, qk_gain=1.0, head_std=4.0),
    "xlmr-large": dict(hidden=1024, layers=24, heads=16, ffn=4096, positions=8194, dtype="f32", shards=1,
                       position_ids=False, seed=20261129, qk_gain=1.0, head_std=4.0),
    # family "bert": absent from the XLM-R variants' options on purpose (their stamps stay as they were).
    "bert-tiny-cls": dict(family="bert", hidden=32, layers=2, heads=4, ffn=64, positions=512, dtype="f32",
                          shards=1, position_ids=False, seed=20261130, qk_gain=2.0, head_std=6.0,
                          type_vocab=2),
    # family "roberta" (issue 14): RobertaForSequenceClassification over the trained byte-level BPE of
    # Tests/Fixtures/roberta-tokenizer (tools/make_bpe_tokenizer.py), vocabulary 8000.
    "roberta-tiny": dict(family="roberta", hidden=32, layers=2, heads=4, ffn=64, positions=514, dtype="f32",
                         shards=1, position_ids=False, seed=20261203, qk_gain=2.0, head_std=6.0, vocab=8000),
    # The same vocabulary as a sentence-transformers embedding model: a bare RobertaModel (names without
    # `roberta.`, with the unused pooler), mean pooling, L2-normalized, max_seq_length 128.
    "roberta-tiny-embed": dict(family="roberta", embedding=True, hidden=32, layers=2, heads=4, ffn=64, positions=514,
                               dtype="f32", shards=1, position_ids=False, seed=20261204, qk_gain=2.0, head_std=6.0,
                               vocab=8000),
}
DEFAULT_VARIANTS = ["xlmr-tiny", "xlmr-tiny-long", "bert-tiny-cls", "roberta-tiny", "roberta-tiny-embed"]
ROBERTA_TOKENIZER = os.path.join(ROOT, "Tests", "Fixtures", "roberta-tokenizer")
ROBERTA_TOKENIZER_FILES = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]

# sha256 of the weight files of the default variants, as written by RECIPE 1 (numpy ≥ 1.17 Generator).
# Checked on numpy 1.24.2 (Debian's python3-numpy) and 2.4.6: identical bytes.
EXPECTED: dict[str, dict[str, str]] = {
    "xlmr-tiny": {
        "model.safetensors": "d7872596a78b139881672fc6c74c99cd5440a1c35ae96c3c07d3b2634a415ae1",
    },
    "xlmr-tiny-long": {
        "model-00001-of-00002.safetensors": "f327bcc674402553cd38fe28e4b316c66941d6541d83010c95500540f978d15e",
        "model-00002-of-00002.safetensors": "6b0dd06afffcc6905b6550fe313126bf8ea45b883f45853d5bfd5ed223a8c5f2",
    },
    "bert-tiny-cls": {
        "model.safetensors": "a4e837a4f86fc56e682d53d30437322a4f2266927e950160f8bb18ff05085bb8",
    },
    "roberta-tiny": {
        "model.safetensors": "1273eb3c596b2d0275f23b7d600ea23253e8cfc7d4aafa26f3ea395639e66de1",
    },
    "roberta-tiny-embed": {
        "model.safetensors": "872b2a3141c33f95c072f3f2b47e330c80c825191103446c167da95a2cbdf3ef",
    },
}

ST_DTYPE = {"f32": "F32", "bf16": "BF16", "i64": "I64"}
ELEM = {"f32": 4, "bf16": 2, "i64": 8}


def log(msg: str) -> None:
    print(f"make_fixture: {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------
# The tensor inventory of XLMRobertaForSequenceClassification, in Hugging Face names.
# Each entry: (name, shape, kind, dtype); kind says how values are drawn (see values()).
# ---------------------------------------------------------------------------------------------------
def is_bert(v: dict) -> bool:
    return v.get("family") == "bert"


def is_roberta(v: dict) -> bool:
    return v.get("family") == "roberta"


def pad_id(v: dict) -> int:
    return BERT_PAD_ID if is_bert(v) else PAD_ID


def inventory(v: dict) -> list[tuple[str, tuple[int, ...], str, str]]:
    if is_bert(v):
        return bert_inventory(v)
    H, F, P, dt = v["hidden"], v["ffn"], v["positions"], v["dtype"]
    e = "roberta.embeddings."
    t = [
        (e + "word_embeddings.weight", (v.get("vocab", VOCAB), H), "embedding", dt),
        (e + "position_embeddings.weight", (P, H), "embedding", dt),
        (e + "token_type_embeddings.weight", (1, H), "embedding-nopad", dt),
        (e + "LayerNorm.weight", (H,), "ln_weight", dt),
        (e + "LayerNorm.bias", (H,), "bias", dt),
    ]
    if v["position_ids"]:
        t.append((e + "position_ids", (1, P), "arange", "i64"))
    for i in range(v["layers"]):
        p = f"roberta.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            t += [(p + f"attention.self.{m}.weight", (H, H), "linear", dt),
                  (p + f"attention.self.{m}.bias", (H,), "bias", dt)]
        t += [
            (p + "attention.output.dense.weight", (H, H), "linear", dt),
            (p + "attention.output.dense.bias", (H,), "bias", dt),
            (p + "attention.output.LayerNorm.weight", (H,), "ln_weight", dt),
            (p + "attention.output.LayerNorm.bias", (H,), "bias", dt),
            (p + "intermediate.dense.weight", (F, H), "linear", dt),
            (p + "intermediate.dense.bias", (F,), "bias", dt),
            (p + "output.dense.weight", (H, F), "linear", dt),
            (p + "output.dense.bias", (H,), "bias", dt),
            (p + "output.LayerNorm.weight", (H,), "ln_weight", dt),
            (p + "output.LayerNorm.bias", (H,), "bias", dt),
        ]
    if v.get("embedding"):
        # sentence-transformers saves the bare RobertaModel: no `roberta.` prefix, the pooler kept.
        t = [(n[len("roberta."):], shape, kind, d) for n, shape, kind, d in t]
        return t + [("pooler.dense.weight", (H, H), "linear", dt), ("pooler.dense.bias", (H,), "bias", dt)]
    t += [
        ("classifier.dense.weight", (H, H), "linear", dt),
        ("classifier.dense.bias", (H,), "bias", dt),
        ("classifier.out_proj.weight", (1, H), "head", dt),
        ("classifier.out_proj.bias", (1,), "bias", dt),
    ]
    return t


def bert_inventory(v: dict) -> list[tuple[str, tuple[int, ...], str, str]]:
    """BertForSequenceClassification: `bert.` encoder (same layer names as RoBERTa), the pooler, and a
    single `classifier` linear on the pooled output."""
    H, F, P, dt = v["hidden"], v["ffn"], v["positions"], v["dtype"]
    e = "bert.embeddings."
    t = [
        (e + "word_embeddings.weight", (BERT_VOCAB, H), "embedding", dt),
        (e + "position_embeddings.weight", (P, H), "embedding-nopad", dt),
        (e + "token_type_embeddings.weight", (v["type_vocab"], H), "embedding-nopad", dt),
        (e + "LayerNorm.weight", (H,), "ln_weight", dt),
        (e + "LayerNorm.bias", (H,), "bias", dt),
    ]
    for i in range(v["layers"]):
        p = f"bert.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            t += [(p + f"attention.self.{m}.weight", (H, H), "linear", dt),
                  (p + f"attention.self.{m}.bias", (H,), "bias", dt)]
        t += [
            (p + "attention.output.dense.weight", (H, H), "linear", dt),
            (p + "attention.output.dense.bias", (H,), "bias", dt),
            (p + "attention.output.LayerNorm.weight", (H,), "ln_weight", dt),
            (p + "attention.output.LayerNorm.bias", (H,), "bias", dt),
            (p + "intermediate.dense.weight", (F, H), "linear", dt),
            (p + "intermediate.dense.bias", (F,), "bias", dt),
            (p + "output.dense.weight", (H, F), "linear", dt),
            (p + "output.dense.bias", (H,), "bias", dt),
            (p + "output.LayerNorm.weight", (H,), "ln_weight", dt),
            (p + "output.LayerNorm.bias", (H,), "bias", dt),
        ]
    t += [
        ("bert.pooler.dense.weight", (H, H), "linear", dt),
        ("bert.pooler.dense.bias", (H,), "bias", dt),
        ("classifier.weight", (1, H), "head", dt),
        ("classifier.bias", (1,), "bias", dt),
    ]
    return t


def tensor_rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(name.encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def values(v: dict, name: str, shape: tuple[int, ...], kind: str):
    """Yields the tensor's values as flat float32 (or int64) chunks, in row-major order."""
    n = int(np.prod(shape))
    if kind == "arange":
        for start in range(0, n, CHUNK):
            yield np.arange(start, min(n, start + CHUNK), dtype="<i8")
        return
    rng = tensor_rng(v["seed"], name)
    cols = shape[-1]
    fan_in = cols
    for start in range(0, n, CHUNK):
        k = min(CHUNK, n - start)
        x = rng.standard_normal(k, dtype=np.float32)
        if kind in ("embedding", "embedding-nopad"):
            x *= np.float32(0.02)
            if kind == "embedding":  # HF zeroes the padding_idx row (XLM-R: id / position 1; BERT: id 0)
                pad = pad_id(v)
                lo, hi = max(start, pad * cols), min(start + k, (pad + 1) * cols)
                if lo < hi:
                    x[lo - start:hi - start] = 0
        elif kind == "linear":
            gain = v.get("qk_gain", 1.0) if (".query." in name or ".key." in name) else 1.0
            x *= np.float32(gain / np.sqrt(fan_in))
        elif kind == "head":
            x *= np.float32(v["head_std"] / np.sqrt(fan_in))
        elif kind == "ln_weight":
            x = np.float32(1.0) + np.float32(0.1) * x
        elif kind == "bias":
            x *= np.float32(0.05)
        else:
            raise ValueError(kind)
        yield x.astype("<f4", copy=False)


def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bit patterns (uint16), round to nearest even (NaN never occurs here)."""
    u = x.astype("<f4", copy=False).view("<u4")
    return ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype("<u2")


def encode(chunk: np.ndarray, dtype: str) -> bytes:
    if dtype == "f32":
        return chunk.astype("<f4", copy=False).tobytes()
    if dtype == "bf16":
        return to_bf16(chunk).tobytes()
    if dtype == "i64":
        return chunk.astype("<i8", copy=False).tobytes()
    raise ValueError(dtype)


# ---------------------------------------------------------------------------------------------------
# safetensors, by hand
# ---------------------------------------------------------------------------------------------------
def safetensors_header(tensors: list[tuple[str, tuple[int, ...], str, str]]) -> tuple[bytes, int]:
    """Header bytes (length prefix included) and data size. Data order = the given order."""
    entries = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, shape, _, dt in tensors:
        nbytes = int(np.prod(shape)) * ELEM[dt]
        entries[name] = {"dtype": ST_DTYPE[dt], "shape": list(shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    js = json.dumps(entries, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    return struct.pack("<Q", len(js)) + js, off


def write_safetensors(path: str, v: dict, tensors) -> None:
    header, size = safetensors_header(tensors)
    with open(path, "wb") as f:
        f.write(header)
        for name, shape, kind, dt in tensors:
            for chunk in values(v, name, shape, kind):
                f.write(encode(chunk, dt))
        assert f.tell() == len(header) + size, (path, f.tell(), len(header) + size)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 22):
            h.update(b)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------
# config and tokenizer files, as transformers writes them for XLM-R (bge-reranker-v2-m3 layout)
# ---------------------------------------------------------------------------------------------------
def config_json(v: dict) -> dict:
    return {
        "architectures": ["XLMRobertaForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0,
        "classifier_dropout": None,
        "eos_token_id": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": v["hidden"],
        "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02,
        "intermediate_size": v["ffn"],
        "label2id": {"LABEL_0": 0},
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": v["positions"],
        "model_type": "xlm-roberta",
        "num_attention_heads": v["heads"],
        "num_hidden_layers": v["layers"],
        "output_past": True,
        "pad_token_id": PAD_ID,
        "position_embedding_type": "absolute",
        "torch_dtype": {"f32": "float32", "bf16": "bfloat16"}[v["dtype"]],
        "transformers_version": "4.38.1",
        "type_vocab_size": 1,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def roberta_config_json(v: dict) -> dict:
    """As transformers writes a RobertaForSequenceClassification reranker's config (polish-roberta-large-v2
    layout: model_type roberta, pad 1, bos 0, eos 2, layer norm eps 1e-5, one token type)."""
    c = config_json(v)
    c.update(architectures=["RobertaModel" if v.get("embedding") else "RobertaForSequenceClassification"],
             model_type="roberta", vocab_size=v["vocab"])
    if v.get("embedding"):
        for k in ("id2label", "label2id"):
            del c[k]
    return c


def sentence_transformers_files() -> dict[str, object]:
    """modules.json, 1_Pooling/config.json, sentence_bert_config.json: mean pooling, then Normalize."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {
            "word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True,
        },
        "sentence_bert_config.json": {"max_seq_length": 128, "do_lower_case": False},
    }


def bert_config_json(v: dict) -> dict:
    """As transformers writes a BertForSequenceClassification cross-encoder's config (ms-marco MiniLM)."""
    return {
        "architectures": ["BertForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": v["hidden"],
        "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02,
        "intermediate_size": v["ffn"],
        "label2id": {"LABEL_0": 0},
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": v["positions"],
        "model_type": "bert",
        "num_attention_heads": v["heads"],
        "num_hidden_layers": v["layers"],
        "pad_token_id": BERT_PAD_ID,
        "position_embedding_type": "absolute",
        "torch_dtype": {"f32": "float32", "bf16": "bfloat16"}[v["dtype"]],
        "transformers_version": "4.38.1",
        "type_vocab_size": v["type_vocab"],
        "use_cache": True,
        "vocab_size": BERT_VOCAB,
    }


def tokenizer_files(v: dict, tokenizer_json: dict) -> dict[str, dict]:
    """tokenizer_config.json and special_tokens_map.json, consistent with tokenizer.json's added tokens."""
    added = {}
    for t in tokenizer_json["added_tokens"]:
        added[str(t["id"])] = {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word",
                                                  "special")}
    mask = next(t for t in tokenizer_json["added_tokens"] if t["content"] == "<mask>")
    mask_entry = {k: mask[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word")}
    tok_config = {
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": v["positions"] - PAD_ID - 1,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "sp_model_kwargs": {},
        "tokenizer_class": "XLMRobertaTokenizer",
        "unk_token": "<unk>",
    }
    special_map = {
        "bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": mask_entry,
        "pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>",
    }
    return {"tokenizer_config.json": tok_config, "special_tokens_map.json": special_map}


def dump_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------------
def stamp_of(name: str, v: dict, tokenizer_sha: str) -> dict:
    return {"recipe": RECIPE, "variant": name, "options": v, "tokenizer_sha256": tokenizer_sha}


def up_to_date(folder: str, stamp: dict) -> bool:
    path = os.path.join(folder, ".make_fixture.json")
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    if {k: old.get(k) for k in stamp} != stamp:
        return False
    for rel, sha in old.get("sha256", {}).items():
        p = os.path.join(folder, rel)
        if not os.path.isfile(p):
            return False
        # Cheap check on large files (size), full hash on small ones; --force for a full rewrite.
        if os.path.getsize(p) != old["sizes"][rel]:
            return False
        if old["sizes"][rel] < (64 << 20) and sha256_file(p) != sha:
            return False
    return True


def tokenizer_sha(v: dict, tokenizer_path: str, bert_tokenizer_dir: str) -> str:
    """sha256 of the tokenizer source (XLM-R: tokenizer.json; BERT, RoBERTa: the copied files, name by name)."""
    if is_roberta(v):
        files, folder = ROBERTA_TOKENIZER_FILES, ROBERTA_TOKENIZER
    elif is_bert(v):
        files, folder = BERT_TOKENIZER_FILES, bert_tokenizer_dir
    else:
        return sha256_file(tokenizer_path)
    h = hashlib.sha256()
    for rel in files:
        h.update(f"{rel} {sha256_file(os.path.join(folder, rel))}\n".encode())
    return h.hexdigest()


def make(name: str, out: str, tokenizer_path: str, force: bool,
         bert_tokenizer_dir: str = DEFAULT_BERT_TOKENIZER) -> dict[str, str]:
    v = VARIANTS[name]
    folder = os.path.join(out, name)
    tok_sha = tokenizer_sha(v, tokenizer_path, bert_tokenizer_dir)
    stamp = stamp_of(name, v, tok_sha)
    if not force and up_to_date(folder, stamp):
        with open(os.path.join(folder, ".make_fixture.json")) as f:
            shas = json.load(f)["sha256"]
        log(f"{name}: up to date in {folder}")
        for rel, sha in shas.items():
            print(f"  {sha}  {rel}")
        check_expected(name, shas)
        return shas

    t0 = time.time()
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tensors = inventory(v)
    n_params = sum(int(np.prod(s)) for _, s, _, dt in tensors if dt != "i64")
    log(f"{name}: writing {n_params:,} parameters ({v['dtype']}) into {folder}")

    if v["shards"] == 1:
        write_safetensors(os.path.join(tmp, "model.safetensors"), v, tensors)
    else:
        # Shard 1: the embeddings (the big table); shard 2: everything else.
        groups = [[t for t in tensors if t[0].startswith("roberta.embeddings.")],
                  [t for t in tensors if not t[0].startswith("roberta.embeddings.")]]
        assert v["shards"] == 2
        weight_map, total = {}, 0
        for i, group in enumerate(groups):
            fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            write_safetensors(os.path.join(tmp, fname), v, group)
            for tname, shape, _, dt in group:
                weight_map[tname] = fname
                total += int(np.prod(shape)) * ELEM[dt]
        dump_json(os.path.join(tmp, "model.safetensors.index.json"),
                  {"metadata": {"total_size": total}, "weight_map": weight_map})

    if is_roberta(v):
        dump_json(os.path.join(tmp, "config.json"), roberta_config_json(v))
        for rel in ROBERTA_TOKENIZER_FILES:
            shutil.copyfile(os.path.join(ROBERTA_TOKENIZER, rel), os.path.join(tmp, rel))
        if v.get("embedding"):
            for rel, obj in sentence_transformers_files().items():
                os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
                dump_json(os.path.join(tmp, rel), obj)
    elif is_bert(v):
        dump_json(os.path.join(tmp, "config.json"), bert_config_json(v))
        for rel in BERT_TOKENIZER_FILES:
            shutil.copyfile(os.path.join(bert_tokenizer_dir, rel), os.path.join(tmp, rel))
    else:
        dump_json(os.path.join(tmp, "config.json"), config_json(v))
        shutil.copyfile(tokenizer_path, os.path.join(tmp, "tokenizer.json"))
        with open(tokenizer_path, encoding="utf-8") as f:
            tok = json.load(f)
        for fname, obj in tokenizer_files(v, tok).items():
            dump_json(os.path.join(tmp, fname), obj)

    shas, sizes = {}, {}
    files = [os.path.relpath(os.path.join(d, f), tmp) for d, _, fs in os.walk(tmp) for f in fs]
    for rel in sorted(files):
        p = os.path.join(tmp, rel)
        shas[rel], sizes[rel] = sha256_file(p), os.path.getsize(p)
    dump_json(os.path.join(tmp, ".make_fixture.json"),
              dict(stamp, sha256=shas, sizes=sizes, numpy=np.__version__))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    log(f"{name}: done in {time.time() - t0:.1f} s")
    for rel, sha in shas.items():
        print(f"  {sha}  {rel}  ({sizes[rel]:,} bytes)")
    check_expected(name, shas)
    return shas


def check_expected(name: str, shas: dict[str, str]) -> None:
    for rel, want in EXPECTED.get(name, {}).items():
        if shas.get(rel) != want:
            raise SystemExit(
                f"make_fixture: ERROR: {name}/{rel} has sha256 {shas.get(rel)}, expected {want}.\n"
                f"  numpy {np.__version__} draws different numbers, or this script changed without bumping\n"
                f"  RECIPE. The committed goldens were computed on the expected bytes.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write random-weight XLM-R and BERT rerankers in Hugging Face layout.")
    p.add_argument("--model", action="append", choices=sorted(VARIANTS),
                   help="variant to write (repeatable); default: " + " ".join(DEFAULT_VARIANTS))
    p.add_argument("--out", default=DEFAULT_OUT, help="parent folder (default: .cache/fixtures/models)")
    p.add_argument("--tokenizer", default=DEFAULT_TOKENIZER, help="XLM-R tokenizer.json to copy")
    p.add_argument("--bert-tokenizer", default=DEFAULT_BERT_TOKENIZER,
                   help="folder whose WordPiece tokenizer files BERT variants copy (all-MiniLM-L6-v2)")
    p.add_argument("--force", action="store_true", help="rewrite even when up to date")
    a = p.parse_args(argv)
    names = a.model or DEFAULT_VARIANTS
    if any(not is_bert(VARIANTS[n]) and not is_roberta(VARIANTS[n]) for n in names) and not os.path.isfile(a.tokenizer):
        print(f"make_fixture: ERROR: {a.tokenizer} not found; run tools/fetch_fixtures.sh first",
              file=sys.stderr)
        return 2
    missing = [rel for rel in BERT_TOKENIZER_FILES if not os.path.isfile(os.path.join(a.bert_tokenizer, rel))]
    if any(is_bert(VARIANTS[n]) for n in names) and missing:
        print(f"make_fixture: ERROR: {a.bert_tokenizer} lacks {', '.join(missing)}; run tools/fetch_fixtures.sh first",
              file=sys.stderr)
        return 2
    for name in names:
        make(name, a.out, a.tokenizer, a.force, a.bert_tokenizer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
