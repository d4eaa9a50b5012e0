#!/usr/bin/env python3
"""serve_compare.py: issue 13's serving benchmark in one command, every engine interleaved in one run.

For each model (a reranker and/or an embedder) it starts, on 127.0.0.1 only, `sito-serve MODEL.sito` and
Infinity (`infinity_emb v2`) on the Hugging Face folder the .sito file was converted from, keeps both up,
and then, round after round, for each concurrency level runs the same bounded closed-loop client
(serve_load.py's: one keep-alive connection per client, 20 documents of about 128 tokens per request) at
sito-serve and at Infinity, one after the other (the order alternates each round), plus Sito's
in-process batch (`sito-bench` on the same file, one request's shape: DOCUMENTS x measured tokens per
sequence) in the same rounds. Every level is bounded in requests and seconds; both servers get SIGTERM at
the end (then SIGKILL after 60 s). Medians over the rounds; a table with pairs/s (texts/s for an
embedder), p50/p99 ms, the server's CPU seconds, and the ratios to the in-process ceiling and to Infinity.

Both servers see the same API: Cohere-style rerank (sito-serve `/v1/rerank`, Infinity `/rerank`) and
OpenAI embeddings (sito-serve `/v1/embeddings`, Infinity `/embeddings`), so responses have the same shape.

    python3 tools/bench/serve_compare.py \\
        --sito-bin .build-rel/release --infinity .cache/venv-infinity/bin/infinity_emb \\
        --reranker .cache/bench/xlmr-large.int8.sito=.cache/fixtures/models/xlmr-large \\
        --embedder .cache/bench/serve/all-minilm-l6-v2.int8.sito=.cache/fixtures/all-minilm-l6-v2 \\
        --rounds 2 --out .cache/bench/serve/compare.jsonl

Only the Python standard library (Infinity runs from its own venv); only loopback addresses.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402  (the same client, payloads and percentiles)

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


class Server:
    """A server process on loopback, with the route and body shape its API takes."""

    def __init__(self, engine, kind, argv, port, env=None, log=None):
        self.engine, self.kind, self.port = engine, kind, port
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def route(self):
        if self.engine == "sito-serve":
            return "v1/rerank" if self.kind == "reranker" else "v1/embeddings"
        return "rerank" if self.kind == "reranker" else "embeddings"

    def body(self, documents, tokens, seed, model_id):
        docs = [serve_load.document(seed * 131 + d, tokens) for d in range(documents)]
        query = "where do cats sleep when it rains"
        if self.kind == "reranker":
            b = {"query": query, "documents": docs, "return_documents": False}
            if self.engine == "sito-serve":
                b["truncate"] = True
            else:
                b["model"] = model_id
            return b
        b = {"input": docs}
        if self.engine == "infinity":
            b["model"] = model_id
        return b

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_sito(binary, model, kind, log, extra):
    port = free_port()
    argv = [binary, model, "--hostname", HOST, "--port", str(port), "--log-level", "warning", "--auto-truncate"] + extra
    return Server("sito-serve", kind, argv, port, log=log)


def start_infinity(binary, folder, kind, log, engine, dtype, batch_size, model_id):
    port = free_port()
    argv = [binary, "v2", "--model-id", folder, "--served-model-name", model_id, "--engine", engine,
            "--device", "cpu", "--dtype", dtype, "--batch-size", str(batch_size), "--host", HOST, "--port", str(port),
            "--no-model-warmup", "--log-level", "warning", "--url-prefix", ""]
    if kind == "embedder":
        argv += ["--pooling-method", "mean"]   # all-MiniLM-L6-v2's (sentence-transformers reads it anyway)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", INFINITY_ANONYMOUS_USAGE_STATS="0",
               DO_NOT_TRACK="1")
    return Server("infinity", kind, argv, port, env=env, log=log)


def run_bench(sito_bench, model, pairs, length, repeats):
    out = subprocess.run([sito_bench, model, "--workload", f"{pairs}x{length}", "--repeats", str(repeats),
                          "--warmup", "1", "--json"], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"sito-bench failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def tokens_per_sequence(server, payload):
    """sito-serve's x-compute-tokens for one request, divided by its sequences."""
    req = urllib.request.Request(f"http://{HOST}:{server.port}/{server.route()}", data=payload,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return int(r.headers["x-compute-tokens"])


async def measure(server, payloads, concurrency, requests, seconds, documents):
    cpu0 = serve_load.cpu_seconds(server.process.pid)
    la = loadavg()
    lat, errors, wall = await serve_load.level(HOST, server.port, server.route(), concurrency, payloads,
                                               max(requests, concurrency), seconds, 0)
    cpu1 = serve_load.cpu_seconds(server.process.pid)
    return {"engine": server.engine, "concurrency": concurrency, "requests": len(lat), "errors": errors,
            "seconds": round(wall, 3), "pairs_per_s": round(len(lat) * documents / wall, 3) if wall > 0 else 0,
            "p50_ms": round(serve_load.percentile(lat, 50) * 1000, 1),
            "p99_ms": round(serve_load.percentile(lat, 99) * 1000, 1),
            "server_cpu_s": round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None,
            "loadavg_before": la, "loadavg_after": loadavg()}


def requests_for(concurrency, spec):
    """--requests '1:4,8:16,64:64' -> the bound for this level (default: 2 per client, at least 4)."""
    table = dict((int(a), int(b)) for a, b in (x.split(":") for x in spec.split(","))) if spec else {}
    return table.get(concurrency, max(4, 2 * concurrency))


async def compare(args, kind, model, folder, out):
    model_id = os.path.basename(folder.rstrip("/"))
    logs = args.log_dir
    os.makedirs(logs, exist_ok=True)
    sito = start_sito(os.path.join(args.sito_bin, "sito-serve"), model, kind, os.path.join(logs, f"sito-serve-{kind}.log"),
                      args.server_arg)
    inf = start_infinity(args.infinity, folder, kind, os.path.join(logs, f"infinity-{kind}.log"), args.infinity_engine,
                         args.infinity_dtype, args.infinity_batch_size, model_id)
    servers = [sito, inf]
    try:
        for s in servers:
            await serve_load.wait_ready(HOST, s.port, timeout=args.load_timeout)
        payloads = {s.engine: [json.dumps(s.body(args.documents, args.tokens, k, model_id)).encode() for k in range(16)]
                    for s in servers}
        total = tokens_per_sequence(sito, payloads["sito-serve"][0])
        length = round(total / args.documents)
        # Warm-up: a few requests each, untimed (Infinity's first batches allocate; sito maps pages).
        for s in servers:
            await serve_load.level(HOST, s.port, s.route(), min(2, args.warmup_requests), payloads[s.engine],
                                   args.warmup_requests, 1800, 0)
        print(json.dumps({"kind": kind, "model": model, "folder": folder, "tokens_per_request": total,
                          "tokens_per_sequence": length, "loadavg": loadavg()}), flush=True)
        levels = [int(c) for c in args.concurrency.split(",")]
        rows = []
        for r in range(args.rounds):
            for c in levels:
                order = servers if (r + levels.index(c)) % 2 == 0 else servers[::-1]
                for s in order:
                    row = await measure(s, payloads[s.engine], c, requests_for(c, args.requests), args.seconds,
                                        args.documents)
                    row.update(kind=kind, round=r)
                    print(json.dumps(row), flush=True)
                    out.write(json.dumps(row) + "\n"); out.flush()
                    rows.append(row)
                # The in-process ceiling, between the servers' levels, once per round (after the last level).
                if c == levels[-1]:
                    la = loadavg()
                    b = run_bench(os.path.join(args.sito_bin, "sito-bench"), model, args.documents, length, args.bench_repeats)
                    cpu = statistics.median(b["cpuSeconds"]) if b["cpuSeconds"] else None
                    row = {"engine": "in-process", "kind": kind, "round": r, "concurrency": None,
                           "pairs_per_s": round(b["medianPairsPerSecond"], 3), "p50_ms": round(b["p50Ms"], 1),
                           "workload": b["workload"], "repeats": b["repeats"], "seconds_each": b["seconds"],
                           "cpu_s_each": b["cpuSeconds"], "loadavg_before": la, "loadavg_after": loadavg(),
                           "pairs_per_cpu_s": round(args.documents / cpu, 3) if cpu else None}
                    print(json.dumps(row), flush=True)
                    out.write(json.dumps(row) + "\n"); out.flush()
                    rows.append(row)
        return rows, length
    finally:
        for s in servers:
            code = s.stop()
            print(f"{s.engine} ({kind}) exited {code} after SIGTERM", file=sys.stderr)


def table(kind, rows, documents):
    """Medians over rounds. Ratios are per round (the engines ran next to each other in time), then the
    median: `/ in-process` divides by that round's sito-bench run, `/ Infinity` by Infinity's same level."""
    unit = "pairs/s" if kind == "reranker" else "texts/s"
    inproc = {r["round"]: r for r in rows if r["engine"] == "in-process"}
    ceil = statistics.median(r["pairs_per_s"] for r in inproc.values()) if inproc else float("nan")
    ceil_cpu = statistics.median(r["pairs_per_cpu_s"] for r in inproc.values() if r.get("pairs_per_cpu_s")) if inproc else float("nan")
    print(f"\n{kind}: medians over {len(inproc)} round(s); in-process ceiling {ceil:.2f} {unit}, {ceil_cpu:.2f} per CPU-second")
    print(f"| engine | c | requests | errors | {unit} | p50 ms | p99 ms | per CPU-s | / in-process | / in-process per CPU-s | sito / Infinity |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    levels = sorted({r["concurrency"] for r in rows if r["concurrency"] is not None})
    for c in levels:
        by = {e: {r["round"]: r for r in rows if r["engine"] == e and r["concurrency"] == c} for e in ("sito-serve", "infinity")}
        for engine, rs in by.items():
            if not rs:
                continue
            cpu = {k: r["requests"] * documents / r["server_cpu_s"] for k, r in rs.items() if r.get("server_cpu_s")}
            vs_ceiling = med(r["pairs_per_s"] / inproc[k]["pairs_per_s"] for k, r in rs.items() if k in inproc)
            vs_ceiling_cpu = med(cpu[k] / inproc[k]["pairs_per_cpu_s"] for k in cpu if k in inproc and inproc[k].get("pairs_per_cpu_s"))
            vs_inf = "–"
            if engine == "sito-serve" and by["infinity"]:
                ratios = [r["pairs_per_s"] / by["infinity"][k]["pairs_per_s"] for k, r in rs.items()
                          if k in by["infinity"] and by["infinity"][k]["pairs_per_s"]]
                vs_inf = f"{med(ratios):.2f}×" if ratios else "–"
            print(f"| {engine} | {c} | {sum(r['requests'] for r in rs.values())} | "
                  f"{sum(sum(r['errors'].values()) for r in rs.values())} | {med(r['pairs_per_s'] for r in rs.values()):.2f} | "
                  f"{med(r['p50_ms'] for r in rs.values()):,.0f} | {med(r['p99_ms'] for r in rs.values()):,.0f} | "
                  f"{med(cpu.values()):.2f} | {vs_ceiling:.0%} | {vs_ceiling_cpu:.0%} | {vs_inf} |")
    print(f"| in-process (sito-bench, {documents}×L) | – | – | – | {ceil:.2f} | – | – | {ceil_cpu:.2f} | 100% | 100% | – |")


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sito-bin", default=None, help="folder with release sito-serve and sito-bench")
    ap.add_argument("--infinity", default=None, help="infinity_emb executable (its own venv)")
    ap.add_argument("--infinity-engine", default="torch", choices=["torch", "optimum"])
    ap.add_argument("--infinity-dtype", default="int8")
    ap.add_argument("--infinity-batch-size", type=int, default=32)
    ap.add_argument("--reranker", default=None, help="MODEL.sito=HF_FOLDER")
    ap.add_argument("--embedder", default=None, help="MODEL.sito=HF_FOLDER")
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--requests", default="", help="per-level request bounds, e.g. 1:4,8:16,64:64")
    ap.add_argument("--seconds", type=float, default=300, help="time bound per level")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--documents", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--warmup-requests", type=int, default=4, help="untimed requests to each server first")
    ap.add_argument("--bench-repeats", type=int, default=3)
    ap.add_argument("--server-arg", action="append", default=[], help="extra sito-serve argument (repeatable)")
    ap.add_argument("--load-timeout", type=float, default=900)
    ap.add_argument("--log-dir", default=".cache/bench/serve/logs")
    ap.add_argument("--out", default=".cache/bench/serve/compare.jsonl")
    ap.add_argument("--report", nargs="*", default=None, help="only print the tables of these JSON-lines files")
    args = ap.parse_args()
    if args.report is not None:
        rows = [json.loads(line) for p in args.report for line in open(p) if line.strip()]
        for kind in ("reranker", "embedder"):
            if any(r.get("kind") == kind for r in rows):
                table(kind, [r for r in rows if r.get("kind") == kind], args.documents)
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    print(json.dumps({"start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": loadavg(),
                      "infinity": [args.infinity_engine, args.infinity_dtype, args.infinity_batch_size]}), flush=True)
    results = []
    with open(args.out, "a") as out:
        for kind, spec in (("reranker", args.reranker), ("embedder", args.embedder)):
            if spec:
                model, folder = spec.split("=", 1)
                rows, _ = await compare(args, kind, model, folder, out)
                results.append((kind, rows))
    for kind, rows in results:
        table(kind, rows, args.documents)
    print(json.dumps({"end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": loadavg()}))


if __name__ == "__main__":
    asyncio.run(main())
