#!/usr/bin/env bash
# test_ray.sh: runs the Ray Serve scale-out test (tools/serve/test_ray.py: 1 vs 2 replicas against
# sito-serve itself, killed replicas under load, autoscaling) on a local Ray cluster on loopback.
# Makes what it needs: the ray[serve] venv (ray_venv.sh) and two small int8 models under .cache/ray/
# (the random-weight fixtures xlmr-tiny and roberta-tiny-embed, converted with sito-convert and
# sito-quantize from the same folder as sito-serve). The whole run is bounded (SITO_RAY_TIMEOUT seconds,
# 900 by default); the Ray cluster is torn down on exit, whatever happens.
#
#   tools/serve/test_ray.sh [--sito-serve .build/release/sito-serve] [test_ray.py options…]
#   SITO_SERVE=/path/to/sito-serve tools/serve/test_ray.sh --skip-autoscale
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/serve"
SERVE="${SITO_SERVE:-$ROOT/.build/release/sito-serve}"
if [[ "${1:-}" == "--sito-serve" ]]; then SERVE="$2"; shift 2; fi
[[ -x "$SERVE" ]] || { echo "test_ray: no sito-serve at $SERVE (swift build -c release --product sito-serve, or --sito-serve PATH)" >&2; exit 2; }
SERVE="$(cd "$(dirname "$SERVE")" && pwd)/$(basename "$SERVE")"
BIN="$(dirname "$SERVE")"
FIX="$ROOT/.cache/fixtures/models"
OUT="$ROOT/.cache/ray"
mkdir -p "$OUT"

model() {  # model NAME: .cache/ray/NAME-int8.sito from the fixture folder NAME
    local name="$1"
    if [[ ! -s "$OUT/$name-int8.sito" ]]; then
        [[ -d "$FIX/$name" ]] || { echo "test_ray: no fixture $FIX/$name (bash tools/setup.sh)" >&2; exit 2; }
        [[ -x "$BIN/sito-convert" && -x "$BIN/sito-quantize" ]] || { echo "test_ray: no sito-convert/sito-quantize beside $SERVE to make $OUT/$name-int8.sito" >&2; exit 2; }
        "$BIN/sito-convert" "$FIX/$name" --output "$OUT/$name.sito" --quiet
        "$BIN/sito-quantize" "$OUT/$name.sito" --output "$OUT/$name-int8.sito" --type int8 --quiet
    fi
}
model xlmr-tiny
model roberta-tiny-embed

bash "$HERE/ray_venv.sh"
VENV="${SITO_RAY_VENV:-$ROOT/.cache/venv-ray}"
exec timeout -k 30 "${SITO_RAY_TIMEOUT:-900}" "$VENV/bin/python" "$HERE/test_ray.py" --sito-serve "$SERVE" \
    --reranker "$OUT/xlmr-tiny-int8.sito" --embedder "$OUT/roberta-tiny-embed-int8.sito" "$@"
