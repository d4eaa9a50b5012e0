#!/usr/bin/env bash
# ov_rounds.sh — issue 15, item 1: Sito against OpenVINO (and ONNX Runtime, PyTorch) in ONE interleaved
# run: ROUNDS rounds; in each round, for each workload, every engine once, one process each (sito-bench
# for Sito's files, tools/bench/peers.py --one-engine for the peers), so every engine sees the same
# machine load in turn. Engines of EXTRA run in the last EXTRA_ROUNDS rounds only (the configurations
# that matter less for the acceptance ratio; a shared 2-core machine does not leave time for all of
# them every round; last, so that a run cut short still has the CORE rounds). One JSON line per measurement appended to $OUT, plus one {"engine":"load"} line
# (uptime's load averages) at the start of each round. tools/bench/report_rounds.py makes the tables.
#
# How to run (from the repository root; venv with openvino, nncf, onnxruntime, onnx — BENCHMARKS.md,
# "OpenVINO and the other peers (issue 15)"):
#   BIN=/path/to/release tools/bench/ov_rounds.sh
#   .cache/venv/bin/python tools/bench/report_rounds.py .cache/bench/ov-rounds.jsonl
# The OpenVINO IRs (convert_model, NNCF int8) and the ONNX exports are made once by
#   .cache/venv/bin/python tools/bench/peers.py .cache/fixtures/models/xlmr-large --engines ov-f32,ort-int8 --workloads 1x16 --repeats 1
# (or on the first use) and cached under .cache/bench/ov/ and .cache/bench/onnx/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
MODEL="${MODEL:-xlmr-large}"
OUT="${OUT:-.cache/bench/ov-rounds.jsonl}"
BIN="${BIN:-.build/release}"
PY="${PY:-.cache/venv/bin/python}"
ROUNDS="${ROUNDS:-4}"
REPEATS="${REPEATS:-1}"          # timed calls per process, after WARMUP untimed ones
WARMUP="${WARMUP:-1}"
WORKLOADS="${WORKLOADS:-32x128 8x512}"
CORE="${CORE:-sito/int8 ov-int8 ort-int8 ov-int8-tput}"
EXTRA="${EXTRA:-sito/bf16 sito/f32 ov-f32 ov-f32-tput ov-bf16 ov-bf16-tput ov-int8-bf16 ov-int8-bf16-tput torch-f32}"
EXTRA_ROUNDS="${EXTRA_ROUNDS:-1}"
HF=.cache/fixtures/models/$MODEL
export OPENVINO_TELEMETRY_DISABLE=1
log() { printf 'ov_rounds: %s\n' "$*" >&2; }

one() {   # one <round> <engine> <workload>
    local r="$1" e="$2" w="$3"
    log "round $r $e $w ($(cut -d' ' -f1-3 /proc/loadavg))"
    if [[ "$e" == sito/* ]]; then
        local dtype="${e#sito/}"
        "$BIN/sito-bench" ".cache/bench/$MODEL.$dtype.sito" --workload "$w" --repeats "$REPEATS" --warmup "$WARMUP" \
            --label "sito/$dtype" --json | "$PY" -c "import json,sys; r=json.loads(sys.stdin.read()); r['round']=$r; print(json.dumps(r))" >>"$OUT" \
            || log "FAILED: $e $w"
    else
        local line
        line="$("$PY" tools/bench/peers.py "$HF" --one-engine "$e" --one-workload "$w" --repeats "$REPEATS" --warmup "$WARMUP" \
            --threads 2 2>/dev/null | tail -1)" || line="{\"engine\": \"$e\", \"workload\": \"$w\", \"error\": \"failed\"}"
        printf '%s\n' "$line" | "$PY" -c "import json,sys; r=json.loads(sys.stdin.read()); r['round']=$r; print(json.dumps(r))" >>"$OUT"
    fi
}

for r in $(seq 1 "$ROUNDS"); do
    printf '{"engine": "load", "round": %d, "time": "%s", "loadavg": "%s"}\n' "$r" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
    for w in $WORKLOADS; do
        engines="$CORE"
        (( r > ROUNDS - EXTRA_ROUNDS )) && engines="$CORE $EXTRA"
        for e in $engines; do one "$r" "$e" "$w"; done
    done
done
printf '{"engine": "load", "round": "end", "time": "%s", "loadavg": "%s"}\n' "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
log "done: $OUT"
