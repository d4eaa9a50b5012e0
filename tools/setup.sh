#!/usr/bin/env bash
# setup.sh — make a fresh Debian 12 machine ready to build and test Sito. Idempotent and quick when done.
#
# What it does, in order
#   1. System packages the Swift package links against (OpenBLAS, sentencepiece, protobuf) and
#      pkg-config, plus the aarch64 cross tools of tools/edge/test-aarch64.sh (gcc-aarch64-linux-gnu for
#      binutils and the cross C runtime, libc6-dev-arm64-cross, qemu-user): installed with apt-get only
#      when `dpkg -s` says one is missing (apt-get update first, in that case only). Needs root (or sudo)
#      only then.
#   2. python3 with numpy (the fixture generator's only dependency): installed with apt
#      (python3-numpy) only when `python3 -c 'import numpy'` fails.
#   3. tools/fetch_fixtures.sh: pinned tokenizer and model fixtures into .cache/fixtures (verified).
#   4. python3 tools/make_fixture.py: the random-weight test models into .cache/fixtures/models
#      (xlmr-tiny, xlmr-tiny-long, bert-tiny-cls; kept when already up to date).
#   Torch and transformers are NOT needed here: they only regenerate goldens (tools/venv.sh).
#
# How to run
#   tools/setup.sh          # as root on a fresh machine, or as a user when the packages are there
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'setup: %s\n' "$*"; }

APT_PACKAGES=(libopenblas-dev libsentencepiece-dev libprotobuf-dev pkg-config)
# The aarch64 conformance run (tools/edge/test-aarch64.sh; clang comes with the Swift toolchain).
CROSS_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "ERROR: need root to run: $*  (re-run as root, or install these packages yourself)"
        exit 1
    fi
}

missing_packages() {
    local p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || printf '%s\n' "$p"
    done
}

apt_install() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if ((${#missing[@]} == 0)); then
        log "have apt packages: $*"
        return 0
    fi
    log "installing apt packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# 1. libraries, cross tools
apt_install "${APT_PACKAGES[@]}"
apt_install "${CROSS_PACKAGES[@]}"

# 2. python3 + numpy
if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3-numpy
elif ! python3 -c 'import numpy' >/dev/null 2>&1; then
    if [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
        apt_install python3-numpy
    else
        log "installing numpy for $(command -v python3) with pip"
        python3 -m pip install --quiet numpy
    fi
fi
log "python3 $(python3 -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"

# 3. pinned downloads
"$ROOT/tools/fetch_fixtures.sh"

# 4. generated test models
python3 "$ROOT/tools/make_fixture.py"

log "done"
