#!/usr/bin/env bash
# edge.sh — what the edge build work changed in speed, measured interleaved in one run on the full-size
# model (tools/make_fixture.py --model $MODEL, default xlmr-large; converted and quantized here):
#   default build, int8, before (BASELINE: a sito-bench of an older commit) and after (this checkout);
#   f32 with OpenBLAS (the default trait) and without it (Sito's own sito_gemm_f32: what edge builds run).
# Each round runs every variant once (REPEATS timed calls after 1 warm-up, median); ROUNDS rounds, and the
# report takes the median over rounds, so that all variants see the same machine load.
#
# How to run
#   BASELINE=/path/to/old/sito-bench tools/bench/edge.sh           # results: .cache/bench/edge.jsonl
#   ROUNDS=5 REPEATS=3 WORKLOAD=32x128 tools/bench/edge.sh
#   MODEL=xlmr-base WORKLOAD=8x128 tools/bench/edge.sh              # the 12-layer config, a quicker run
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
REPEATS="${REPEATS:-3}"
WORKLOAD="${WORKLOAD:-32x128}"
OUT="${OUT:-.cache/bench/edge.jsonl}"
BASELINE="${BASELINE:-}"
DIR=.cache/bench
MODEL="${MODEL:-xlmr-large}"
log() { printf 'edge-bench: %s\n' "$*" >&2; }
mkdir -p "$DIR"

log "building sito-bench: default (OpenBLAS) and --disable-default-traits (own f32 GEMM)"
swift build -c release --product sito-bench >/dev/null
swift build -c release --product sito-convert >/dev/null
swift build -c release --product sito-quantize >/dev/null
swift build -c release --product sito-bench --disable-default-traits --scratch-path .build-noblas >/dev/null
DEFAULT="$(swift build -c release --show-bin-path)"
NOBLAS="$(swift build -c release --disable-default-traits --scratch-path .build-noblas --show-bin-path)"

if [[ ! -f "$DIR/$MODEL.int8.sito" || ! -f "$DIR/$MODEL.f32.sito" ]]; then
    log "preparing $MODEL files"
    python3 tools/make_fixture.py --model "$MODEL"
    "$DEFAULT/sito-convert" ".cache/fixtures/models/$MODEL" --output "$DIR/$MODEL.f32.sito" --quiet
    "$DEFAULT/sito-quantize" "$DIR/$MODEL.f32.sito" --output "$DIR/$MODEL.int8.sito" --type int8 --quiet
fi

run() {   # label binary file
    "$2" "$3" --workload "$WORKLOAD" --repeats "$REPEATS" --label "$1" --json >>"$OUT"
}
: >"$OUT"
for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS (other processes: $(ps -eo pcpu= | awk '{s+=$1} END {printf "%.0f%% CPU", s}'))"
    if [[ -n "$BASELINE" && -x "$BASELINE" ]]; then run int8-before "$BASELINE" "$DIR/$MODEL.int8.sito"; fi
    run int8-after "$DEFAULT/sito-bench" "$DIR/$MODEL.int8.sito"
    run f32-openblas "$DEFAULT/sito-bench" "$DIR/$MODEL.f32.sito"
    run f32-own-gemm "$NOBLAS/sito-bench" "$DIR/$MODEL.f32.sito"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["label"], []).append(r["medianPairsPerSecond"])
med = {k: statistics.median(v) for k, v in by.items()}
for k, v in by.items():
    print(f"{k:14s} median {med[k]:7.3f} pairs/s  rounds {', '.join(f'{x:.3f}' for x in v)}")
if "int8-before" in med:
    print(f"int8 after / before: {med['int8-after'] / med['int8-before']:.3f}")
print(f"f32 own GEMM / OpenBLAS: {med['f32-own-gemm'] / med['f32-openblas']:.3f}")
PY
