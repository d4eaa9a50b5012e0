#!/usr/bin/env bash
# regenerate_goldens.sh — rebuild every committed golden in Tests/Fixtures/goldens from scratch.
#
# What it is
#   fixtures (tools/setup.sh's steps 3–4) → cases (tools/pairs.py) → transformers (tools/make_goldens.py,
#   in the pinned venv of tools/venv.sh). Run it after changing make_fixture.py's RECIPE, pairs.py, or the
#   pinned reference versions; review the diff (one case per line) before committing.
#
# How to run
#   tools/venv.sh && tools/regenerate_goldens.sh          # PY=/path/to/python overrides the venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PY:-$ROOT/.cache/venv/bin/python}"
OUT="$ROOT/Tests/Fixtures/goldens"
MODELS="$ROOT/.cache/fixtures/models"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

"$ROOT/tools/fetch_fixtures.sh"
python3 "$ROOT/tools/make_fixture.py"

python3 "$ROOT/tools/pairs.py" --set tiny >"$TMP/tiny.jsonl"
python3 "$ROOT/tools/pairs.py" --set long >"$TMP/long.jsonl"
python3 "$ROOT/tools/pairs.py" --set bert >"$TMP/bert.jsonl"
python3 "$ROOT/tools/pairs.py" --set roberta >"$TMP/roberta.jsonl"

"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/xlmr-tiny" --pairs "$TMP/tiny.jsonl" \
    --out "$OUT/xlmr-tiny.golden.json"
"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/xlmr-tiny-long" --pairs "$TMP/long.jsonl" \
    --out "$OUT/xlmr-tiny-long.golden.json"
"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/bert-tiny-cls" --pairs "$TMP/bert.jsonl" \
    --out "$OUT/bert-tiny-cls.golden.json"
"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/roberta-tiny" --pairs "$TMP/roberta.jsonl" \
    --out "$OUT/roberta-tiny.golden.json"
python3 "$ROOT/tools/pairs.py" --set sentences >"$TMP/sentences-roberta.jsonl"
"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/roberta-tiny-embed" --task embedding \
    --pairs "$TMP/sentences-roberta.jsonl" --out "$OUT/roberta-tiny-embed.golden.json"
# RoBERTa's byte-level BPE (issue 14): the fixture tokenizer is committed (tools/make_bpe_tokenizer.py
# retrains it, identically); its tokenizers parity file, checked against transformers too.
"$PY" "$ROOT/tools/make_bpe_goldens.py" --tokenizer "$ROOT/Tests/Fixtures/roberta-tokenizer/tokenizer.json" \
    --out "$ROOT/Tests/Fixtures/tokenizer/roberta-parity.json" --transformers-folder "$MODELS/roberta-tiny"

# Quantization (issue 4): the 400 ranking pairs on xlmr-base (made on request: ~1.1 GB, ~3 min), then the
# simulations of Sito's int8 and bf16 schemes on every classifier golden (tools/simulate_quant.py).
python3 "$ROOT/tools/make_fixture.py" --model xlmr-base
python3 "$ROOT/tools/pairs.py" --set rank >"$TMP/rank.jsonl"
"$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/xlmr-base" --pairs "$TMP/rank.jsonl" \
    --out "$OUT/xlmr-base.rank.golden.json"
# The same pairs on the full-size shapes, when that fixture exists (make_fixture.py --model xlmr-large;
# 2.27 GB, ~12 min here).
if [[ -f "$MODELS/xlmr-large/config.json" ]]; then
    "$PY" "$ROOT/tools/make_goldens.py" --model "$MODELS/xlmr-large" --pairs "$TMP/rank.jsonl" \
        --out "$OUT/xlmr-large.rank.golden.json"
fi
for pair in xlmr-tiny:xlmr-tiny xlmr-tiny-long:xlmr-tiny-long xlmr-base:xlmr-base.rank; do
    model="${pair%%:*}" golden="${pair#*:}"
    for scheme in int8 bf16; do
        "$PY" "$ROOT/tools/simulate_quant.py" --model "$MODELS/$model" --golden "$OUT/$golden.golden.json" \
            --scheme "$scheme" --out "$OUT/$golden.sim-$scheme.golden.json"
    done
done
sha256sum "$OUT"/*.golden.json
