#!/usr/bin/env bash
# venv.sh — the pinned Python environment that regenerates the goldens (never needed by swift test or CI).
#
# What it is
#   A virtualenv at .cache/venv with exactly the reference libraries the committed goldens were made
#   with (formats/golden.md, "reference"). torch comes from PyPI (the only index reachable here), whose
#   Linux x86_64 wheel pulls NVIDIA runtime wheels (~3 GB); the goldens run on the CPU regardless.
#
# How to run
#   tools/venv.sh                       # create or update .cache/venv; quick when already pinned
#   .cache/venv/bin/python tools/make_goldens.py --help
#   PYTHON=python3.11 tools/venv.sh     # choose the interpreter (3.10–3.13); on Debian the venv
#                                       # module needs `apt-get install python3-venv`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SITO_VENV:-$ROOT/.cache/venv}"
PY="${PYTHON:-python3}"
log() { printf 'venv: %s\n' "$*"; }

# Keep in step with the "reference" block of the committed goldens.
PINS=(
    torch==2.15.0
    transformers==5.24.0
    tokenizers==0.23.3
    safetensors==0.8.0
    huggingface_hub==2.4.0
    numpy==2.4.6
    sentencepiece==0.2.3
)

pinned() {
    [[ -x "$VENV/bin/python" ]] || return 1
    "$VENV/bin/python" - "${PINS[@]}" <<'PYEOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    got = version(name)
    if got.split("+")[0] != want:
        sys.exit(f"{name} {got} != {want}")
PYEOF
}

if pinned; then
    log "$VENV has the pinned versions: ${PINS[*]}"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $("$PY" --version 2>&1)"
    if ! "$PY" -m venv "$VENV"; then
        log "ERROR: '$PY -m venv' failed; on Debian: apt-get install python3-venv"
        exit 1
    fi
fi
log "installing ${PINS[*]}"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
pinned || { log "ERROR: versions still differ from the pins after install"; exit 1; }
"$VENV/bin/python" -c 'import torch, transformers, tokenizers; print("venv: torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
log "done: $VENV"
