#!/usr/bin/env python3
"""report_rounds.py — the tables of BENCHMARKS.md "OpenVINO and the other peers (issue 15)" from the JSON
lines of tools/bench/ov_rounds.sh.

How to run
    .cache/venv/bin/python tools/bench/report_rounds.py .cache/bench/ov-rounds.jsonl
Prints, per workload, each engine's median over rounds of its per-process median pairs/s (and the
CPU-normalized figure, pairs / (CPU seconds / cores)), the rounds it ran in, what OpenVINO reported it
ran (INFERENCE_PRECISION_HINT after compile, streams); the best PERFORMANCE_HINT of each OpenVINO
configuration; and Sito int8 / best OpenVINO int8, both as the ratio of the medians and as the median of
the per-round ratios (each round's two numbers were measured minutes apart under the same load).
"""
from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict

NAMES = {"sito/int8": "Sito int8", "sito/bf16": "Sito bf16", "sito/f32": "Sito f32",
         "ov-f32": "OpenVINO f32", "ov-bf16": "OpenVINO bf16 hint", "ov-int8": "OpenVINO NNCF int8, f32 other ops",
         "ov-int8-bf16": "OpenVINO NNCF int8, bf16 hint for other ops",
         "ort-int8": "ONNX Runtime dynamic int8 (per-channel)", "ort-f32": "ONNX Runtime f32",
         "torch-f32": "PyTorch f32 (eager)", "torch-int8": "PyTorch dynamic int8", "torch-bf16": "PyTorch bf16"}
OV_INT8 = ["ov-int8", "ov-int8-tput", "ov-int8-bf16", "ov-int8-bf16-tput"]


def key(r):
    return r.get("label") if r.get("engine") == "sito" else r["engine"]


def name(k):
    base = k.removesuffix("-tput")
    n = NAMES.get(base, base)
    if k.startswith("ov-"):
        n += ", THROUGHPUT hint" if k.endswith("-tput") else ", LATENCY hint"
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(args.results) if l.strip()]
    loads = [r for r in rows if r.get("engine") == "load"]
    runs = [r for r in rows if r.get("engine") != "load" and "error" not in r]
    errors = [r for r in rows if "error" in r]
    by = defaultdict(list)       # (key, workload) -> rows
    for r in runs:
        by[(key(r), r["workload"])].append(r)
    workloads = list(dict.fromkeys(r["workload"] for r in runs))
    print("Load (uptime) at the start of each round: " + "; ".join(f"round {l['round']} {l['time']} UTC: {l['loadavg']}" for l in loads) + "\n")
    for w in workloads:
        keys = [k for (k, ww) in by if ww == w]
        print(f"**{w}**\n")
        print("| engine | pairs/s (median of rounds) | per round | CPU-normalized pairs/s | rounds | peak RSS (MB) | OpenVINO ran |")
        print("|---|---:|---|---:|---:|---:|---|")
        for k in keys:
            rs = by[(k, w)]
            pps = [r["medianPairsPerSecond"] for r in rs]
            cpu = [r["pairs"] / (statistics.median(r["cpuSeconds"]) / r.get("cores", 2)) for r in rs if r.get("cpuSeconds")]
            ov = rs[-1].get("openvino")
            ran = ""
            if ov:
                ran = f"precision {ov['precisionReported'].split(chr(39))[1] if chr(39) in ov['precisionReported'] else ov['precisionReported']}, {ov['streams']} stream(s)"
            print(f"| {name(k)} | {statistics.median(pps):.3g} | {', '.join(f'{p:.3g}' for p in pps)} | "
                  f"{statistics.median(cpu):.3g} | {len(rs)} | {max(r['peakRSSBytes'] for r in rs) / 1e6:.0f} | {ran} |")
        print()
    def cpu_pps(r):
        return r["pairs"] / (statistics.median(r["cpuSeconds"]) / r.get("cores", 2))

    print("| workload | measure | Sito int8 | best OpenVINO int8 | Sito / best OV int8, ratio of medians | median of per-round ratios (rounds) | target |")
    print("|---|---|---:|---|---:|---:|---:|")
    for w in workloads:
        for label, f in [("wall pairs/s", lambda r: r["medianPairsPerSecond"]), ("CPU-normalized pairs/s", cpu_pps)]:
            med = {k: statistics.median(f(r) for r in by[(k, w)]) for k in OV_INT8 if by.get((k, w))}
            if not med or not by.get(("sito/int8", w)):
                continue
            best = max(med, key=med.get)
            sito = statistics.median(f(r) for r in by[("sito/int8", w)])
            per_round = []
            for s in by[("sito/int8", w)]:
                same = [f(r) for k in OV_INT8 for r in by.get((k, w), []) if r.get("round") == s.get("round")]
                if same:
                    per_round.append(f(s) / max(same))
            pr = f"{statistics.median(per_round):.2f} ({len(per_round)})" if per_round else "–"
            print(f"| {w} | {label} | {sito:.3g} | {name(best)}: {med[best]:.3g} | {sito / med[best]:.2f} | {pr} | ≥ 1.2 |")
    print()
    for w in workloads:
        for base in ["ov-f32", "ov-bf16", "ov-int8", "ov-int8-bf16"]:
            lat, tput = by.get((base, w)), by.get((base + "-tput", w))
            if lat and tput:
                rl = set(r.get("round") for r in lat) & set(r.get("round") for r in tput)
                a = statistics.median(r["medianPairsPerSecond"] for r in lat if r.get("round") in rl)
                b = statistics.median(r["medianPairsPerSecond"] for r in tput if r.get("round") in rl)
                print(f"- {w} {NAMES[base]}: LATENCY {a:.3g}, THROUGHPUT {b:.3g} pairs/s (same rounds) → best {'LATENCY' if a >= b else 'THROUGHPUT'}")
    if errors:
        print("\nErrors: " + "; ".join(f"{e['engine']} {e['workload']}: {e['error']}" for e in errors))


if __name__ == "__main__":
    main()
