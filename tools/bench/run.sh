#!/usr/bin/env bash
# run.sh — issue 5's benchmark end to end: fixture → sito-convert → sito-quantize → sito-bench (+ peers.py),
# one JSON line per (engine, file, workload, OpenBLAS setting) appended to $OUT. BENCHMARKS.md is written
# from that file by tools/bench/report.py.
#
# How to run (from the repository root; needs the venv of tools/venv.sh plus
#   .cache/venv/bin/pip install onnxruntime onnx onnxscript matplotlib):
#   tools/bench/run.sh                      # every phase below, large config
#   PHASES="prepare main peers" tools/bench/run.sh
#   MODEL=xlmr-base tools/bench/run.sh      # the 12-layer, 768-hidden config
# Phases (in this order; each appends to $OUT):
#   prepare   make_fixture.py, sito-convert and sito-quantize under /usr/bin/time -v (peak RSS, seconds);
#             also int8 and bf16 files with --layout row-major (format 1: "<dtype>-rowmajor")
#   main      sito-bench: the $DTYPES files × $WORKLOADS (REPEATS timed after 1 warm-up); with the layout
#             phase, the same binary on the row-major files right after (the blocked16 layout's effect)
#   open      open-to-first-score of each file, twice (fresh processes)
#   baseline  the same with $BASELINE (a sito-bench built from an older commit), interleaved with main's
#             binary so both see the same machine load; skipped when $BASELINE is not executable. Older
#             builds read format 1 only, so the baseline runs on the row-major int8/bf16 files.
#   peers     tools/bench/peers.py: torch f32/bf16/int8, ORT f32/int8 on 32x128 and 8x512
#   long      one pair of 8192 (1 repetition, no warm-up) and of 2048 tokens (3 repetitions): sito
#             ($LONG_DTYPES), torch f32 (and ORT int8 at 2048)
#   haswell   main's f32 and int8 runs again with OPENBLAS_CORETYPE=Haswell (and peers' torch-f32)
# Environment: OUT (default .cache/bench/results.jsonl), REPEATS (5), BIN (.build-perf/release), DTYPES,
#   BASELINE_DTYPES, PEER_ENGINES, WORKLOADS (defaults: everything above),
#   BASELINE (.cache/bench/bin-baseline/sito-bench), PY (.cache/venv/bin/python).
# One process per measurement: its peak RSS (VmHWM) is that workload's. Threads: sito uses every core
# (2 here), the peers are set to 2 threads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
MODEL="${MODEL:-xlmr-large}"
OUT="${OUT:-.cache/bench/results.jsonl}"
REPEATS="${REPEATS:-5}"
BIN="${BIN:-.build-perf/release}"
BASELINE="${BASELINE:-.cache/bench/bin-baseline/sito-bench}"
PY="${PY:-.cache/venv/bin/python}"
PHASES="${PHASES:-prepare main layout baseline open peers long haswell}"
DTYPES="${DTYPES:-int8 bf16 f32}"                       # files measured by main
BASELINE_DTYPES="${BASELINE_DTYPES:-$DTYPES}"           # files measured by baseline
PEER_ENGINES="${PEER_ENGINES:-torch-f32,torch-bf16,torch-int8,ort-f32,ort-int8}"
WORKLOADS="${WORKLOADS:-32x128 8x512}"
LONG_DTYPES="${LONG_DTYPES:-int8 bf16 f32}"             # files measured by long
DIR=.cache/bench
HF=.cache/fixtures/models/$MODEL
mkdir -p "$DIR"
log() { printf 'bench: %s\n' "$*" >&2; }
has() { [[ " $PHASES " == *" $1 "* ]]; }
# Unset unless a phase sets it: the "unset" OpenBLAS setting is OpenBLAS's own CPU detection.
unset OPENBLAS_CORETYPE || true

# A /usr/bin/time -v run as one JSON line: {"engine":"tool","step":…,"seconds":…,"peakRSSBytes":…}.
timed() {
    local step="$1"; shift
    local t; t="$(mktemp)"
    /usr/bin/time -v "$@" 2>"$t" >/dev/null
    "$PY" - "$step" "$t" "$MODEL" >>"$OUT" <<'PYEOF'
import json, re, sys
step, path, model = sys.argv[1:4]
text = open(path).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) * 1024
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
sec = 0.0
for part in wall.split(":"):
    sec = sec * 60 + float(part)
print(json.dumps({"engine": "tool", "step": step, "model": model, "seconds": sec, "peakRSSBytes": rss}))
PYEOF
    rm -f "$t"
}

sito() {   # sito() <binary> <label> <dtype> <workload> [sito-bench options…]
    local bin="$1" label="$2" dtype="$3" w="$4"; shift 4
    log "$label $dtype $w ${OPENBLAS_CORETYPE:-unset}"
    "$bin" "$DIR/$MODEL.$dtype.sito" --workload "$w" --label "$label/$dtype" --json "$@" >>"$OUT" \
        || log "FAILED: $label $dtype $w"
}

if has prepare; then
    python3 tools/make_fixture.py --model "$MODEL"
    timed convert-f32 "$BIN/sito-convert" "$HF" --output "$DIR/$MODEL.f32.sito"
    timed quantize-int8 "$BIN/sito-quantize" "$DIR/$MODEL.f32.sito" --output "$DIR/$MODEL.int8.sito" --type int8
    timed quantize-bf16 "$BIN/sito-quantize" "$DIR/$MODEL.f32.sito" --output "$DIR/$MODEL.bf16.sito" --type bf16
    for dtype in int8 bf16; do
        "$BIN/sito-quantize" "$DIR/$MODEL.f32.sito" --output "$DIR/$MODEL.$dtype-rowmajor.sito" --type "$dtype" --layout row-major >/dev/null
    done
fi

run_main() {   # run_main <workloads…>: new binary, then the baseline right after on the same input
    for w in "$@"; do
        for dtype in $DTYPES; do
            sito "$BIN/sito-bench" sito "$dtype" "$w" --repeats "$REPEATS"
            local v1="$dtype"
            [[ "$dtype" == int8 || "$dtype" == bf16 ]] && v1="$dtype-rowmajor"
            if has layout && [[ "$v1" != "$dtype" ]]; then
                sito "$BIN/sito-bench" sito "$v1" "$w" --repeats "$REPEATS"
            fi
            if has baseline && [[ -x "$BASELINE" && " $BASELINE_DTYPES " == *" $dtype "* ]]; then
                sito "$BASELINE" baseline "$v1" "$w" --repeats "$REPEATS"
            fi
        done
    done
}

if has main; then
    run_main $WORKLOADS
fi
if has open; then
    for dtype in int8 bf16 f32; do
        sito "$BIN/sito-bench" sito "$dtype" open --repeats 1
        sito "$BIN/sito-bench" sito "$dtype" open --repeats 1
    done
fi

if has peers; then
    "$PY" tools/bench/peers.py "$HF" --engines "$PEER_ENGINES" --workloads "$(echo $WORKLOADS | tr ' ' ,)" --repeats "$REPEATS" --json-out "$OUT" >/dev/null
fi

if has long; then
    for dtype in $LONG_DTYPES; do sito "$BIN/sito-bench" sito "$dtype" 1x8192 --repeats 1 --warmup 0; done
    "$PY" tools/bench/peers.py "$HF" --engines torch-f32 --workloads 1x8192 --repeats 1 --warmup 0 --json-out "$OUT" >/dev/null
    for dtype in $LONG_DTYPES; do sito "$BIN/sito-bench" sito "$dtype" 1x2048 --repeats 3; done
    "$PY" tools/bench/peers.py "$HF" --engines torch-f32,ort-int8 --workloads 1x2048 --repeats 3 --json-out "$OUT" >/dev/null
fi

if has haswell; then
    export OPENBLAS_CORETYPE=Haswell
    for w in 32x128 8x512; do
        for dtype in int8 f32; do sito "$BIN/sito-bench" sito "$dtype" "$w" --repeats "$REPEATS"; done
    done
    "$PY" tools/bench/peers.py "$HF" --engines torch-f32 --workloads 32x128,8x512 --repeats "$REPEATS" --json-out "$OUT" >/dev/null
    unset OPENBLAS_CORETYPE
fi
log "done: $OUT"
