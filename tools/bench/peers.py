#!/usr/bin/env python3
"""peers.py — the peers of issue 5 on the same weights and the same token ids as sito-bench.

What it measures
    PyTorch (transformers, eager attention) f32, bf16 and dynamic int8 (torch.ao quantize_dynamic on every
    nn.Linear), and ONNX Runtime f32 and dynamic int8 per-channel (onnxruntime.quantization.quantize_dynamic,
    QInt8 weights, per_channel=True) of an XLMRobertaForSequenceClassification folder (the HF fixture that
    sito-convert reads), 2 threads each (torch.set_num_threads / intra_op_num_threads; inter-op 1).
    Inputs: PAIRSxLENGTH sequences of random ids, generated exactly as sito-bench does (SplitMix64 per pair
    from seed + pair, ids in [4, vocab - 2], <s>=0 first, </s>=2 last), attention mask all ones, token
    type ids zero. Each repetition is one forward over the whole workload (one batch: all pairs have the
    same length, so there is no padding). pairs/s = pairs / seconds; median over --repeats after
    --warmup. Like sito-bench, every (engine, workload) runs in its own process, so ru_maxrss is that
    workload's peak RSS (VmHWM; it includes the loaded weights).

How to run (in the venv with torch, transformers, onnxruntime, onnx: tools/venv.sh, then
    .cache/venv/bin/pip install onnxruntime onnx onnxscript matplotlib)
    .cache/venv/bin/python tools/bench/peers.py .cache/fixtures/models/xlmr-large \\
        --engines torch-f32,torch-bf16,torch-int8,ort-f32,ort-int8 --workloads 32x128,8x512 --json-out peers.jsonl
    The ONNX exports are cached under --onnx-dir (default .cache/bench/onnx/<model folder name>).
Output: one JSON object per line (engine, workload, seconds and CPU seconds of each repetition, median
    pairs/s, p50/p90 ms, peak RSS, first logit) on stdout and appended to --json-out.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASK64 = (1 << 64) - 1


def splitmix64(state: int):
    """Yields SplitMix64 outputs from `state`; the same stream as sito-bench's SplitMix64."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def bench_ids(pairs: int, length: int, vocab: int, seed: int) -> list[list[int]]:
    out = []
    for p in range(pairs):
        g = splitmix64((seed + p) & MASK64)
        ids = [0] + [4 + next(g) % (vocab - 5) for _ in range(length - 2)] + [2]
        out.append(ids)
    return out


def percentile(sorted_vals, q):
    pos = q * (len(sorted_vals) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def peak_rss_bytes() -> int:
    """VmHWM of this process (the mm's high-water mark; unlike ru_maxrss it does not inherit the
    parent's peak across fork + exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def onnx_paths(model_dir: str, onnx_dir: str | None):
    d = onnx_dir or os.path.join(ROOT, ".cache", "bench", "onnx", os.path.basename(os.path.normpath(model_dir)))
    return d, os.path.join(d, "model.onnx"), os.path.join(d, "model.int8.onnx")


def export_onnx(model_dir: str, onnx_dir: str | None, threads: int):
    """Exports the f32 model (legacy exporter, opset 17, dynamic batch and length; external data above
    2 GB) and its dynamic int8 per-channel quantization, once."""
    import torch
    from transformers import AutoModelForSequenceClassification
    d, f32, i8 = onnx_paths(model_dir, onnx_dir)
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f32):
        torch.set_num_threads(threads)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
        ids = torch.tensor(bench_ids(2, 16, model.config.vocab_size, 1))
        t = time.time()
        torch.onnx.export(model, (ids, torch.ones_like(ids)), f32, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                                        "logits": {0: "batch"}})
        print(f"peers: exported {f32} in {time.time() - t:.1f} s", file=sys.stderr)
    if not os.path.exists(i8):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        t = time.time()
        quantize_dynamic(f32, i8, weight_type=QuantType.QInt8, per_channel=True)
        print(f"peers: quantized {i8} in {time.time() - t:.1f} s", file=sys.stderr)


def measure_one(args) -> dict:
    pairs, length = (int(v) for v in args.one_workload.lower().split("x"))
    engine = args.one_engine
    with open(os.path.join(args.model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    ids_list = bench_ids(pairs, length, vocab, args.seed)
    t_open = time.time()
    if engine.startswith("torch"):
        import torch
        from transformers import AutoModelForSequenceClassification
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        model = AutoModelForSequenceClassification.from_pretrained(args.model_dir, attn_implementation=args.attn).eval()
        if engine == "torch-bf16":
            model = model.to(torch.bfloat16)
        elif engine == "torch-int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        ids = torch.tensor(ids_list)
        mask = torch.ones_like(ids)

        def run():
            with torch.inference_mode():
                return model(input_ids=ids, attention_mask=mask).logits.float()[:, 0].tolist()
    else:
        import numpy as np
        import onnxruntime as ort
        _, f32, i8 = onnx_paths(args.model_dir, args.onnx_dir)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(f32 if engine == "ort-f32" else i8, so, providers=["CPUExecutionProvider"])
        feed = {"input_ids": np.array(ids_list, dtype=np.int64), "attention_mask": np.ones((pairs, length), dtype=np.int64)}

        def run():
            return sess.run(None, feed)[0][:, 0].tolist()
    open_s = time.time() - t_open
    t0, c0 = time.time(), cpu_seconds()
    first = run()
    first_s = time.time() - t0
    seconds = [first_s] if args.warmup == 0 else []
    cpu = [cpu_seconds() - c0] if args.warmup == 0 else []
    for _ in range(max(0, args.warmup - 1)):
        run()
    while len(seconds) < args.repeats:
        t, c = time.time(), cpu_seconds()
        run()
        seconds.append(time.time() - t)
        cpu.append(cpu_seconds() - c)
    s = sorted(seconds)
    med = percentile(s, 0.5)
    return {"engine": engine, "label": engine, "workload": args.one_workload, "pairs": pairs, "length": length,
            "repeats": len(seconds), "seconds": seconds, "cpuSeconds": cpu, "cores": os.cpu_count(), "medianPairsPerSecond": pairs / med, "p50Ms": med * 1000,
            "p90Ms": percentile(s, 0.9) * 1000, "openSeconds": open_s, "peakRSSBytes": peak_rss_bytes(),
            "firstLogit": first[0], "threads": args.threads, "attn": args.attn,
            "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE", "")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--engines", default="torch-f32,torch-bf16,torch-int8,ort-f32,ort-int8")
    ap.add_argument("--workloads", default="32x128,8x512")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--attn", default="eager", help="transformers attn_implementation for the torch engines")
    ap.add_argument("--onnx-dir")
    ap.add_argument("--json-out")
    ap.add_argument("--one-engine", help=argparse.SUPPRESS)
    ap.add_argument("--one-workload", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_engine:
        print(json.dumps(measure_one(args)))
        return
    engines = [e for e in args.engines.split(",") if e]
    if any(e.startswith("ort") for e in engines):
        # In a child process: this one stays small (its peak would otherwise leak into the children's).
        code = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import peers; " \
               f"peers.export_onnx({args.model_dir!r}, {args.onnx_dir!r}, {args.threads})"
        subprocess.run([sys.executable, "-c", code], check=True)
    for w in args.workloads.split(","):
        for e in engines:
            cmd = [sys.executable, os.path.abspath(__file__), args.model_dir, "--one-engine", e, "--one-workload", w,
                   "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads),
                   "--seed", str(args.seed), "--attn", args.attn] + (["--onnx-dir", args.onnx_dir] if args.onnx_dir else [])
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                line = json.dumps({"engine": e, "workload": w, "error": p.stderr.strip().splitlines()[-1:] or [str(p.returncode)]})
            else:
                line = p.stdout.strip().splitlines()[-1]
            print(line, flush=True)
            if args.json_out:
                with open(args.json_out, "a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
