#!/bin/sh
# calibration_golden.sh — the calibration golden of `sito-quantize --calibrate` for all-MiniLM-L6-v2
# (issue 15): 400 real English gettext messages that the committed evaluation golden
# (Tests/Fixtures/goldens/all-minilm-l6-v2.golden.json, `tools/pairs.py --set sentences`) does not
# contain (`tools/pairs.py --set calibration`), embedded by transformers f32 (tools/make_goldens.py).
# Written under .cache/ (1.3 MB, regenerated on demand, not committed):
#   .cache/goldens/all-minilm-l6-v2.calibration.golden.json
# Needs the goldens venv (tools/venv.sh) and the model (tools/fetch_fixtures.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/.cache/goldens"
mkdir -p "$OUT"
python3 "$ROOT/tools/pairs.py" --set calibration | "$ROOT/.cache/venv/bin/python" "$ROOT/tools/make_goldens.py" --task embedding \
    --model "$ROOT/.cache/fixtures/all-minilm-l6-v2" --name all-minilm-l6-v2 \
    --pairs - --out "$OUT/all-minilm-l6-v2.calibration.golden.json"
