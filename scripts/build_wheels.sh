#!/usr/bin/env bash
# Build every distribution emotrace publishes into OUT: the code wheel (no weights) and the
# model distributions (see src/emotrace/models/distributions.py). Then, in any environment:
#   pip install --find-links OUT emotrace
# Usage: scripts/build_wheels.sh OUT [--models-only]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then echo "usage: scripts/build_wheels.sh OUT [--models-only]" >&2; exit 2; fi
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
exec "$PY" scripts/build_wheels.py "$@"
