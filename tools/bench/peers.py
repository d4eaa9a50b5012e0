#!/usr/bin/env python3
"""peers.py — the peers of issue 5 on the same weights and the same token ids as sito-bench.

What it measures
    PyTorch (transformers, eager attention) f32, bf16 and dynamic int8 (torch.ao quantize_dynamic on every
    nn.Linear), and ONNX Runtime f32 and dynamic int8 per-channel (onnxruntime.quantization.quantize_dynamic,
    QInt8 weights, per_channel=True) of an XLMRobertaForSequenceClassification folder (the HF fixture that
    sito-convert reads), 2 threads each (torch.set_num_threads / intra_op_num_threads; inter-op 1).
    OpenVINO (issue 15): ov-f32 / ov-bf16 run the IR of openvino.convert_model(torch model) with
    INFERENCE_PRECISION_HINT f32 / bf16; ov-int8 / ov-int8-bf16 the NNCF post-training int8 IR
    (nncf.quantize, ModelType.TRANSFORMER, --ov-calibration random-id sequences from another seed,
    token-type embedding Gather in ignored_scope) with f32 / bf16 for the other ops;
    INFERENCE_NUM_THREADS 2, PERFORMANCE_HINT LATENCY, or THROUGHPUT with a "-tput" suffix (the batch split
    over OPTIMAL_NUMBER_OF_INFER_REQUESTS requests of an AsyncInferQueue). Each OpenVINO line records what
    the compiled model reports (INFERENCE_PRECISION_HINT, streams) and the runtime precisions of the
    executed graph's nodes. IRs are cached under --ov-dir (default .cache/bench/ov/<model folder name>).
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
    OpenVINO (pip install openvino nncf): --engines ov-f32,ov-bf16,ov-int8,ov-int8-bf16,ov-int8-tput,...
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


# OpenVINO engines: name -> (IR, INFERENCE_PRECISION_HINT); a "-tput" suffix selects
# PERFORMANCE_HINT=THROUGHPUT (the batch split over the plugin's optimal number of infer requests, run
# through an AsyncInferQueue), otherwise LATENCY (one synchronous request over the whole batch).
OV_ENGINES = {"ov-f32": ("f32", "f32"), "ov-bf16": ("f32", "bf16"),
              "ov-int8": ("int8", "f32"), "ov-int8-bf16": ("int8", "bf16")}
# The token-type embedding (one row in XLM-R) must stay out of NNCF's quantization: its int8 copy makes
# the CPU plugin's compile fail ("Check 'convert->constant_fold(...)' failed", issue 15).
OV_IGNORED = [".*token_type_embeddings.*"]


def ov_paths(model_dir: str, ov_dir: str | None):
    d = ov_dir or os.path.join(ROOT, ".cache", "bench", "ov", os.path.basename(os.path.normpath(model_dir)))
    return d, os.path.join(d, "model.xml"), os.path.join(d, "model.int8.xml")


def ov_calibration(vocab: int, count: int, seed: int = 777):
    """NNCF calibration items shaped like the workloads: batch 1, 3/4 of them 128 tokens and 1/4 512,
    the same generator as the benchmark ids with another seed (so not the measured ids)."""
    import numpy as np
    items = []
    for k in range(count):
        length = 512 if k % 4 == 3 else 128
        ids = np.array(bench_ids(1, length, vocab, seed + 1000 * k), dtype=np.int64)
        items.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    return items


def export_ov(model_dir: str, ov_dir: str | None, threads: int, calib: int = 32):
    """Converts the HF model to an OpenVINO IR (openvino.convert_model on the torch model, f32 weights:
    compress_to_fp16=False), and its NNCF int8 post-training quantization (model_type TRANSFORMER,
    `calib` calibration sequences, OV_IGNORED left out), once each."""
    import openvino as ov
    d, f32, i8 = ov_paths(model_dir, ov_dir)
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f32):
        import torch
        from transformers import AutoModelForSequenceClassification
        torch.set_num_threads(threads)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
        ids = torch.tensor(bench_ids(2, 16, model.config.vocab_size, 1))
        t = time.time()
        m = ov.convert_model(model, example_input={"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        ov.save_model(m, f32, compress_to_fp16=False)
        print(f"peers: converted {f32} in {time.time() - t:.1f} s", file=sys.stderr)
        del model, m
    if not os.path.exists(i8):
        import nncf
        with open(os.path.join(model_dir, "config.json")) as f:
            vocab = json.load(f)["vocab_size"]
        core = ov.Core()
        core.set_property("CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"})
        m = core.read_model(f32)
        items = ov_calibration(vocab, calib)
        t = time.time()
        q = nncf.quantize(m, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items),
                          ignored_scope=nncf.IgnoredScope(patterns=OV_IGNORED))
        ov.save_model(q, i8, compress_to_fp16=False)
        print(f"peers: quantized {i8} ({len(items)} calibration sequences) in {time.time() - t:.1f} s", file=sys.stderr)


def ov_compile(xml: str, precision: str, hint: str, threads: int):
    """core.compile_model with the properties users set; returns (compiled model, what it reports)."""
    import openvino as ov
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": hint}
    cm = core.compile_model(core.read_model(xml), "CPU", cfg)
    info = {"capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            "precisionAsked": precision, "hint": hint,
            "precisionReported": str(cm.get_property("INFERENCE_PRECISION_HINT")),
            "streams": int(cm.get_property("NUM_STREAMS")),
            "optimalRequests": int(cm.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))}
    # What actually runs: the executed graph's runtime precisions, counted over its nodes.
    counts: dict[str, int] = {}
    for op in cm.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        if "runtimePrecision" in rt:
            v = str(rt["runtimePrecision"].astype(str) if hasattr(rt["runtimePrecision"], "astype") else rt["runtimePrecision"])
            counts[v] = counts.get(v, 0) + 1
    info["runtimePrecisions"] = counts
    return cm, info


def measure_one(args) -> dict:
    pairs, length = (int(v) for v in args.one_workload.lower().split("x"))
    engine = args.one_engine
    with open(os.path.join(args.model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    ids_list = bench_ids(pairs, length, vocab, args.seed)
    extra: dict = {}
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
    elif engine.startswith("ov-"):
        import numpy as np
        import openvino as ov
        base = engine.removesuffix("-tput")
        ir, precision = OV_ENGINES[base]
        _, f32, i8 = ov_paths(args.model_dir, args.ov_dir)
        hint = "THROUGHPUT" if engine.endswith("-tput") else "LATENCY"
        cm, extra["openvino"] = ov_compile(f32 if ir == "f32" else i8, precision, hint, args.threads)
        ids_np = np.array(ids_list, dtype=np.int64)
        if hint == "LATENCY":
            req = cm.create_infer_request()

            def run():
                r = req.infer({"input_ids": ids_np, "attention_mask": np.ones_like(ids_np)})
                return list(r.values())[0][:, 0].tolist()
        else:
            n = max(1, min(pairs, extra["openvino"]["optimalRequests"]))
            chunks = np.array_split(np.arange(pairs), n)
            queue = ov.AsyncInferQueue(cm, n)
            out = [None] * n

            def done(request, k):
                out[k] = request.get_output_tensor(0).data[:, 0].copy()
            queue.set_callback(done)

            def run():
                for k, c in enumerate(chunks):
                    x = ids_np[c]
                    queue.start_async({"input_ids": x, "attention_mask": np.ones_like(x)}, k)
                queue.wait_all()
                return np.concatenate(out).tolist()
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
            "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE", ""), **extra}


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
    ap.add_argument("--ov-dir", help="OpenVINO IRs (default .cache/bench/ov/<model folder name>)")
    ap.add_argument("--ov-calibration", type=int, default=32, help="NNCF calibration sequences")
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
    if any(e.startswith("ov-") for e in engines):
        code = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import peers; " \
               f"peers.export_ov({args.model_dir!r}, {args.ov_dir!r}, {args.threads}, {args.ov_calibration})"
        subprocess.run([sys.executable, "-c", code], check=True)
    for w in args.workloads.split(","):
        for e in engines:
            cmd = [sys.executable, os.path.abspath(__file__), args.model_dir, "--one-engine", e, "--one-workload", w,
                   "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads),
                   "--seed", str(args.seed), "--attn", args.attn] + (["--onnx-dir", args.onnx_dir] if args.onnx_dir else []) \
                + (["--ov-dir", args.ov_dir] if args.ov_dir else [])
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
