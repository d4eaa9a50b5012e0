#!/usr/bin/env bash
# rerank_memory.sh — sito-rerank streams its documents file: peak RSS stays flat from 1,000 to 100,000
# documents (issue 6). Builds sito-rerank and sito-convert (release), converts the xlmr-tiny fixture,
# generates documents files of N lines, and runs sito-rerank under /usr/bin/time -v, printing the peak
# RSS and wall time per run. Fails when the 100,000-line run's peak RSS exceeds the 1,000-line run's by
# more than LIMIT_MB (default 64): 100,000 documents of ~50 bytes are 5 MB of text, ~100 MB as Swift
# Strings and score rows if slurped; streamed, the growth is the 36 bytes per document of index and scores.
#
#   tools/rerank_memory.sh            # N = 1000, 100000
#   N="1000 10000 100000" LIMIT_MB=64 tools/rerank_memory.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCRATCH="${SCRATCH:-.build-rel}"
N="${N:-1000 100000}"
LIMIT_MB="${LIMIT_MB:-64}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sito-rerank-memory.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "building sito-rerank and sito-convert (release, $SCRATCH)…"
swift build -c release --scratch-path "$SCRATCH" --product sito-rerank >/dev/null
swift build -c release --scratch-path "$SCRATCH" --product sito-convert >/dev/null
BIN="$SCRATCH/release"
"$BIN/sito-convert" .cache/fixtures/models/xlmr-tiny -o "$WORK/tiny.sito" >/dev/null

python3 - "$WORK" $N <<'PY'
import random, sys
work, counts = sys.argv[1], [int(n) for n in sys.argv[2:]]
rng = random.Random(6)
words = "ala ma kota pies je kość dom stoi przy drodze rzeka płynie szybko las szumi cicho".split()
for n in counts:
    with open(f"{work}/docs-{n}.txt", "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(f"{i}: " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + "\n")
PY

first_rss=""
for n in $N; do
    for mode in "--json" "--top 10"; do
        # shellcheck disable=SC2086
        /usr/bin/time -v "$BIN/sito-rerank" "$WORK/tiny.sito" -q "kot i pies" --documents "$WORK/docs-$n.txt" $mode \
            >"$WORK/out.txt" 2>"$WORK/time.txt"
        rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
        wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$WORK/time.txt")
        lines=$(wc -l <"$WORK/out.txt")
        printf 'documents %7d  %-9s peak RSS %6.1f MB  wall %s  output %d lines\n' "$n" "$mode" "$(echo "$rss/1024" | bc -l)" "$wall" "$lines"
        if [[ "$mode" == "--json" ]]; then
            if [[ -z "$first_rss" ]]; then first_rss=$rss; fi
            last_rss=$rss
        fi
    done
done
growth=$(( (last_rss - first_rss) / 1024 ))
echo "peak RSS growth (--json, all rows printed): ${growth} MB (limit ${LIMIT_MB} MB)"
if (( growth > LIMIT_MB )); then
    echo "FAIL: sito-rerank's memory grows with the documents file" >&2
    exit 1
fi
echo "OK: streamed"
