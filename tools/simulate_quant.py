#!/usr/bin/env python3
"""simulate_quant.py — what Sito's int8 / bf16 scheme should give, simulated in transformers.

What it is
    Loads a Hugging Face XLM-R reranker with transformers (float32, eager attention, CPU), replaces the
    tensors and projections that sito-quantize quantizes (formats/quantization.md, "Policy") by an exact
    simulation of the runtime's scheme (Sources/CSitoKernels/include/sito_kernels.h), and runs the cases
    of an existing f32 golden through it. Writes a golden/1 file (formats/golden.md, "Simulation goldens")
    with the simulated logits and reference.scheme = "sito-int8" or "sito-bf16".

    The two questions it separates (issue 4):
      Sito vs simulation  — is the Swift implementation the scheme? (tight: only f32 op order differs)
      simulation vs f32   — how good is the scheme? (the loss we publish)

    int8, per projection y = x·Wᵀ + b (Q, K, V, attention output, FFN up and down, classifier.dense):
      weights     s_w[n] = amax(|W[n,:]|) / 127 (f32 division), q_w = clip(rint(W / s_w), -127, 127)
      activations the same rule per token (row of x), computed right before the projection
      product     acc = Σ_k q_x·q_w, EXACT (a float64 matmul of integers: every partial sum is an integer
                  below 3072·127² < 2^53, so any summation order is exact); then, each op rounded to f32,
                  y = ((f32(acc) · s_x) · s_w) + b
      word embeddings: row r replaced by f32(q) · s[r] (one scale per row); position and token-type
      embeddings, LayerNorms, biases and classifier.out_proj stay f32.
    bf16: the same matrices and the word-embedding table rounded to bf16 (nearest even); the input of each
      bf16 projection rounded to bf16; the product of two bf16 values is exact in f32 and torch sums the
      products in f32 (its own order), then + b in f32.
    attention, both schemes (sito_attention_bf16, sito_kernels.h): Q, K, V rounded to bf16; keys in blocks
      of 64 with the online softmax; each probability p = bf16(exp(s - m')) rounded against the running
      maximum m' of the blocks so far; l = l·c + Σ p (the rounded p); o = o·c + p·V; out = o · (1/l).
      --attention-operands f32 keeps transformers' own f32 attention instead (the scheme before the fused
      kernel; for measuring what bf16 attention costs).
    Everything else is transformers' own f32 code.

    Needs the goldens venv (tools/venv.sh): torch, transformers, numpy.

How to run
    .cache/venv/bin/python tools/simulate_quant.py --model .cache/fixtures/models/xlmr-tiny \\
        --golden Tests/Fixtures/goldens/xlmr-tiny.golden.json --scheme int8 \\
        --out Tests/Fixtures/goldens/xlmr-tiny.sim-int8.golden.json
    --scheme bf16 likewise; --compare prints the simulation's loss against the f32 golden's logits
    (max/mean |Δlogit|, Spearman, top-1, NDCG@10, the metrics of sito-verify).
    Every committed simulation golden is rebuilt by tools/regenerate_goldens.sh.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_goldens import model_files, write_golden  # noqa: E402


# MARK: - the scheme, in numpy float32 (sito_kernels.h states the same steps) ------------------------------

def quantize_rows(x):
    """sito_quantize_rows_i8: per row, scale = amax/127 (one f32 division), q = clip(rint(x/scale))."""
    import numpy as np
    x = np.ascontiguousarray(x, dtype=np.float32)
    s = np.abs(x).max(axis=-1, keepdims=True) / np.float32(127)
    safe = np.where(s == 0, np.float32(1), s)
    q = np.where(s == 0, np.float32(0), np.clip(np.rint(x / safe), -127, 127))
    assert s.dtype == np.float32 and (x / safe).dtype == np.float32
    return q.astype(np.int8), s[..., 0]


def bf16_round(t):
    """f32 → bf16 (round to nearest even) → f32; equals sito_f32_to_bf16 for every non-NaN input."""
    import torch
    return t.to(torch.bfloat16).to(torch.float32)


class Int8Linear:
    """y = ((f32(Σ q_x q_w) · s_x) · s_w) + b, bit-exact with sito_gemm_i8 (every path)."""

    def __init__(self, linear):
        import torch
        w = linear.weight.detach().to(torch.float32).numpy()
        self.q, self.s = quantize_rows(w)
        self.q64 = torch.from_numpy(self.q.astype("float64")).T.contiguous()
        self.b = linear.bias.detach().to(torch.float32).numpy()
        self.zero_rows = int((self.s == 0).sum())

    def __call__(self, module, args):
        import numpy as np
        import torch
        (x,) = args
        shape = x.shape
        x2 = x.detach().reshape(-1, shape[-1]).to(torch.float32).numpy()
        qx, sx = quantize_rows(x2)
        acc = (torch.from_numpy(qx.astype(np.float64)) @ self.q64).numpy()  # exact integers
        y = ((acc.astype(np.float32) * sx[:, None]) * self.s[None, :]) + self.b[None, :]
        assert y.dtype == np.float32
        return torch.from_numpy(y).reshape(*shape[:-1], y.shape[-1])


ATTENTION_KEY_BLOCK = 64  # SITO_ATTENTION_KEY_BLOCK: part of the scheme (the running maximum p is rounded against)


def sito_bf16_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """sito_attention_bf16 for transformers' attention interface: query/key/value [B, H, L, d] → [B, L, H, d]."""
    import torch
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    q, k, v = bf16_round(query), bf16_round(key), bf16_round(value)
    shape = (*q.shape[:-1], 1)
    m = torch.full(shape, -math.inf, dtype=torch.float32)
    l = torch.zeros(shape, dtype=torch.float32)
    o = torch.zeros(q.shape, dtype=torch.float32)
    for j0 in range(0, k.shape[-2], ATTENTION_KEY_BLOCK):
        kb, vb = k[..., j0:j0 + ATTENTION_KEY_BLOCK, :], v[..., j0:j0 + ATTENTION_KEY_BLOCK, :]
        s = torch.matmul(q, kb.transpose(-1, -2)) * scaling       # exact bf16 products, f32 sums
        if attention_mask is not None:                             # all-zero for unpadded cases: s + 0 = s
            s = s + attention_mask[..., j0:j0 + ATTENTION_KEY_BLOCK]
        mx = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        c = torch.exp(m - mx)                                      # 0 for the first block (m = -inf)
        p = bf16_round(torch.exp(s - mx))
        l = l * c + p.sum(dim=-1, keepdim=True)
        o = o * c + torch.matmul(p, vb)
        m = mx
    out = o * (1.0 / l)
    return out.transpose(1, 2).contiguous(), None


class Bf16Linear:
    """y = (bf16(x) · bf16(W)ᵀ, products exact, f32 sums) + b."""

    def __init__(self, linear):
        import torch
        self.w = bf16_round(linear.weight.detach().to(torch.float32)).T.contiguous()
        self.b = linear.bias.detach().to(torch.float32)

    def __call__(self, module, args):
        import torch
        (x,) = args
        return torch.matmul(bf16_round(x.to(torch.float32)), self.w) + self.b


def projections(model):
    """The nn.Linear modules sito-quantize quantizes, with their canonical names (formats/tensor-names.md)."""
    out = []
    for i, layer in enumerate(model.roberta.encoder.layer):
        p = f"layers.{i}."
        out += [(p + "attn.q", layer.attention.self.query), (p + "attn.k", layer.attention.self.key),
                (p + "attn.v", layer.attention.self.value), (p + "attn.out", layer.attention.output.dense),
                (p + "ffn.up", layer.intermediate.dense), (p + "ffn.down", layer.output.dense)]
    out.append(("head.dense", model.classifier.dense))
    return out


def apply_scheme(model, scheme: str) -> dict:
    """Installs the simulation on `model` in place; returns a summary for the provenance block."""
    import torch
    emb = model.roberta.embeddings.word_embeddings
    zero_rows = {}
    with torch.no_grad():
        w = emb.weight.detach().to(torch.float32)
        if scheme == "int8":
            q, s = quantize_rows(w.numpy())
            emb.weight.copy_(torch.from_numpy(q.astype("float32") * s[:, None]))
            if (s == 0).any():
                zero_rows["embeddings.word.weight"] = int((s == 0).sum())
        else:
            emb.weight.copy_(bf16_round(w))
    for name, lin in projections(model):
        impl = Int8Linear(lin) if scheme == "int8" else Bf16Linear(lin)
        if scheme == "int8" and impl.zero_rows:
            zero_rows[name + ".weight"] = impl.zero_rows
        # The instance's forward is replaced (nn.Module.__call__ calls it); no transformers code is patched.
        lin.forward = (lambda impl, lin: (lambda x: impl(lin, (x,))))(impl, lin)
    return {"quantized_projections": len(projections(model)), "zero_rows": zero_rows}


# MARK: - the metrics of sito-verify (Verifier.swift), for --compare ------------------------------------

def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    if va == 0 or vb == 0:
        return 1.0 if va == vb else 0.0
    return cov / math.sqrt(va * vb)


def ndcg10(ref, cand):
    ref_order = sorted(range(len(ref)), key=lambda i: -ref[i])
    rel = [0.0] * len(ref)
    for rank, i in enumerate(ref_order):
        rel[i] = max(0, 10 - rank)

    def dcg(order):
        return sum((2 ** rel[i] - 1) / math.log2(k + 2) for k, i in enumerate(order[:10]))

    ideal = dcg(ref_order)
    return dcg(sorted(range(len(cand)), key=lambda i: -cand[i])) / ideal if ideal > 0 else 1.0


def argmax(xs):
    best = 0
    for i, x in enumerate(xs):
        if x > xs[best]:
            best = i
    return best


def compare(ref_cases, sim_cases) -> dict:
    errs, groups, order = [], {}, []
    for r, s in zip(ref_cases, sim_cases):
        if "logits" not in r or "logits" not in s:
            continue
        errs += [abs(a - b) for a, b in zip(r["logits"], s["logits"])]
        if "query" in r:
            if r["query"] not in groups:
                order.append(r["query"])
            groups.setdefault(r["query"], []).append((r["logits"][-1], s["logits"][-1]))
    rhos, tops, nd = [], [], []
    for q in order:
        g = groups[q]
        ref = [a for a, _ in g]
        if len(g) < 2 or len(set(ref)) < 2:
            continue
        got = [b for _, b in g]
        rhos.append(spearman(ref, got))
        tops.append(1.0 if argmax(ref) == argmax(got) else 0.0)
        nd.append(ndcg10(ref, got))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {"logits": len(errs), "max_abs_error": max(errs, default=0.0), "mean_abs_error": mean(errs),
            "queries": len(rhos), "spearman": mean(rhos), "min_spearman": min(rhos, default=None),
            "top1_agreement": mean(tops), "ndcg10": mean(nd)}


# MARK: - main -------------------------------------------------------------------------------------------

def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 22):
            h.update(b)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Simulate Sito's int8/bf16 scheme in transformers; write a golden/1 file.")
    p.add_argument("--model", required=True, help="Hugging Face model folder (the one the f32 golden was made from)")
    p.add_argument("--golden", required=True, help="the f32 golden whose cases (and input_ids) to run")
    p.add_argument("--scheme", required=True, choices=["int8", "bf16"])
    p.add_argument("--out", help="golden file to write (omit with --compare to only print the loss)")
    p.add_argument("--compare", action="store_true", help="print the simulation's loss against the f32 golden")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: reproducible summation order)")
    p.add_argument("--attention-operands", default="bf16", choices=["bf16", "f32"],
                   help="bf16: Sito's bf16 attention (the scheme of int8 and bf16 files); f32: transformers' own "
                        "f32 attention (what the scheme was before the fused attention kernel)")
    p.add_argument("--attention", default="eager", choices=["eager", "sdpa"],
                   help="with --attention-operands f32: transformers' attention code (eager for goldens; sdpa "
                        "reorders f32 operations, which shows how far f32 rounding alone moves the scheme: "
                        "formats/quantization.md)")
    a = p.parse_args(argv)
    if not a.out and not a.compare:
        p.error("give --out, --compare, or both")

    import numpy as np
    import tokenizers
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    with open(a.golden, encoding="utf-8") as f:
        ref = json.load(f)
    if ref.get("format") != "golden/1" or ref.get("task", "sequence-classification") != "sequence-classification":
        raise SystemExit(f"{a.golden}: need a golden/1 sequence-classification file")
    if ref.get("reference", {}).get("scheme"):
        raise SystemExit(f"{a.golden} is itself a simulation golden; give the f32 golden")
    folder = a.model.rstrip("/")
    shas = model_files(folder)
    if ref.get("model_sha256") and ref["model_sha256"] != shas:
        raise SystemExit(f"{folder} is not the model {a.golden} was made from (model_sha256 differs)")

    attention = a.attention
    if a.attention_operands == "bf16":
        if a.attention != "eager":
            p.error("--attention sdpa needs --attention-operands f32")
        transformers.AttentionInterface.register("sito_bf16", sito_bf16_attention)
        attention = "sito_bf16"
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, dtype=torch.float32, attn_implementation=attention).eval()
    info = apply_scheme(model, a.scheme)

    t0 = time.time()
    cases = []
    for c in ref["cases"]:
        o = {k: c[k] for k in ("tag", "query", "document", "input_ids") if k in c}
        if "logits" in c:
            with torch.no_grad():
                x = torch.tensor([c["input_ids"]], dtype=torch.long)
                y = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0]
            o["logits"] = [float(v) for v in y.to(torch.float32).numpy()]
        cases.append(o)
    elapsed = time.time() - t0

    if a.out:
        golden = {
            "format": "golden/1",
            "model": ref["model"],
            "model_sha256": shas,
            "reference": {
                "library": "transformers",
                "scheme": f"sito-{a.scheme}",
                "simulation": "tools/simulate_quant.py",
                "scheme_text": ("int8 weights, one f32 step scale per output row (scale = amax/127, q = rint(w/scale)); "
                                "int8 activations per token, dynamic; y = ((f32(acc)*s_x)*s_w)+b; word embeddings "
                                "q*scale per row" if a.scheme == "int8" else
                                "bf16 weights (round to nearest even); activations rounded to bf16; f32 accumulation")
                               + ("; attention: Q, K, V and probabilities rounded to bf16, online softmax over "
                                  "64-key blocks, f32 sums" if a.attention_operands == "bf16" else "; f32 attention"),
                "f32_golden": os.path.basename(a.golden),
                "f32_golden_sha256": sha256_file(a.golden),
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "tokenizers": tokenizers.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
                "dtype": "float32",
                "attention": attention,
                "device": "cpu",
                "zero_rows": info["zero_rows"],
            },
            "task": "sequence-classification",
            "recipe": ref.get("recipe", {"template": "{query}</s></s>{document}", "truncation": True}),
            "max_length": ref["max_length"],
            "cases": cases,
        }
        write_golden(a.out, golden)
        print(f"simulate_quant: {ref['model']} sito-{a.scheme}: {len(cases)} cases in {elapsed:.1f} s -> {a.out}",
              file=sys.stderr)
    if a.compare:
        print(json.dumps({"model": ref["model"], "scheme": f"sito-{a.scheme}", "vs": os.path.basename(a.golden),
                          **compare(ref["cases"], cases)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
