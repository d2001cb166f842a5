"""Text emotion inference on ONNX Runtime: tokenizer + lexical features + the exported network."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.text.lexicon import FEATURE_NAMES, lexicon_features

# how a model reads an utterance's neighbours (ONNX metadata ``context``): not at all, the
# previous turn as a second segment, or the previous and the next turn, split by the separator
# token, as a second segment (``[CLS] utterance [SEP] previous [SEP] next [SEP]``)
CONTEXT_MODES: tuple[str, ...] = ("none", "previous-turn", "previous-next-turn")


def separator_token(tokenizer: Any) -> str:
    """The separator token of a BERT ("[SEP]") or RoBERTa/MPNet ("</s>") tokenizer: the one that
    the tokenizer reads as one special token when it occurs in text."""
    for tok in ("[SEP]", "</s>"):
        tid = tokenizer.token_to_id(tok)
        if tid is not None and tokenizer.encode(tok, add_special_tokens=False).ids == [tid]:
            return tok
    raise ValueError("tokenizer has no [SEP] or </s> token")


def encode_in_context(tokenizer: Any, mode: str, text: str, previous: str = "", following: str = "") -> Any:
    """One utterance's tokens with as much of its dialogue as the model's context ``mode`` reads.

    Training and inference both go through here, so a model always sees the layout it
    learned. An utterance with no neighbours is encoded alone.
    """
    if mode == "previous-next-turn":
        if not previous and not following:
            return tokenizer.encode(text)
        return tokenizer.encode(text, f"{previous} {separator_token(tokenizer)} {following}".strip())
    if mode == "previous-turn" and previous:
        return tokenizer.encode(text, previous)
    if mode not in CONTEXT_MODES:
        raise ValueError(f"unknown text context mode {mode!r}")
    return tokenizer.encode(text)


@dataclass
class TextPrediction:
    """Emotion probabilities over ``emotion_labels`` and sentiment over ``sentiment_labels``."""

    emotion: dict[str, float]
    sentiment: dict[str, float]

    @property
    def label(self) -> str:
        return max(self.emotion, key=self.emotion.__getitem__)


class TextEmotionModel:
    """An emotrace text emotion ONNX file (from ``emotrace train text``) ready to predict."""

    def __init__(
        self, model_path: str | Path, tokenizer_path: str | Path, device: str = "auto", threads: int = 0
    ):
        from tokenizers import Tokenizer

        from emotrace.models.onnx import session

        self.session = session(model_path, device=device, threads=threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.emotion_labels: list[str] = json.loads(meta["emotion_labels"])
            self.sentiment_labels: list[str] = json.loads(meta["sentiment_labels"])
            features = json.loads(meta["lexicon_features"])
            max_len = int(meta["max_len"])
            self.context = meta.get("context", "none")
        except (KeyError, ValueError):
            raise ValueError(f"{model_path}: not an emotrace text emotion model (metadata missing)") from None
        if self.context not in CONTEXT_MODES:
            raise ValueError(f"{model_path}: context {self.context!r} is unknown to this emotrace version")
        if list(features) != list(FEATURE_NAMES):
            raise ValueError(f"{model_path}: built with other lexical features than this emotrace version")
        if meta.get("tokenizer") == "embedded":  # a non-MiniLM encoder ships its tokenizer inside
            self.tokenizer = Tokenizer.from_str(meta["tokenizer_json"])
        else:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_len)

    def predict(
        self, texts: list[str], contexts: list[str] | None = None, following: list[str] | None = None
    ) -> list[TextPrediction]:
        """Predict emotion and sentiment for each text.

        ``contexts`` holds the previous turn of each text and ``following`` the next one (or "").
        A model reads as much of them as it was trained with (metadata ``context``: none,
        previous-turn or previous-next-turn) and ignores the rest.

        Each text runs alone, without padding. The shipped files quantise activations
        dynamically, with one scale per input tensor, so in a padded batch an utterance's
        output would depend on the other utterances in it (measured: the default ensemble's
        MELD dev weighted F1 was 0.599, 0.596 and 0.592 in batches of 64, 16 and 1). Alone, a
        text always gets the same answer; it costs about 1.5x the time of batches of 16 (22 ms
        per utterance for MPNet on one busy core).
        """
        if not texts:
            return []
        for name, side in (("contexts", contexts), ("following", following)):
            if side is not None and len(side) != len(texts):
                raise ValueError(f"{name} must have one entry per text")
        lex = lexicon_features(texts)
        previous = contexts if contexts is not None else [""] * len(texts)
        nxt = following if following is not None else [""] * len(texts)
        encs = [
            encode_in_context(self.tokenizer, self.context, t, p, n)
            for t, p, n in zip(texts, previous, nxt, strict=True)
        ]
        emo = np.zeros((len(texts), len(self.emotion_labels)), dtype=np.float32)
        sen = np.zeros((len(texts), len(self.sentiment_labels)), dtype=np.float32)
        for i, enc in enumerate(encs):
            feed = {
                "input_ids": np.asarray([enc.ids], np.int64),
                "attention_mask": np.ones((1, len(enc.ids)), np.int64),
                "token_type_ids": np.asarray([enc.type_ids], np.int64),
                "lexicon": lex[i : i + 1],
            }
            e, snt = self.session.run(
                ["emotion", "sentiment"], {k: v for k, v in feed.items() if k in self._inputs}
            )
            emo[i] = e[0]
            sen[i] = snt[0]
        return [
            TextPrediction(
                dict(zip(self.emotion_labels, map(float, emo[i]), strict=True)),
                dict(zip(self.sentiment_labels, map(float, sen[i]), strict=True)),
            )
            for i in range(len(texts))
        ]


class TextEnsemble:
    """Text emotion models whose probabilities are averaged; each member reads its own tokens."""

    def __init__(
        self,
        members: list[TextEmotionModel],
        weights: list[float] | None = None,
        scale: dict[str, float] | None = None,
    ):
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = members
        w = np.asarray(weights if weights is not None else [1.0] * len(members), np.float64)
        self.weights = w / w.sum()
        self.scale = dict(scale or {})
        self.emotion_labels = members[0].emotion_labels
        self.sentiment_labels = members[0].sentiment_labels
        for m in members[1:]:
            if m.emotion_labels != self.emotion_labels or m.sentiment_labels != self.sentiment_labels:
                raise ValueError("ensemble members have different label sets")

    def predict(
        self, texts: list[str], contexts: list[str] | None = None, following: list[str] | None = None
    ) -> list[TextPrediction]:
        per_model = [m.predict(texts, contexts, following) for m in self.members]
        out = []
        for preds in zip(*per_model, strict=True):
            emo = {
                k: float(np.dot(self.weights, [p.emotion[k] for p in preds])) * self.scale.get(k, 1.0)
                for k in self.emotion_labels
            }
            total = sum(emo.values()) or 1.0
            emo = {k: v / total for k, v in emo.items()}
            sen = {k: float(np.dot(self.weights, [p.sentiment[k] for p in preds])) for k in self.sentiment_labels}
            out.append(TextPrediction(emo, sen))
        return out


# the shipped default: the weighted mean of these models (those that are installed), with the
# neutral probability scaled before renormalising. Both read the previous and the next turn.
# Weights and scale were picked on the held-out slice of MELD train (103 dialogues, split seed
# 13), never on dev (`benchmarks/text_ensemble.py`; see the model card).
DEFAULT_MODELS: tuple[str, ...] = ("emotrace-text-mpnet-pn", "emotrace-text-minilm-pn")
DEFAULT_WEIGHTS: dict[str, float] = {"emotrace-text-mpnet-pn": 0.55, "emotrace-text-minilm-pn": 0.45}
DEFAULT_SCALE: dict[str, float] = {"neutral": 0.9}


def registered_text_model(path: str | Path, what: str = "text model") -> str | None:
    """``path`` as the name of a registered model (``emotrace-text-mpnet``...) when no file or folder
    has that name, else None; raises ModelNotFound when it is neither."""
    from emotrace.errors import ModelNotFound
    from emotrace.models.assets import load_catalog

    if Path(path).exists():
        return None
    if str(path) in load_catalog():
        return str(path)
    raise ModelNotFound(f"{what} {path}: no such model file, run folder or model name")


def load_text_model(
    path: str | Path | None = None, device: str = "auto", threads: int = 0
) -> tuple[TextEmotionModel | TextEnsemble, str]:
    """The model at ``path`` (a file, a run folder or the name of a registered text model, such as
    ``emotrace-text-mpnet``) or the shipped default ensemble; returns (model, name)."""
    from emotrace.errors import ModelNotFound
    from emotrace.models.assets import resolve
    from emotrace.text.train import MODEL_FILE

    if path is None:
        members, names = [], []
        missing: ModelNotFound | None = None
        for name in DEFAULT_MODELS:
            try:
                res = resolve(name)
                tok = resolve("minilm-tokenizer").path
            except ModelNotFound as e:
                missing = missing or e
                continue
            members.append(TextEmotionModel(res.path, tok, device, threads))
            names.append(res.name)
        if not members:
            assert missing is not None
            raise missing
        weights = [DEFAULT_WEIGHTS[n] for n in names]
        model = members[0] if len(members) == 1 else TextEnsemble(members, weights, DEFAULT_SCALE)
        return model, "+".join(names)
    registered = registered_text_model(path)
    if registered is not None:
        res = resolve(registered)
        return TextEmotionModel(res.path, resolve("minilm-tokenizer").path, device, threads), res.name
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    return TextEmotionModel(p, resolve("minilm-tokenizer").path, device, threads), p.stem
