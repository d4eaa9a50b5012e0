# test_ray.py: the Ray Serve scale-out test (tools/serve/ray_sito.py) on a local Ray cluster on loopback.
# Run it through tools/serve/test_ray.sh (which makes the venv and bounds the whole run); it:
#   1. asks sito-serve itself (no Ray) a fixed set of requests on a reranker and an embedding model
#      (every API route, success and error statuses, flags passed through) for the reference answers;
#   2. starts a one-node Ray cluster on 127.0.0.1 (`ray start --head --block`, its own temp dir and
#      process group, torn down on exit), Serve's HTTP proxy on a free loopback port, and deploys both
#      models (reranker at /, embedder at /embedder) with 1 replica, then 2; every answer through Ray's
#      proxy must equal sito-serve's own (status, content type, JSON body; Cohere's random `id` aside),
#      and with 2 replicas both must have answered;
#   3. under load (concurrent clients, each request bounded by a timeout) SIGKILLs one replica's
#      sito-serve, then one replica's Ray actor process: Ray must bring the deployment back to 2 running
#      replicas, the new one must answer, every request must end (answer or error) within its timeout,
#      and no request fails except those in flight at the kill; successful answers under load must equal
#      the reference;
#   also: the YAML files (Serve config, Kubernetes manifests) parse and the Serve configs pass Ray's
#      schema; `serve run ray_sito:app_builder …` (the documented command line) deploys and answers alike;
#   4. autoscaling on queue length: min 1 / max 2 replicas, target 2 ongoing requests; load must scale
#      it to 2 and the end of the load back to 1.
# Prints one line per check and a summary; exit 0 when every check passed, 1 otherwise.
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
# Before anything imports ray (see "2. Ray" in main).
os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32),
                  RAY_USAGE_STATS_ENABLED="0")
RESULTS: List[Tuple[str, bool, str]] = []
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def check(name: str, ok: bool, detail: str = "") -> bool:
    RESULTS.append((name, ok, detail))
    log(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------- requests

DOCS = [
    "Trzeba zdrowo się odżywiać i dużo spać.",
    "Kraków leży nad Wisłą.",
    "Regularna aktywność fizyczna wydłuża życie.",
    "The quick brown fox jumps over the lazy dog.",
    "Stulatkowie często mieszkają w Japonii i na Sardynii.",
]
QUERY = "Jak dożyć 100 lat?"
LONG = " ".join(["długie słowo"] * 400)  # > 512 tokens for the reranker, > 128 for the embedder


@dataclass
class Req:
    name: str
    method: str
    path: str
    body: Any = None          # dict/list → JSON; bytes → raw
    compare_body: bool = True


# 8 documents truncated to the model's 512 tokens: ~0.1 s of work, so that a killed replica has requests
# in flight.
HEAVY = Req("tei-rerank-heavy", "POST", "/rerank", {"query": QUERY, "texts": [f"{DOCS[i % 5]} {LONG}" for i in range(8)], "truncate": True})


def reranker_requests() -> List[Req]:
    return [
        Req("health", "GET", "/health"),
        Req("info", "GET", "/info"),
        Req("tei-rerank", "POST", "/rerank", {"query": QUERY, "texts": DOCS}),
        Req("tei-rerank-raw-text", "POST", "/rerank", {"query": QUERY, "texts": DOCS, "raw_scores": True, "return_text": True}),
        Req("tei-rerank-truncate", "POST", "/rerank", {"query": QUERY, "texts": [LONG, DOCS[0]], "truncate": True}),
        HEAVY,
        Req("cohere-v1", "POST", "/v1/rerank", {"query": QUERY, "documents": [{"text": d} for d in DOCS], "top_n": 2, "return_documents": True, "model": "m"}),
        Req("cohere-v2", "POST", "/v2/rerank", {"query": QUERY, "documents": DOCS}),
        Req("422-too-long", "POST", "/rerank", {"query": QUERY, "texts": [LONG], "truncate": False}),
        Req("422-embed-on-reranker", "POST", "/embed", {"inputs": ["x"]}),
        Req("422-empty-texts", "POST", "/rerank", {"query": QUERY, "texts": []}),
        Req("422-batch-flag", "POST", "/rerank", {"query": QUERY, "texts": DOCS * 2}),  # 10 > --max-client-batch-size 8
        Req("400-malformed", "POST", "/rerank", b"{not json"),
        Req("413-payload-flag", "POST", "/rerank", {"query": QUERY, "texts": ["x" * 150_000]}),  # > --payload-limit 100000
        Req("404", "GET", "/no-such-route"),
        Req("metrics", "GET", "/metrics", compare_body=False),
    ]


def embedder_requests() -> List[Req]:
    return [
        Req("health", "GET", "/health"),
        Req("info", "GET", "/info"),
        Req("tei-embed", "POST", "/embed", {"inputs": DOCS[:3]}),
        Req("tei-embed-one", "POST", "/embed", {"inputs": DOCS[3], "normalize": False}),
        Req("tei-root", "POST", "/", {"inputs": [DOCS[4]]}),
        Req("openai", "POST", "/v1/embeddings", {"input": DOCS[:2], "model": "m"}),
        Req("openai-base64", "POST", "/v1/embeddings", {"input": DOCS[1], "encoding_format": "base64"}),
        Req("rerank-cosine", "POST", "/rerank", {"query": QUERY, "texts": DOCS}),
        Req("422-too-long", "POST", "/embed", {"inputs": [LONG], "truncate": False}),
        Req("422-token-ids", "POST", "/v1/embeddings", {"input": [[1, 2, 3]]}),
        Req("400-malformed", "POST", "/embed", b"]"),
    ]


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any
    replica: str = ""
    error: str = ""
    start: float = 0.0
    end: float = 0.0

    def key(self) -> Tuple[int, str, str]:
        return (self.status, self.content_type, json.dumps(self.body, sort_keys=True))


def normalize(body: bytes, content_type: str, compare: bool) -> Any:
    if not compare:
        return None
    if "json" not in content_type:
        return body.decode("utf-8", "replace")
    value = json.loads(body)
    if isinstance(value, dict):
        value.pop("id", None)  # Cohere's response id: a fresh UUID per request
    return value


async def ask(session: aiohttp.ClientSession, base: str, req: Req, timeout: float) -> Answer:
    data = req.body if isinstance(req.body, bytes) else (json.dumps(req.body).encode() if req.body is not None else None)
    headers = {"content-type": "application/json"} if data is not None else {}
    start = time.monotonic()
    try:
        async with session.request(req.method, base + req.path, data=data, headers=headers,
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            raw = await r.read()
            ctype = r.headers.get("content-type", "").split(";")[0]
            try:
                body = normalize(raw, ctype, req.compare_body)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            return Answer(r.status, ctype, body, r.headers.get("x-sito-replica", ""), start=start, end=time.monotonic(),
                          error="" if r.status < 400 else raw[:200].decode("utf-8", "replace"))
    except asyncio.TimeoutError:
        return Answer(-1, "", None, error=f"timeout after {timeout} s", start=start, end=time.monotonic())
    except aiohttp.ClientError as e:
        return Answer(-2, "", None, error=repr(e), start=start, end=time.monotonic())


async def ask_all(base: str, reqs: List[Req], repeats: int, concurrency: int, timeout: float) -> Dict[str, List[Answer]]:
    jobs = [r for _ in range(repeats) for r in reqs]
    out: Dict[str, List[Answer]] = {r.name: [] for r in reqs}
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        async def one(r: Req) -> None:
            async with sem:
                out[r.name].append(await ask(session, base, r, timeout))
        await asyncio.gather(*(one(r) for r in jobs))
    return out


def compare(label: str, reference: Dict[str, Answer], got: Dict[str, List[Answer]], want_replicas: Optional[int]) -> None:
    mismatches = []
    replicas = set()
    n = 0
    for name, answers in got.items():
        for a in answers:
            n += 1
            if a.replica:
                replicas.add(a.replica)
            if a.key() != reference[name].key():
                mismatches.append(f"{name}: got {a.status} {a.content_type} {json.dumps(a.body)[:160]} {a.error[:160]}; "
                                  f"want {reference[name].status} {json.dumps(reference[name].body)[:160]}")
    check(f"{label}: {n} answers equal sito-serve's own", not mismatches, "; ".join(mismatches[:3]))
    if want_replicas is not None:
        check(f"{label}: answered by {want_replicas} replica(s)", len(replicas) == want_replicas, f"seen {sorted(replicas)}")


# ---------------------------------------------------------------------------------------------- processes

class SitoDirect:
    """sito-serve run directly (no Ray) on a free loopback port: the reference."""

    def __init__(self, exe: str, model: str, flags: List[str]):
        self.proc = subprocess.Popen([exe, model, *flags, "--hostname", "127.0.0.1", "--port", "0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        self.base = ""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            if "listening on http://" in line and line.startswith("sito-serve:"):
                self.base = line.split("listening on ")[1].strip()
                break
        if not self.base:
            self.stop()
            raise RuntimeError(f"sito-serve did not start for {model}")
        # Drain the log so the child never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        import urllib.request
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sito-serve not healthy for {model}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class RayCluster:
    """A one-node Ray cluster on loopback: `ray start --head --block` in its own session, so the whole
    process group is ended by its id at the end; its temp dir is ours alone."""

    def __init__(self, ray_bin: str, num_cpus: int):
        self.tmp = tempfile.mkdtemp(prefix="sito-ray-", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.tmp, "ray-start.log"), "w")
        cmd = [ray_bin, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
               "--num-cpus", str(num_cpus), "--include-dashboard", "false", "--disable-usage-stats",
               "--object-store-memory", str(200 * 1024 * 1024), "--temp-dir", self.tmp,
               "--ray-client-server-port", str(free_port()), "--min-worker-port", "20000", "--max-worker-port", "20999"]
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    def stop(self) -> None:
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        # Anything of this cluster that left the group (found by our own temp dir in its command line).
        for pid in leftovers(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def listeners_outside_loopback(cluster: "RayCluster") -> List[str]:
    """Listening TCP sockets of the cluster's processes not bound to 127.0.0.1 (`ss -ltnp`)."""
    pids = set(leftovers(cluster.tmp)) | {cluster.proc.pid}
    try:
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ["ss not available"]
    bad = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 6:
            continue
        local, procs = cols[3], cols[-1]
        owners = {int(p) for p in re.findall(r"pid=(\d+)", procs)}
        if owners & pids and not re.match(r"(127\.|\[::1\]|\[::ffff:127\.)", local):
            bad.append(f"{local} {procs}")
    return bad


def leftovers(marker: str) -> List[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(d))
            except OSError:
                pass
    return pids


# ---------------------------------------------------------------------------------------------- Ray side

def replica_states(serve, app: str) -> Dict[str, int]:
    try:
        d = serve.status().applications[app].deployments["SitoServe"]
        return {str(getattr(k, "value", k)): v for k, v in d.replica_states.items()}
    except KeyError:
        return {}


def wait_running(serve, app: str, n: int, timeout: float) -> Optional[float]:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        s = replica_states(serve, app)
        if s.get("RUNNING", 0) == n and sum(s.values()) == n:
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def child_pids(serve, app: str, n: int, timeout: float = 30) -> Dict[str, Dict[str, Any]]:
    handle = serve.get_deployment_handle("SitoServe", app_name=app)
    seen: Dict[str, Dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < n and time.monotonic() < deadline:
        info = handle.child_pid.remote().result(timeout_s=10)
        seen[info["replica"]] = info
    return seen


@dataclass
class Load:
    answers: List[Answer] = field(default_factory=list)
    stop: bool = False


async def run_load(base: str, req: Req, clients: int, timeout: float, load: Load) -> None:
    async with aiohttp.ClientSession() as session:
        async def client() -> None:
            while not load.stop:
                load.answers.append(await ask(session, base, req, timeout))
        await asyncio.gather(*(client() for _ in range(clients)))


async def kill_under_load(serve, base: str, app: str, what: str, reference: Answer, clients: int, timeout: float) -> None:
    """SIGKILL one replica's sito-serve (what='child') or its Ray actor process (what='actor') under load."""
    label = f"kill {what}"
    before = await asyncio.to_thread(child_pids, serve, app, 2)
    if not check(f"{label}: 2 replicas before", len(before) == 2, f"{sorted(before)}"):
        return
    victim = sorted(before)[0]
    pid = before[victim]["pid" if what == "child" else "replica_pid"]
    load = Load()
    task = asyncio.ensure_future(run_load(base, HEAVY, clients, timeout, load))
    await asyncio.sleep(3)
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    log(f"{label}: SIGKILL pid {pid} (replica {victim}) with {clients} clients running")
    # Wait (without blocking the loop) until Ray reports 2 running replicas of which one is new, and the
    # new one has answered.
    replaced_s = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        states = await asyncio.to_thread(replica_states, serve, app)
        new = {a.replica for a in load.answers if a.replica and a.replica not in before}
        if states.get("RUNNING", 0) == 2 and sum(states.values()) == 2 and new:
            replaced_s = time.monotonic() - t_kill
            break
    await asyncio.sleep(2)
    load.stop = True
    await asyncio.wait_for(task, timeout + 10)
    answers = load.answers
    ok = [a for a in answers if a.status == 200]
    failed = [a for a in answers if a.status != 200]
    in_flight = [a for a in answers if a.start < t_kill < a.end]
    hung = [a for a in answers if a.status == -1]
    beyond = [a for a in failed if not (a.start < t_kill < a.end)]
    wrong = [a for a in ok if a.key() != reference.key()]
    slowest = max((a.end - a.start for a in answers), default=0)
    statuses: Dict[str, int] = {}
    for a in failed:
        statuses[str(a.status)] = statuses.get(str(a.status), 0) + 1
    new = sorted({a.replica for a in ok if a.replica and a.replica not in before})
    check(f"{label}: Ray replaced the replica", replaced_s is not None,
          f"2 running again and the new replica {new} answering {replaced_s:.1f} s after the kill" if replaced_s else f"states {replica_states(serve, app)}")
    check(f"{label}: no request hung", not hung, f"{len(answers)} requests, slowest {slowest:.2f} s (timeout {timeout} s)")
    check(f"{label}: failures only among the in-flight", not beyond,
          f"{len(failed)} failed (status {statuses}) of {len(in_flight)} in flight at the kill; {len(beyond)} others"
          + (f"; e.g. {beyond[0].status} {beyond[0].error[:200]} at +{beyond[0].start - t_kill:.2f} s" if beyond else "")
          + (f"; first error: {failed[0].status} {failed[0].error[:160]!r}" if failed else ""))
    check(f"{label}: answers under load equal sito-serve's own", not wrong and len(ok) > 0,
          f"{len(ok)} succeeded" + (f"; {len(wrong)} differ" if wrong else ""))
    SUMMARY[label] = {"requests": len(answers), "succeeded": len(ok), "failed": len(failed), "failed_statuses": statuses,
                      "in_flight_at_kill": len(in_flight), "failed_beyond_in_flight": len(beyond), "hung": len(hung),
                      "replaced_s": None if replaced_s is None else round(replaced_s, 1), "slowest_s": round(slowest, 2)}


SUMMARY: Dict[str, Any] = {}


def check_yaml() -> None:
    """The Serve config and the Kubernetes manifests (untested on a cluster here): YAML syntax, and the
    Serve configs (serve-config.yaml, the RayService's serveConfigV2) against Ray's own schema."""
    import glob
    import yaml
    from ray.serve.schema import ServeDeploySchema
    files = sorted(glob.glob(os.path.join(HERE, "*.yaml")) + glob.glob(os.path.join(HERE, "k8s", "*.yaml")))
    for f in files:
        name = os.path.relpath(f, HERE)
        try:
            kinds = []
            for doc in yaml.safe_load_all(open(f)):
                kinds.append(doc.get("kind", "Serve config"))
                if doc.get("kind") == "RayService":
                    ServeDeploySchema.model_validate(yaml.safe_load(doc["spec"]["serveConfigV2"]))
                elif "applications" in doc:
                    ServeDeploySchema.model_validate(doc)
            check(f"YAML {name}", True, ", ".join(kinds))
        except Exception as e:  # noqa: BLE001 — any parse or schema error is the finding
            check(f"YAML {name}", False, str(e)[:300])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sito-serve", required=True)
    ap.add_argument("--reranker", required=True, help="an int8 or bf16 reranker .sito (bit-identical across batches)")
    ap.add_argument("--embedder", required=True, help="an int8 or bf16 embedding .sito")
    ap.add_argument("--repeats", type=int, default=4, help="times each request of the fixed set is sent per phase")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients")
    ap.add_argument("--timeout", type=float, default=30, help="seconds one request may take before it counts as hung")
    ap.add_argument("--skip-autoscale", action="store_true")
    ap.add_argument("--deadline", type=float, default=840, help="seconds the whole test may take (then it ends the cluster and fails)")
    args = ap.parse_args()

    check_yaml()
    flags = ["--max-client-batch-size", "8", "--payload-limit", "100000"]
    sets = {"reranker": reranker_requests(), "embedder": embedder_requests()}
    models = {"reranker": args.reranker, "embedder": args.embedder}
    prefixes = {"reranker": "/", "embedder": "/embedder"}

    # 1. The reference: sito-serve directly, one request at a time.
    reference: Dict[str, Dict[str, Answer]] = {}
    for app, model in models.items():
        direct = SitoDirect(args.sito_serve, model, flags)
        try:
            got = asyncio.run(ask_all(direct.base, sets[app], 1, 1, args.timeout))
            reference[app] = {k: v[0] for k, v in got.items()}
            again = asyncio.run(ask_all(direct.base, sets[app], args.repeats, args.clients, args.timeout))
            compare(f"direct {app}, concurrent", reference[app], again, None)
        finally:
            direct.stop()
        log(f"reference {app}: " + ", ".join(f"{k} {v.status}" for k, v in reference[app].items()))
    check("reference statuses as formats/serve-api.md", [a.status for a in reference["reranker"].values()] ==
          [200, 200, 200, 200, 200, 200, 200, 200, 422, 422, 422, 422, 400, 413, 404, 200] and
          [a.status for a in reference["embedder"].values()] == [200, 200, 200, 200, 200, 200, 200, 200, 422, 422, 400])

    # 2. Ray. Loopback only (Ray reads these when it is imported): with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 Ray takes 127.0.0.1 as the node
    # address (as it does on a laptop; otherwise it replaces 127.0.0.1 by the machine's address) and
    # refuses other nodes. Token authentication with a token of this run only (in the environment, so
    # nothing is written to ~/.ray).
    # (The environment is set at the top of this file, before anything imports ray.)
    venv_bin = os.path.dirname(sys.executable)
    t = time.monotonic()
    cluster = RayCluster(os.path.join(venv_bin, "ray"), num_cpus=8)

    def watchdog() -> None:
        # Some Ray calls (ray.init on a cluster it cannot reach) block without a timeout of their own:
        # past the deadline, end the cluster's processes and this one.
        log(f"FAIL the test did not finish within {args.deadline} s; ending the Ray cluster and the test")
        cluster.stop()
        os._exit(124)
    timer = threading.Timer(max(1.0, args.deadline - (time.monotonic() - T0)), watchdog)
    timer.daemon = True
    timer.start()
    import ray
    from ray import serve
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ray.init(address=cluster.address, logging_level="warning", log_to_driver=False)
                break
            except Exception as e:  # the head is still starting
                if time.monotonic() > deadline or cluster.proc.poll() is not None:
                    raise RuntimeError(f"Ray head did not start: {e}; see {cluster.log.name}")
                time.sleep(1)
        http_port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": http_port})
        base = f"http://127.0.0.1:{http_port}"
        SUMMARY["ray_start_s"] = round(time.monotonic() - t, 1)
        log(f"Ray {ray.__version__} head at {cluster.address}, Serve proxy at {base} ({SUMMARY['ray_start_s']} s)")
        outside = listeners_outside_loopback(cluster)
        check("Ray listens on loopback only", not outside, "; ".join(outside[:5]) if outside else "every listening socket of the cluster is on 127.0.0.1")
        import ray_sito

        def deploy(app: str, **options: Any) -> float:
            t = time.monotonic()
            serve.run(ray_sito.SitoServe.options(**options).bind(model=models[app], sito_serve=args.sito_serve, flags=flags,
                                                                  startup_timeout_s=120, request_timeout_s=60),
                      name=app, route_prefix=prefixes[app], blocking=False)
            return time.monotonic() - t

        for n in (1, 2):
            for app in models:
                s = deploy(app, num_replicas=n, autoscaling_config=None)
                waited = wait_running(serve, app, n, 120)
                check(f"deploy {app} with {n} replica(s)", waited is not None, f"serve.run {s:.1f} s, all running after {waited or 0:.1f} s more")
                SUMMARY[f"deploy_{app}_{n}_s"] = round(s + (waited or 0), 1)
            for app in models:
                app_base = base + ("" if prefixes[app] == "/" else prefixes[app])
                got = asyncio.run(ask_all(app_base, sets[app], args.repeats, args.clients, args.timeout))
                compare(f"{n} replica(s), {app}", reference[app], got, n)

        # The documented command line: `serve run ray_sito:app_builder model=… sito_serve=… flags=…` (the
        # application builder and the deployment's own defaults: autoscaling from 1 replica).
        t = time.monotonic()
        cli = subprocess.run([os.path.join(venv_bin, "serve"), "run", "--non-blocking", "--address", cluster.address,
                              "--app-dir", HERE, "--name", "cli", "--route-prefix", "/cli", "ray_sito:app_builder",
                              f"model={models['reranker']}", f"sito_serve={args.sito_serve}", f"flags={' '.join(flags)}"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
        waited = wait_running(serve, "cli", 1, 60) if cli.returncode == 0 else None
        if check("serve run ray_sito:app_builder (the CLI)", waited is not None,
                 f"{time.monotonic() - t:.1f} s" if waited is not None else f"exit {cli.returncode}: {cli.stderr[-400:]}"):
            got = asyncio.run(ask_all(base + "/cli", sets["reranker"], 1, args.clients, args.timeout))
            compare("serve run CLI, reranker", reference["reranker"], got, 1)
        serve.delete("cli")

        # 3. Kills under load (the reranker, 2 replicas).
        ref = reference["reranker"][HEAVY.name]
        for what in ("child", "actor"):
            asyncio.run(kill_under_load(serve, base, "reranker", what, ref, args.clients, args.timeout))
            wait_running(serve, "reranker", 2, 60)

        # 4. Autoscaling on ongoing requests (queue length).
        if not args.skip_autoscale:
            serve.delete("embedder")
            auto = {"min_replicas": 1, "initial_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 2,
                    "upscale_delay_s": 1, "downscale_delay_s": 3, "metrics_interval_s": 0.5, "look_back_period_s": 2}
            deploy("reranker", autoscaling_config=auto, max_ongoing_requests=16)
            down = wait_running(serve, "reranker", 1, 90)
            check("autoscale: starts at 1 replica", down is not None, str(replica_states(serve, "reranker")))
            load = Load()
            heavy = Req("tei-rerank", "POST", "/rerank", {"query": QUERY, "texts": [d * 8 for d in DOCS]})

            async def scale() -> Tuple[Optional[float], Optional[float]]:
                task = asyncio.ensure_future(run_load(base, heavy, 16, args.timeout, load))
                t = time.monotonic()
                up = None
                while time.monotonic() - t < 90:
                    await asyncio.sleep(0.25)
                    s = await asyncio.to_thread(replica_states, serve, "reranker")
                    if s.get("RUNNING", 0) == 2:
                        up = time.monotonic() - t
                        break
                load.stop = True
                await asyncio.wait_for(task, args.timeout + 10)
                t = time.monotonic()
                down = await asyncio.to_thread(wait_running, serve, "reranker", 1, 90)
                return up, down
            up, down = asyncio.run(scale())
            failed = [a for a in load.answers if a.status != 200]
            check("autoscale: 16 clients scale it up to 2", up is not None, f"{up:.1f} s after the load began" if up else "")
            check("autoscale: idle scales it back to 1", down is not None, f"{down:.1f} s after the load ended" if down else "")
            check("autoscale: no request failed while scaling", not failed, f"{len(load.answers)} requests"
                  + (f"; {len(failed)} failed, e.g. {failed[0].status} {failed[0].error[:160]}" if failed else ""))
            SUMMARY["autoscale"] = {"up_s": None if up is None else round(up, 1), "down_s": None if down is None else round(down, 1),
                                    "requests": len(load.answers), "failed": len(failed)}
        serve.shutdown()
    finally:
        try:
            ray.shutdown()
        finally:
            cluster.stop()
        left = leftovers(cluster.tmp)
        check("cleanup: no process of the Ray cluster left", not left, f"{left}" if left else cluster.tmp)

    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed_n = len(RESULTS) - passed
    if failed_n == 0:
        shutil.rmtree(cluster.tmp, ignore_errors=True)  # Ray's logs: kept only when something failed
    else:
        print(f"Ray's logs: {cluster.tmp}")
    print("\nsummary:", json.dumps(SUMMARY, sort_keys=True))
    print(f"total {time.monotonic() - T0:.1f} s")
    print(f"{passed} passed, {failed_n} failed")
    return 0 if failed_n == 0 else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
