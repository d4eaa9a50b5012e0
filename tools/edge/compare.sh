#!/usr/bin/env bash
# compare.sh — do the edge executables (tools/edge/build.sh) run with no Swift toolchain reachable, and
# do they agree with the default build? On the generated fixtures:
#   rerankers  xlmr-tiny as f32, bf16 and int8 files: the same order, |Δlogit| ≤ 1e-4;
#   embedder   all-MiniLM-L6-v2 (real weights) as f32 and int8 files: cosine ≥ 0.99999 per text.
# The edge binaries are copied outside the checkout and run with an empty environment (env -i); as root,
# in a private mount namespace where /opt/swift (the toolchain) is hidden under an empty tmpfs.
#
# How to run (after tools/setup.sh and tools/edge/build.sh)
#   tools/edge/compare.sh [EDGE_BIN]      # default .build-edge/bin
#   SCRATCH=.build-rel tools/edge/compare.sh   # build the default build elsewhere than .build
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EDGE="${1:-$ROOT/.build-edge/bin}"
cd "$ROOT"
log() { printf 'edge-compare: %s\n' "$*" >&2; }

SCRATCH="${SCRATCH:-$ROOT/.build}"
log "default build (release, OpenBLAS trait on)…"
for product in sito-convert sito-quantize sito-rerank sito-embed; do
    swift build -c release --product "$product" --scratch-path "$SCRATCH" >/dev/null
done
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"

WORK="$(mktemp -d /tmp/sito-edge-compare.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin"
cp "$EDGE/sito-rerank" "$EDGE/sito-embed" "$WORK/bin/"

log "files: xlmr-tiny f32/bf16/int8, all-MiniLM-L6-v2 f32/int8"
"$BIN/sito-convert" .cache/fixtures/models/xlmr-tiny --output "$WORK/xlmr-f32.sito" >/dev/null 2>&1
"$BIN/sito-quantize" "$WORK/xlmr-f32.sito" --output "$WORK/xlmr-bf16.sito" --type bf16 >/dev/null 2>&1
"$BIN/sito-quantize" "$WORK/xlmr-f32.sito" --output "$WORK/xlmr-int8.sito" --type int8 >/dev/null 2>&1
"$BIN/sito-convert" .cache/fixtures/all-minilm-l6-v2 --output "$WORK/minilm-f32.sito" >/dev/null 2>&1
"$BIN/sito-quantize" "$WORK/minilm-f32.sito" --output "$WORK/minilm-int8.sito" --type int8 >/dev/null 2>&1

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
r = json.load(open("Tests/Fixtures/goldens/xlmr-tiny.golden.json"))
docs = [c["document"] for c in r["cases"] if c.get("document") and c["document"].strip() and "\n" not in c["document"]][:120]
open(f"{work}/documents.txt", "w").write("\n".join(docs) + "\n")
open(f"{work}/query.txt", "w").write(r["cases"][0]["query"])
e = json.load(open("Tests/Fixtures/goldens/all-minilm-l6-v2.golden.json"))
texts = [c["text"] for c in e["cases"] if c["text"].strip() and "\n" not in c["text"]][:200]
open(f"{work}/texts.txt", "w").write("\n".join(texts) + "\n")
PY
QUERY="$(cat "$WORK/query.txt")"

# Runs an edge binary as a user without the toolchain would: empty environment, outside the checkout,
# and (as root) with /opt/swift hidden.
hidden=no
if [[ "$(id -u)" == 0 ]] && command -v unshare >/dev/null && unshare --mount true 2>/dev/null; then hidden=yes; fi
run_edge() {
    if [[ $hidden == yes ]]; then
        unshare --mount sh -c 'mount -t tmpfs none /opt/swift && cd /tmp && exec env -i "$@"' sh "$@"
    else
        (cd /tmp && env -i "$@")
    fi
}
log "toolchain hidden: $hidden"
if [[ $hidden == yes ]]; then
    run_edge "$WORK/bin/sito-rerank" --help >/dev/null
    if unshare --mount sh -c 'mount -t tmpfs none /opt/swift && cd /tmp && exec env -i "$@"' sh "$BIN/sito-rerank" --help >/dev/null 2>&1; then
        log "ERROR: the default build still runs with /opt/swift hidden: the check proves nothing"
        exit 1
    fi
fi

status=0
for dtype in f32 bf16 int8; do
    "$BIN/sito-rerank" "$WORK/xlmr-$dtype.sito" --query "$QUERY" --documents "$WORK/documents.txt" --json --quiet >"$WORK/default-$dtype.json"
    run_edge "$WORK/bin/sito-rerank" "$WORK/xlmr-$dtype.sito" --query "$QUERY" --documents "$WORK/documents.txt" --json --quiet >"$WORK/edge-$dtype.json"
done
for dtype in f32 int8; do
    "$BIN/sito-embed" "$WORK/minilm-$dtype.sito" --input "$WORK/texts.txt" --json --quiet >"$WORK/default-emb-$dtype.json"
    run_edge "$WORK/bin/sito-embed" "$WORK/minilm-$dtype.sito" --input "$WORK/texts.txt" --json --quiet >"$WORK/edge-emb-$dtype.json"
done
python3 - "$WORK" <<'PY' || status=1
import json, math, sys
work = sys.argv[1]
ok = True
for dtype in ("f32", "bf16", "int8"):
    a = json.load(open(f"{work}/default-{dtype}.json")); b = json.load(open(f"{work}/edge-{dtype}.json"))
    same_order = [x["index"] for x in a] == [x["index"] for x in b]
    by = {x["index"]: x["logit"] for x in b}
    worst = max(abs(x["logit"] - by[x["index"]]) for x in a)
    good = same_order and worst <= 1e-4
    ok &= good
    print(f"reranker xlmr-tiny {dtype:5s} {len(a)} documents: same order {same_order}, max |Δlogit| {worst:.2e}  {'OK' if good else 'FAIL'}")
for dtype in ("f32", "int8"):
    a = json.load(open(f"{work}/default-emb-{dtype}.json")); b = json.load(open(f"{work}/edge-emb-{dtype}.json"))
    def cos(u, v):
        d = sum(x * y for x, y in zip(u, v)); return d / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))
    worst = min(cos(x["embedding"], y["embedding"]) for x, y in zip(a, b))
    good = len(a) == len(b) and worst >= 0.99999
    ok &= good
    print(f"embedder all-MiniLM-L6-v2 {dtype:5s} {len(a)} texts: min cosine {worst:.7f}  {'OK' if good else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
exit $status
