#!/usr/bin/env bash
# Create a separate, CPU-only virtualenv with the PyPI `fer` package and its own
# dependencies, used only by benchmarks/fer_video.py (issue 11 side-by-side run).
#
# Usage: benchmarks/setup_fer_env.sh [ENV_DIR]    (default: /opt/fer-env)
#        PYTHON=python3.11 benchmarks/setup_fer_env.sh ...   (interpreter for the venv)
#
# Idempotent: exits early when ENV_DIR already imports fer.FER / fer.Video.
#
# Pins on top of fer's own requirements, and why:
#   facenet-pytorch==2.5.3  2.6.0 pins torch<2.3, whose only PyPI Linux wheels are
#                           CUDA builds (+~2.5 GB of nvidia-* wheels); 2.5.3 is unpinned.
#   torch==2.13.0           resolves to the local 2.13.0+cpu wheel (pip find-links on this
#                           machine); the check below refuses a CUDA build.
#   torchvision==0.28.0     the release matching torch 2.13.0. Its PyPI wheel is CUDA-built,
#                           so its C ops (nms) do not load on CPU torch: FER(mtcnn=True)
#                           fails, the default Haar-cascade detector (mtcnn=False) works.
#   opencv-contrib-python<5 OpenCV 5 wheels ship an empty cv2/data; fer's default detector
#                           needs cv2.data.haarcascades/haarcascade_frontalface_default.xml.
#   setuptools<82           fer imports pkg_resources, removed from setuptools 82.
set -euo pipefail

ENV_DIR="${1:-/opt/fer-env}"
PYTHON="${PYTHON:-python3}"

check() {
    "$ENV_DIR/bin/python" - <<'EOF' 2>/dev/null
import os
import cv2, fer, torch
from fer.classes import Video  # noqa: F401  (fer 25.10.3 does not re-export these)
from fer.fer import FER
assert torch.version.cuda is None, "CUDA torch build"
assert os.path.isfile(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
FER(mtcnn=False)
print(f"fer {fer.__version__}, torch {torch.__version__}, opencv {cv2.__version__}")
EOF
}

if [[ -x "$ENV_DIR/bin/python" ]] && check; then
    echo "fer env already OK: $ENV_DIR"
    exit 0
fi

start=$SECONDS
"$PYTHON" -m venv "$ENV_DIR"
"$ENV_DIR/bin/pip" install --quiet \
    "fer==25.10.3" \
    "facenet-pytorch==2.5.3" \
    "torch==2.13.0" \
    "torchvision==0.28.0" \
    "opencv-contrib-python<5" \
    "setuptools<82"

if ! check; then
    echo "fer env at $ENV_DIR is broken (see: $ENV_DIR/bin/python -c 'from fer.fer import FER; FER()')" >&2
    exit 1
fi
echo "installed in $((SECONDS - start)) s; size: $(du -sh "$ENV_DIR" | cut -f1)"
