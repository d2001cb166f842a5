"""Text emotion inference on ONNX Runtime: tokenizer + lexical features + the exported network."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotrace.text.lexicon import FEATURE_NAMES, lexicon_features


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
        self, texts: list[str], contexts: list[str] | None = None, batch_size: int = 64
    ) -> list[TextPrediction]:
        """Predict emotion and sentiment for each text (batched by length).

        ``contexts`` holds the previous turn of each text (or ""); a model trained with context
        (metadata ``context=previous-turn``) reads it as a second segment, others ignore it.
        """
        if not texts:
            return []
        lex = lexicon_features(texts)
        if self.context == "previous-turn" and contexts is not None:
            if len(contexts) != len(texts):
                raise ValueError("contexts must have one entry per text")
            encs = [
                self.tokenizer.encode(t, c) if c else self.tokenizer.encode(t)
                for t, c in zip(texts, contexts, strict=True)
            ]
        else:
            encs = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        emo = np.zeros((len(texts), len(self.emotion_labels)), dtype=np.float32)
        sen = np.zeros((len(texts), len(self.sentiment_labels)), dtype=np.float32)
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            L = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), L), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
                types[r, :n] = encs[i].type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "lexicon": lex[idx]}
            e, snt = self.session.run(
                ["emotion", "sentiment"], {k: v for k, v in feed.items() if k in self._inputs}
            )
            emo[idx] = e
            sen[idx] = snt
        return [
            TextPrediction(
                dict(zip(self.emotion_labels, map(float, emo[i]), strict=True)),
                dict(zip(self.sentiment_labels, map(float, sen[i]), strict=True)),
            )
            for i in range(len(texts))
        ]


def load_text_model(
    path: str | Path | None = None, device: str = "auto", threads: int = 0
) -> tuple[TextEmotionModel, str]:
    """The model at ``path`` (a file or a run folder) or the shipped default; returns (model, name)."""
    from emotrace.models.assets import resolve
    from emotrace.text.train import MODEL_FILE

    tok = resolve("minilm-tokenizer").path
    if path is None:
        res = resolve("emotrace-text-minilm")
        return TextEmotionModel(res.path, tok, device, threads), res.name
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    return TextEmotionModel(p, tok, device, threads), p.stem
