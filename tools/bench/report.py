#!/usr/bin/env python3
"""report.py — tables and the plot of BENCHMARKS.md from the JSON lines of tools/bench/run.sh.

How to run
    .cache/venv/bin/python tools/bench/report.py .cache/bench/results.jsonl \\
        --plot docs/benchmarks/pairs_per_second.png > /tmp/tables.md
Prints Markdown tables (medians; per workload and OpenBLAS setting), the acceptance ratios of issue 5, and
writes a PNG of median pairs/s against sequence length for every engine (matplotlib, Agg backend).
Columns: "pairs/s" = pairs / median wall seconds of one call over the workload; "CPU-normalized" =
pairs / (median CPU seconds / cores), the throughput the same work would have on otherwise idle cores
(the development machine is shared, so wall time includes waiting for other processes).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import OrderedDict

ORDER = ["sito/int8", "sito/bf16", "sito/f32", "sito/int8-rowmajor", "sito/bf16-rowmajor",
         "baseline/int8-rowmajor", "baseline/bf16-rowmajor", "baseline/f32",
         "ort-int8", "ort-f32", "torch-int8", "torch-bf16", "torch-f32"]
NAMES = {"sito/int8": "Sito int8", "sito/bf16": "Sito bf16", "sito/f32": "Sito f32",
         "sito/int8-rowmajor": "Sito int8, row-major file (format 1)", "sito/bf16-rowmajor": "Sito bf16, row-major file",
         "baseline/int8-rowmajor": "Sito int8, before (row-major file)", "baseline/bf16-rowmajor": "Sito bf16, before (row-major file)",
         "baseline/f32": "Sito f32, before", "ort-int8": "ONNX Runtime dynamic int8 (per-channel)",
         "ort-f32": "ONNX Runtime f32", "torch-int8": "PyTorch dynamic int8", "torch-bf16": "PyTorch bf16",
         "torch-f32": "PyTorch f32 (eager)"}


def key(r):
    return r.get("label") if r.get("engine") == "sito" else r["engine"]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def cpu_norm(r):
    cpu = r.get("cpuSeconds") or []
    if not cpu:
        return None
    return r["pairs"] / (statistics.median(cpu) / max(1, r.get("cores", 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--plot")
    ap.add_argument("--model", default="large (bge-reranker-v2-m3)", help="the config named in the plot's title")
    args = ap.parse_args()
    rows = load(args.results)
    out = sys.stdout
    tools = [r for r in rows if r.get("engine") == "tool"]
    if tools:
        out.write("| step | seconds | peak RSS (MB) |\n|---|---:|---:|\n")
        for r in tools:
            out.write(f"| {r['step']} ({r['model']}) | {r['seconds']:.1f} | {r['peakRSSBytes'] / 1e6:.0f} |\n")
        out.write("\n")
    runs = [r for r in rows if r.get("engine") != "tool" and "error" not in r]
    errors = [r for r in rows if "error" in r]
    opens = [r for r in runs if r["workload"] == "open"]
    if opens:
        out.write("| file | open (s) | open-to-first-score (s) | peak RSS (MB) |\n|---|---:|---:|---:|\n")
        for r in opens:
            out.write(f"| {r['label']} ({r['fileBytes'] / 1e6:.0f} MB) | {r['openSeconds']:.3f} | {r['firstScoreSeconds']:.3f} | {r['peakRSSBytes'] / 1e6:.0f} |\n")
        out.write("\n")
    # Latest measurement per (engine key, workload, coretype).
    table = OrderedDict()
    for r in runs:
        if r["workload"] == "open":
            continue
        table[(key(r), r["workload"], r.get("openblasCoretype", ""))] = r
    workloads = sorted({k[1] for k in table}, key=lambda w: (int(w.split("x")[1]), -int(w.split("x")[0])))
    for ct in sorted({k[2] for k in table}):
        for w in workloads:
            sel = [(k, table[k]) for k in table if k[1] == w and k[2] == ct]
            if not sel:
                continue
            sel.sort(key=lambda kr: ORDER.index(kr[0][0]) if kr[0][0] in ORDER else 99)
            out.write(f"**{w}** (OPENBLAS_CORETYPE {'=' + ct if ct else 'unset'})\n\n")
            out.write("| engine | pairs/s (median) | CPU-normalized pairs/s | p50 (ms) | p90 (ms) | runs | peak RSS (MB) |\n")
            out.write("|---|---:|---:|---:|---:|---:|---:|\n")
            for (k, _, _), r in sel:
                cn = cpu_norm(r)
                out.write(f"| {NAMES.get(k, k)} | {r['medianPairsPerSecond']:.3g} | {cn:.3g} | {r['p50Ms']:.0f} | {r['p90Ms']:.0f} | "
                          f"{r['repeats']} | {r['peakRSSBytes'] / 1e6:.0f} |\n" if cn else
                          f"| {NAMES.get(k, k)} | {r['medianPairsPerSecond']:.3g} | – | {r['p50Ms']:.0f} | {r['p90Ms']:.0f} | "
                          f"{r['repeats']} | {r['peakRSSBytes'] / 1e6:.0f} |\n")
            out.write("\n")
    # Acceptance ratios (unset coretype, same run).
    out.write("| ratio (same run, medians) | workload | wall | CPU-normalized |\n|---|---|---:|---:|\n")
    pairs = [("sito/int8", "ort-int8", 1.25), ("sito/bf16", "torch-bf16", 1.2), ("sito/f32", "torch-f32", 1.2),
             ("sito/int8", "sito/int8-rowmajor", None), ("sito/bf16", "sito/bf16-rowmajor", None),
             ("sito/int8", "baseline/int8-rowmajor", None), ("sito/bf16", "baseline/bf16-rowmajor", None),
             ("sito/f32", "baseline/f32", None)]
    for a, b, target in pairs:
        for w in workloads:
            ra, rb = table.get((a, w, "")), table.get((b, w, ""))
            if not ra or not rb:
                continue
            wall = ra["medianPairsPerSecond"] / rb["medianPairsPerSecond"]
            ca, cb = cpu_norm(ra), cpu_norm(rb)
            cn = f"{ca / cb:.2f}" if ca and cb else "–"
            t = f" (target ≥ {target})" if target else ""
            out.write(f"| {NAMES[a]} / {NAMES[b]}{t} | {w} | {wall:.2f} | {cn} |\n")
    out.write("\n")
    for r in errors:
        out.write(f"- failed: {r['engine']} {r['workload']}: {r['error']}\n")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 5))
        for k in ORDER:
            if "rowmajor" in k or k.startswith("baseline"):
                continue   # the plot compares engines; the tables have the layout and baseline rows
            pts = sorted((int(w.split("x")[1]), table[(k, w, "")]["medianPairsPerSecond"]) for (kk, w, ct) in table if kk == k and ct == "")
            if not pts:
                continue
            style = "-o" if k.startswith("sito") else ("--s" if k.startswith("ort") else (":^" if k.startswith("torch") else "-."))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=NAMES.get(k, k))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tokens per pair")
        ax.set_ylabel("pairs per second (median, 2 threads)")
        ax.set_title(f"XLM-R {args.model} reranker config, random weights")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
