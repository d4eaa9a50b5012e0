#!/usr/bin/env python3
"""peers_accuracy.py — the peers' int8 loss on real weights (issue 15, item 4), measured like sito-verify.

What it measures
    Every engine embeds the golden's sentences (Tests/Fixtures/goldens/all-minilm-l6-v2.golden.json: 530
    real English sentences with the transformers f32 embeddings) from the golden's own input ids, one
    sequence per forward (attention mask all ones, token types 0), mean pooling over the tokens and L2
    normalization (the model's sentence-transformers recipe). Against the golden embeddings it reports
    what Sources/SitoTools/EmbeddingVerifier.swift reports: min and mean cosine, retrieval top-1 agreement
    (each sentence as a query over the others, ranked by cosine: does the nearest neighbour agree) and
    mean NDCG@10 of the candidate's neighbour order against the reference's.
Engines
    torch-f32 (sanity: ~1.0), torch-int8 (torch.ao quantize_dynamic on nn.Linear), ort-f32 / ort-int8 /
    ort-int8-tensor (ONNX export, legacy exporter, opset 17; onnxruntime.quantization.quantize_dynamic
    QInt8, per_channel=True / False), ov-f32 / ov-int8 (openvino.convert_model on the torch model; NNCF
    post-training quantization, model_type TRANSFORMER, on --calibration real English sentences that are
    NOT in the golden), ct2-int8 (CTranslate2 TransformersConverter, quantization int8, compute_type int8).
    All at 2 threads.
Calibration texts
    English msgids of Debian's gettext catalogs (tools/corpus.py), minus every golden sentence (compared
    exactly and case-folded), a seeded random sample.
How to run
    .cache/venv/bin/python tools/bench/peers_accuracy.py --json-out .cache/bench/peers-accuracy.jsonl
Output: one JSON line per engine (stdout and --json-out). Converted models go to --work-dir
    (default .cache/bench/ov/all-minilm-l6-v2-acc).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def metrics(reference, candidate):
    """min/mean cosine, retrieval top-1 and NDCG@10 exactly as EmbeddingVerifier.swift computes them."""
    import numpy as np
    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(candidate, dtype=np.float64)
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    cos = np.where(np.isfinite(cos), cos, -1.0)
    r = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    c = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
    rs, cs = r @ r.T, c @ c.T
    n = len(r)
    top1 = ndcg = 0.0
    for q in range(n):
        others = [j for j in range(n) if j != q]
        a, b = rs[q, others], cs[q, others]
        top1 += 1.0 if int(np.argmax(a)) == int(np.argmax(b)) else 0.0   # first maximum, as Verifier.argmax
        ndcg += ndcg10(a, b)
    return {"minCosine": float(cos.min()), "meanCosine": float(cos.mean()), "retrievalTop1": top1 / n,
            "retrievalNdcg10": ndcg / n, "cases": n}


def ndcg10(reference, candidate) -> float:
    """Verifier.ndcg10: graded relevance 10 − rank of the reference's top 10, DCG of the candidate's order."""
    import numpy as np
    ref_order = sorted(range(len(reference)), key=lambda i: -reference[i])
    rel = np.zeros(len(reference))
    for rank, i in enumerate(ref_order):
        rel[i] = max(0, 10 - rank)

    def dcg(order):
        return sum((2 ** rel[i] - 1) / np.log2(k + 2) for k, i in enumerate(order[:10]))
    ideal = dcg(ref_order)
    got = dcg(sorted(range(len(candidate)), key=lambda i: -candidate[i]))
    return got / ideal if ideal > 0 else 1.0


def calibration_texts(golden_texts: set[str], count: int, seed: int) -> list[str]:
    import corpus
    folded = {t.casefold() for t in golden_texts}
    pool = [t for t in corpus.gettext_messages("pl", "msgid")
            if t.strip() and t not in golden_texts and t.casefold() not in folded and len(t) < 400]
    return random.Random(seed).sample(pool, min(count, len(pool)))


def pool_normalize(hidden):
    import numpy as np
    v = np.asarray(hidden, dtype=np.float64)[0].mean(0)
    return v / max(np.linalg.norm(v), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default=os.path.join(ROOT, ".cache", "fixtures", "all-minilm-l6-v2"))
    ap.add_argument("--golden", default=os.path.join(ROOT, "Tests", "Fixtures", "goldens", "all-minilm-l6-v2.golden.json"))
    ap.add_argument("--engines", default="torch-f32,torch-int8,ort-f32,ort-int8-tensor,ort-int8,ov-f32,ov-int8,ct2-int8")
    ap.add_argument("--calibration", type=int, default=300, help="NNCF calibration sentences")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work-dir", default=os.path.join(ROOT, ".cache", "bench", "ov", "all-minilm-l6-v2-acc"))
    ap.add_argument("--json-out")
    args = ap.parse_args()
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    golden = json.load(open(args.golden))
    cases = [c for c in golden["cases"] if c.get("embedding") is not None and c.get("input_ids")]
    ref = [c["embedding"] for c in cases]
    seqs = [np.array([c["input_ids"]], dtype=np.int64) for c in cases]
    texts = {c["text"] for c in golden["cases"] if "text" in c}
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    calib_texts = calibration_texts(texts, args.calibration, args.seed)
    calib = [tok(t, truncation=True, max_length=golden["max_length"], return_tensors="np") for t in calib_texts]
    calib = [{k: v.astype(np.int64) for k, v in c.items()} for c in calib]
    model = AutoModel.from_pretrained(args.model_dir, attn_implementation="eager").eval()
    onnx_f32 = os.path.join(args.work_dir, "model.onnx")
    names = ["input_ids", "attention_mask", "token_type_ids"]

    def feed(ids):
        return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}

    results = []
    for engine in [e for e in args.engines.split(",") if e]:
        t0 = time.time()
        info: dict = {}
        if engine.startswith("torch"):
            m = model if engine == "torch-f32" else torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

            def embed(ids):
                with torch.inference_mode():
                    x = {k: torch.from_numpy(v) for k, v in feed(ids).items()}
                    return m(**x).last_hidden_state.numpy()
        elif engine.startswith("ort"):
            import onnxruntime as ort
            from onnxruntime.quantization import QuantType, quantize_dynamic
            if not os.path.exists(onnx_f32):
                ids = torch.tensor(seqs[0])
                class Wrapped(torch.nn.Module):   # positional inputs for the legacy exporter
                    def __init__(self, m):
                        super().__init__()
                        self.m = m

                    def forward(self, input_ids, attention_mask, token_type_ids):
                        return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
                torch.onnx.export(Wrapped(model).eval(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), onnx_f32,
                                  input_names=names,
                                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                                  dynamic_axes={n: {0: "batch", 1: "length"} for n in names + ["last_hidden_state"]})
            path = onnx_f32
            if engine != "ort-f32":
                per_channel = engine == "ort-int8"
                path = os.path.join(args.work_dir, f"model.int8.{'channel' if per_channel else 'tensor'}.onnx")
                if not os.path.exists(path):
                    quantize_dynamic(onnx_f32, path, weight_type=QuantType.QInt8, per_channel=per_channel)
            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

            def embed(ids):
                return sess.run(None, feed(ids))[0]
        elif engine.startswith("ov"):
            import openvino as ov
            xml = os.path.join(args.work_dir, "model.xml")
            if not os.path.exists(xml):
                ids = torch.tensor(seqs[0])
                m = ov.convert_model(model, example_input={"input_ids": ids, "attention_mask": torch.ones_like(ids),
                                                           "token_type_ids": torch.zeros_like(ids)})
                ov.save_model(m, xml, compress_to_fp16=False)
            core = ov.Core()
            cfg = {"INFERENCE_NUM_THREADS": args.threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
            if engine == "ov-int8":
                import nncf
                q = os.path.join(args.work_dir, f"model.int8.calib{len(calib)}.xml")
                if not os.path.exists(q):
                    t = time.time()
                    qm = nncf.quantize(core.read_model(xml), nncf.Dataset(calib), model_type=nncf.ModelType.TRANSFORMER,
                                       subset_size=len(calib))
                    ov.save_model(qm, q, compress_to_fp16=False)
                    info["quantizeSeconds"] = time.time() - t
                xml = q
            cm = core.compile_model(core.read_model(xml), "CPU", cfg)
            req = cm.create_infer_request()
            info["precisionReported"] = str(cm.get_property("INFERENCE_PRECISION_HINT"))

            def embed(ids):
                return req.infer(feed(ids))[cm.output(0)]
        elif engine == "ct2-int8":
            import ctranslate2
            d = os.path.join(args.work_dir, "ct2-int8")
            if not os.path.exists(os.path.join(d, "model.bin")):
                ctranslate2.converters.TransformersConverter(args.model_dir).convert(d, quantization="int8", force=True)
            enc = ctranslate2.Encoder(d, device="cpu", compute_type="int8", intra_threads=args.threads)
            info["computeType"] = "int8"

            def embed(ids):
                out = enc.forward_batch([ids[0].tolist()])
                return np.array(out.last_hidden_state)
        else:
            raise SystemExit(f"unknown engine {engine}")
        prep = time.time() - t0
        t1 = time.time()
        got = [pool_normalize(embed(s)) for s in seqs]
        row = {"engine": engine, "model": golden["model"], **metrics(ref, got), "calibration": len(calib) if engine == "ov-int8" else 0,
               "prepareSeconds": prep, "embedSeconds": time.time() - t1, **info}
        print(json.dumps(row), flush=True)
        results.append(row)
        if args.json_out:
            with open(args.json_out, "a") as f:
                f.write(json.dumps(row) + "\n")
    print("\n| engine | min cosine | mean cosine | retrieval top-1 | NDCG@10 |\n|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['engine']} | {r['minCosine']:.6f} | {r['meanCosine']:.6f} | {r['retrievalTop1']:.3f} | {r['retrievalNdcg10']:.4f} |")


if __name__ == "__main__":
    main()
