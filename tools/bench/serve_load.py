#!/usr/bin/env python3
"""serve_load.py: a bounded load test of sito-serve on loopback (issue 13's benchmark).

Starts `sito-serve MODEL --port 0` itself (or uses --url of a server already running on 127.0.0.1),
then, for each concurrency level, runs that many clients, each on its own keep-alive connection,
sending the same shape of request: one query and --documents documents of about --tokens tokens each.
Every level is bounded by --requests requests AND --seconds seconds (whichever comes first), after
--warmup requests that are not counted. Prints one JSON line per level and a table:

    concurrency  requests  errors  pairs/s  p50 ms  p99 ms

pairs/s counts documents scored (or texts embedded) per wall-clock second over the level.
Only the Python standard library; only loopback addresses are accepted.

    python3 tools/bench/serve_load.py --serve .build/release/sito-serve --model minilm.sito --route embed
    python3 tools/bench/serve_load.py --url http://127.0.0.1:8080 --route rerank --concurrency 1,8,64
"""
import argparse
import asyncio
import ipaddress
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

WORDS = ("the river floods every spring while old stone bridges hold the town together and people "
         "walk along quiet streets where cats sleep on warm walls near small shops selling bread "
         "fish vegetables and books about mountains rain history music and long winter evenings").split()


def document(i, tokens):
    """About `tokens` tokens of plain English (one word is about one token for WordPiece and
    SentencePiece alike on these common words), different for each i."""
    n = max(1, int(tokens * 0.9))
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n))


def body(route, documents, tokens, seed):
    docs = [document(seed * 131 + d, tokens) for d in range(documents)]
    query = "where do cats sleep when it rains"
    if route == "rerank":
        return {"query": query, "texts": docs, "truncate": True}
    if route == "v1/rerank":
        return {"query": query, "documents": docs, "truncate": True}
    if route == "embed":
        return {"inputs": docs, "truncate": True}
    if route == "v1/embeddings":
        return {"input": docs}
    raise SystemExit(f"unknown route {route}")


class Connection:
    """One HTTP/1.1 keep-alive connection (Content-Length bodies only, as sito-serve answers)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path, payload):
        if self.writer is None:
            await self.open()
        head = (f"POST /{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n").encode()
        self.writer.write(head + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if name.strip().lower() == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def level(host, port, route, concurrency, payloads, requests, seconds, warmup):
    """Runs one concurrency level; returns latencies (s) of successful requests, errors, wall seconds."""
    latencies, errors = [], {}
    issued = 0
    deadline = None
    lock = asyncio.Lock()

    async def take():
        nonlocal issued
        async with lock:
            if issued >= requests or (deadline is not None and time.monotonic() > deadline):
                return None
            issued += 1
            return issued

    async def worker(w):
        conn = Connection(host, port)
        try:
            try:
                for k in range(warmup):   # not counted
                    await conn.post(route, payloads[(w + k) % len(payloads)])
            finally:
                ready.release()
            await start.wait()
            while (n := await take()) is not None:
                payload = payloads[(w * 7919 + n) % len(payloads)]
                t0 = time.monotonic()
                try:
                    status, _ = await conn.post(route, payload)
                except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    conn.close()
                    continue
                if status == 200:
                    latencies.append(time.monotonic() - t0)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        finally:
            conn.close()

    start = asyncio.Event()
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(worker(w)) for w in range(concurrency)]
    # Every client finishes its warm-up before the clock starts (bounded: 300 s).
    async def warmed():
        for _ in range(concurrency):
            await ready.acquire()
    await asyncio.wait_for(warmed(), timeout=300)
    t0 = time.monotonic()
    deadline = t0 + seconds
    start.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 120)
    return latencies, errors, time.monotonic() - t0


def cpu_seconds(pid):
    """utime + stime of a process (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def start_server(binary, model, extra):
    process = subprocess.Popen([binary, model, "--hostname", "127.0.0.1", "--port", "0", "--log-level", "warning"] + extra,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            return process, int(m.group(1))
    process.kill()
    raise SystemExit("sito-serve did not print its port")


async def wait_ready(host, port, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            line = await reader.readline()
            writer.close()
            if line.split()[1] == b"200":
                return
        except (OSError, IndexError):
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not become ready")


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="a running server on loopback (http://127.0.0.1:PORT)")
    ap.add_argument("--serve", default=None, help="sito-serve binary to start (with --model)")
    ap.add_argument("--model", default=None, help=".sito file for --serve")
    ap.add_argument("--server-arg", action="append", default=[], help="extra sito-serve argument (repeatable)")
    ap.add_argument("--route", default="rerank", choices=["rerank", "v1/rerank", "embed", "v1/embeddings"])
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--documents", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=128, help="about this many tokens per document")
    ap.add_argument("--requests", type=int, default=200, help="at most this many requests per level")
    ap.add_argument("--seconds", type=float, default=60, help="at most this long per level")
    ap.add_argument("--warmup", type=int, default=1, help="requests per client before the clock starts")
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    process = None
    if args.serve:
        if not args.model:
            raise SystemExit("--serve needs --model")
        process, port = start_server(args.serve, args.model, args.server_arg)
        host = "127.0.0.1"
    else:
        u = urllib.parse.urlparse(args.url or "http://127.0.0.1:8080")
        host, port = u.hostname, u.port or 80
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"{host} is not a loopback address: this load test only targets this machine")
    try:
        await wait_ready(host, port)
        payloads = [json.dumps(body(args.route, args.documents, args.tokens, s)).encode() for s in range(16)]
        rows = []
        for c in [int(x) for x in args.concurrency.split(",")]:
            cpu0 = cpu_seconds(process.pid) if process else None
            lat, errors, wall = await level(host, port, args.route, c, payloads, max(args.requests, c), args.seconds, args.warmup)
            cpu1 = cpu_seconds(process.pid) if process else None
            row = {"label": args.label, "route": args.route, "concurrency": c, "requests": len(lat), "errors": errors,
                   "documents": args.documents, "tokens_per_document": args.tokens, "seconds": round(wall, 3),
                   "pairs_per_s": round(len(lat) * args.documents / wall, 2) if wall > 0 else 0,
                   "p50_ms": round(percentile(lat, 50) * 1000, 1), "p99_ms": round(percentile(lat, 99) * 1000, 1),
                   # The server's CPU seconds over the level (warm-up included) and pairs per CPU-second:
                   # comparable with sito-bench's cpuSeconds on a machine others are loading too.
                   "server_cpu_s": round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None}
            if row["server_cpu_s"]:
                row["pairs_per_cpu_s"] = round((len(lat) + c * args.warmup) * args.documents / row["server_cpu_s"], 2)
            print(json.dumps(row), flush=True)
            rows.append(row)
        print(f"\n{'concurrency':>11} {'requests':>8} {'errors':>6} {'pairs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'pairs/CPU-s':>11}")
        for r in rows:
            print(f"{r['concurrency']:>11} {r['requests']:>8} {sum(r['errors'].values()):>6} {r['pairs_per_s']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r.get('pairs_per_cpu_s', '-'):>11}")
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            print(f"sito-serve exited {code} after SIGTERM", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
