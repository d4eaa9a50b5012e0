# ray_sito.py: a Ray Serve deployment that scales sito-serve out. Each Ray Serve replica starts one
# `sito-serve MODEL.sito` child process on a free loopback port, waits for its /health to answer 200, and
# forwards every HTTP request Ray's proxy gives it (/rerank, /embed, /v1/rerank, /v2/rerank,
# /v1/embeddings, /info, /metrics, /health, anything else) to that child unchanged: method, path, query,
# body and content type in; status, body and sito-serve's headers out, so error bodies
# ({"error", "error_type"}) and status codes are sito-serve's own. Ray does the rest: the HTTP proxy,
# routing to the least-loaded replica, autoscaling on ongoing (queued + running) requests, health checks
# and replacing dead replicas. Nothing here batches or queues: sito-serve batches across the requests
# of its replica.
#
# Run (PyPI `ray[serve]`, see tools/serve/ray_venv.sh; docs/serving-scale-out.md):
#   cd tools/serve && serve run ray_sito:app_builder model=/abs/path/model.sito sito_serve=/abs/path/sito-serve
#   serve deploy tools/serve/serve-config.yaml          # on a running cluster (ray start --head …)
#
# Application arguments (serve run key=value, or `args:` in a Serve config file):
#   model        the .sito file (same absolute path on every node)             required
#   sito_serve   the sito-serve executable; default $SITO_SERVE, then `sito-serve` on PATH
#   flags        more sito-serve flags, a list or one shell-quoted string, e.g. "--max-batch-tokens 8192
#                --auto-truncate" (not --hostname/--port: the replica chooses a loopback port itself)
#   startup_timeout_s   seconds a child gets to answer /health 200 (default 300)
#   request_timeout_s   seconds one forwarded request may take (default 300; then 504)
# Deployment options (replicas, autoscaling, CPUs, health checks) are Ray Serve's own: override them
# under `deployments:` in the config file or with SitoServe.options(...).
#
# Errors of the forwarding itself are JSON like sito-serve's: 502 {"error_type": "unavailable"} when the
# child's connection breaks (it died mid-request), 503 "unhealthy" when the child is not running, 504
# "timeout" past request_timeout_s. When the child dies the replica ends its own process at once, so
# Ray stops routing to it and starts a replacement (the requests it held fail with an error; none hang).
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Union

import aiohttp
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

# Headers of sito-serve's answers passed back to the client (the rest — content-length, date, server,
# connection — are the proxy's business).
_PASSED_RESPONSE_HEADERS = ("content-type", "x-total-time", "x-tokenization-time", "x-queue-time",
                            "x-inference-time", "x-compute-type", "x-compute-tokens")
# Headers of the client's request passed to sito-serve.
_PASSED_REQUEST_HEADERS = ("content-type", "accept")
_LISTENING = re.compile(r"listening on http://([^\s:]+|\[[^\]]+\]):(\d+)")


def _error(status: int, kind: str, message: str, replica: str = "") -> Response:
    headers = {"x-sito-replica": replica} if replica else None
    return Response(json.dumps({"error": message, "error_type": kind}), status_code=status,
                    media_type="application/json", headers=headers)


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the replica's process dies, even by SIGKILL (Linux
    prctl PR_SET_PDEATHSIG), so a killed replica never leaves an orphaned sito-serve behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


def _flags(value: Union[None, str, Sequence[str]]) -> List[str]:
    if value is None:
        return []
    flags = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
    for f in flags:
        if f.split("=")[0] in ("--hostname", "--port"):
            raise ValueError(f"flags: {f} is chosen by the replica (loopback, a free port); leave it out")
    return flags


@serve.deployment(
    name="SitoServe",
    # Queue-length autoscaling: Ray adds replicas while the average number of ongoing requests
    # (queued at a replica + being answered) per replica stays above target_ongoing_requests.
    # sito-serve batches concurrent requests, so a replica is kept busy with several at once.
    autoscaling_config={
        "min_replicas": 1,
        "initial_replicas": 1,
        "max_replicas": 4,
        "target_ongoing_requests": 8,
        "upscale_delay_s": 10,
        "downscale_delay_s": 120,
    },
    # Most requests Ray sends one replica at once; more wait in Ray's queue (the autoscaling signal)
    # instead of sito-serve's. Keep it below sito-serve's --max-concurrent-requests (512).
    max_ongoing_requests=32,
    # One sito-serve uses every core it sees for each batch; one CPU per replica is Ray's bookkeeping.
    ray_actor_options={"num_cpus": 1},
    health_check_period_s=2,
    health_check_timeout_s=10,
    # sito-serve's own --shutdown-timeout (30 s) plus a margin.
    graceful_shutdown_timeout_s=40,
)
class SitoServe:
    def __init__(self, model: str, sito_serve: Optional[str] = None, flags: Union[None, str, Sequence[str]] = None,
                 startup_timeout_s: float = 300, request_timeout_s: float = 300):
        self.replica = serve.get_replica_context().replica_id.unique_id
        executable = sito_serve or os.environ.get("SITO_SERVE") or shutil.which("sito-serve")
        if not executable or not os.access(executable, os.X_OK):
            raise RuntimeError(f"sito-serve executable not found ({executable!r}): pass sito_serve= or set SITO_SERVE")
        if not os.path.isfile(model):
            raise RuntimeError(f"model file not found on this node: {model}")
        self.request_timeout_s = float(request_timeout_s)
        self.stopping = False
        self._sessions: Dict[int, aiohttp.ClientSession] = {}
        command = [executable, model, *_flags(flags), "--hostname", "127.0.0.1", "--port", "0"]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     preexec_fn=_die_with_parent)
        port_found = threading.Event()
        self.port: Optional[int] = None

        def pump() -> None:
            # sito-serve's log (stderr) goes to this replica's Ray log; its first line names the port.
            for line in self.proc.stderr:
                sys.stderr.write(f"[sito-serve {self.replica}] {line}")
                if self.port is None:
                    m = _LISTENING.search(line)
                    if m:
                        self.port = int(m.group(2))
                        port_found.set()
            port_found.set()

        threading.Thread(target=pump, name="sito-serve-log", daemon=True).start()
        deadline = time.monotonic() + float(startup_timeout_s)
        port_found.wait(max(0.0, deadline - time.monotonic()))
        if self.port is None:
            self._stop_child(kill=True)
            raise RuntimeError(f"sito-serve did not start (exit {self.proc.poll()}): {shlex.join(command)}")
        self.base = f"http://127.0.0.1:{self.port}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sito-serve exited with {self.proc.returncode} while loading {model}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self._stop_child(kill=True)
                raise RuntimeError(f"sito-serve not healthy within {startup_timeout_s} s")
            time.sleep(0.1)

        def watch() -> None:
            # A replica without its child is useless: end this process at once so that Ray stops routing
            # to it and starts a replacement, instead of answering 503 until the next health check.
            code = self.proc.wait()
            if not self.stopping:
                sys.stderr.write(f"[sito-serve {self.replica}] exited with {code}; ending the replica\n")
                sys.stderr.flush()
                os._exit(1)

        threading.Thread(target=watch, name="sito-serve-watch", daemon=True).start()
        sys.stderr.write(f"[sito-serve {self.replica}] ready: pid {self.proc.pid}, {self.base}\n")

    def _session(self) -> aiohttp.ClientSession:
        # One connection pool per event loop (Ray may run user code on a loop of its own).
        loop = asyncio.get_running_loop()
        session = self._sessions.get(id(loop))
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                timeout=aiohttp.ClientTimeout(total=self.request_timeout_s),
                auto_decompress=False)
            self._sessions[id(loop)] = session
        return session

    async def __call__(self, request: Request) -> Response:
        if self.proc.poll() is not None:
            return _error(503, "unhealthy", f"sito-serve of replica {self.replica} is not running", self.replica)
        path = request.url.path
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        url = self.base + path + (f"?{request.url.query}" if request.url.query else "")
        headers = {h: request.headers[h] for h in _PASSED_REQUEST_HEADERS if h in request.headers}
        body = await request.body()
        try:
            async with self._session().request(request.method, url, data=body, headers=headers,
                                               allow_redirects=False) as r:
                content = await r.read()
                out = {h: r.headers[h] for h in _PASSED_RESPONSE_HEADERS if h in r.headers}
                out["x-sito-replica"] = self.replica
                return Response(content, status_code=r.status, headers=out)
        except asyncio.TimeoutError:
            return _error(504, "timeout", f"sito-serve did not answer within {self.request_timeout_s} s", self.replica)
        except aiohttp.ClientError as e:
            return _error(502, "unavailable", f"sito-serve of replica {self.replica} failed: {e!r}", self.replica)

    async def check_health(self) -> None:
        # Ray's health check (every health_check_period_s): the child runs and its /health says 200.
        if self.proc.poll() is not None:
            raise RuntimeError(f"sito-serve exited with {self.proc.returncode}")
        async with self._session().get(self.base + "/health", timeout=aiohttp.ClientTimeout(total=5)) as r:
            if r.status != 200:
                raise RuntimeError(f"sito-serve /health answered {r.status}")

    def child_pid(self) -> Dict[str, Any]:
        """For tests and operators (through a deployment handle): which process serves this replica."""
        return {"replica": self.replica, "pid": self.proc.pid, "replica_pid": os.getpid(), "port": self.port}

    def _stop_child(self, kill: bool = False, timeout: float = 35) -> None:
        self.stopping = True
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __del__(self) -> None:
        # Graceful shutdown (scale-down, redeploy, serve shutdown): SIGTERM lets sito-serve finish what it
        # has in flight (Ray already stopped sending) and exit 0.
        if getattr(self, "proc", None) is not None:
            self._stop_child()


def app_builder(args: Dict[str, Any]):
    """Application builder for `serve run ray_sito:app_builder model=…` and Serve config files."""
    known = {"model", "sito_serve", "flags", "startup_timeout_s", "request_timeout_s"}
    unknown = set(args) - known
    if unknown:
        raise ValueError(f"unknown arguments {sorted(unknown)}; known: {sorted(known)}")
    if "model" not in args:
        raise ValueError("model=/path/to/file.sito is required")
    return SitoServe.bind(model=args["model"], sito_serve=args.get("sito_serve"), flags=args.get("flags"),
                          startup_timeout_s=float(args.get("startup_timeout_s", 300)),
                          request_timeout_s=float(args.get("request_timeout_s", 300)))
