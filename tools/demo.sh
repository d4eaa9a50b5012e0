#!/usr/bin/env bash
# demo.sh — the README's main-job command: build Sito, convert the default model, verify it against
# the committed transformers goldens, and rerank the model card's example.
#
#   tools/demo.sh                 # default model: the random-weight XLM-R fixture (see the notice it prints)
#   SITO_DEMO_MODEL=DIR tools/demo.sh   # any Hugging Face XLMRobertaForSequenceClassification folder
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODEL="${SITO_DEMO_MODEL:-$ROOT/.cache/fixtures/models/xlmr-tiny}"
GOLDEN="$ROOT/Tests/Fixtures/goldens/xlmr-tiny.golden.json"
OUT="$ROOT/.cache/demo"
mkdir -p "$OUT"
if [[ ! -d "$MODEL" ]]; then
    echo "demo: $MODEL is missing: run tools/setup.sh first" >&2
    exit 2
fi

swift build -c release --product sito-convert >/dev/null
swift build -c release --product sito-verify >/dev/null
swift build -c release --product sito-rerank >/dev/null
BIN="$(swift build -c release --show-bin-path)"

"$BIN/sito-convert" "$MODEL" --output "$OUT/model.sito"
if [[ -z "${SITO_DEMO_MODEL:-}" ]]; then
    echo
    echo "NOTE: the default model has RANDOM weights (tools/make_fixture.py): the ranking below shows the"
    echo "      pipeline and its fidelity to transformers, not relevance. No trained XLM-R reranker can be"
    echo "      downloaded here; point SITO_DEMO_MODEL at sdadas/polish-reranker-bge-v2 to rank for real."
    echo
    "$BIN/sito-verify" "$OUT/model.sito" --golden "$GOLDEN"
    echo
fi
"$BIN/sito-rerank" "$OUT/model.sito" --query "Jak dożyć 100 lat?" \
    "Trzeba zdrowo się odżywiać i uprawiać sport." \
    "Trzeba pić alkohol, imprezować i jeździć szybkimi autami." \
    "Gdy trwała kampania politycy zapewniali, że rozprawią się z zakazem niedzielnego handlu."
