#!/usr/bin/env bash
# ray_venv.sh: the Python environment of the Ray Serve scale-out (tools/serve/ray_sito.py and its test):
# PyPI `ray[serve]`, pinned, in its own virtualenv .cache/venv-ray (not .cache/venv, the goldens' one).
# Never needed by swift test.
#
#   tools/serve/ray_venv.sh            # create or update; quick when already pinned (~500 MB once)
#   SITO_RAY_VENV=/opt/venv-ray tools/serve/ray_venv.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SITO_RAY_VENV:-$ROOT/.cache/venv-ray}"
PY="${PYTHON:-python3}"
RAY_PIN="ray[serve]==2.60.0"   # the version the recorded run used (BENCHMARKS.md, "Ray Serve scale-out")

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import ray, aiohttp, starlette; from ray import serve; assert ray.__version__ == "2.60.0"' 2>/dev/null; then
    echo "ray_venv: $VENV has ray $("$VENV/bin/python" -c 'import ray; print(ray.__version__)')"
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV" || { echo "ray_venv: '$PY -m venv' failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$RAY_PIN"
"$VENV/bin/python" -c 'import ray; from ray import serve; print("ray_venv: ray", ray.__version__)'
