"""Text emotion of utterances in any language, without a pipeline context.

:class:`TextEmotion` holds the English model (the shipped MELD ensemble, or the one named) and
the multilingual XED model, and decides per utterance which one reads it:

* ``multilingual``: the XED-trained model, for languages whose held-out accuracy reached the
  routing bar (``text_route="auto"``), or every language (``"multilingual"``); a model that
  transliterates Cyrillic reads any script (Serbian in Cyrillic is measured), an older one only
  mostly-Latin text unless the route is forced;
* ``translated``: the English model on Whisper's English translation, when there is one;
* ``native``: the English model on the text itself.

Sentiment always comes from the English model (on the translation when there is one). The
``words`` stage and :func:`emotrace.api.text_emotion` both use this class.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from emotrace.errors import DependencyMissing, ModelNotFound

Route = Literal["native", "translated", "multilingual"]
TextRoute = Literal["auto", "english", "translate", "multilingual"]


def mostly_latin(text: str) -> bool:
    """At least half of the letters of ``text`` are Latin (a-z with or without diacritics)."""
    letters = [c for c in text if c.isalpha()]
    return not letters or sum("LATIN" in unicodedata.name(c, "") for c in letters) * 2 >= len(letters)


@dataclass
class TextScore:
    emotion: dict[str, float]  # canonical labels (neutral 0 from the multilingual model)
    model: str
    sentiment: dict[str, float]


class TextEmotion:
    """The English and multilingual text emotion models and the routing between them."""

    def __init__(
        self,
        text_model: str | None = None,
        text_route: TextRoute = "auto",
        device: str = "auto",
        threads: int = 0,
        model: Callable[[str], Any] | None = None,
    ):
        """``model(name)`` resolves a catalogue model (the run's ``Context.model``, which records it
        in the provenance; :func:`emotrace.models.assets.resolve` by default)."""
        from emotrace.models.assets import resolve
        from emotrace.text.classifier import load_text_model

        resolve_model = model or resolve
        self.text_route = text_route
        self.multilingual: Any = None
        self.routed: set[str] = set()  # languages the multilingual model reads under text_route=auto
        if text_route in ("auto", "multilingual"):
            from emotrace.text.multilingual import MultilingualTextModel

            try:
                self.multilingual = MultilingualTextModel(resolve_model("emotrace-text-xed").path)
                self.routed = self.multilingual.routed_languages()
            except ModelNotFound as e:
                if text_route == "multilingual":
                    raise DependencyMissing(str(e)) from None
        self.text_model, self.text_model_name = load_text_model(text_model, device=device, threads=threads)

    def multilingual_for(self, language: str | None, translated: bool) -> bool:
        """Whether speech in ``language`` goes to the multilingual model (``translated``: the
        utterance has an English translation; under ``auto`` one without it, in a language the
        model was not measured on, still reads better here than in the English model)."""
        return self.multilingual is not None and language not in (None, "en") and (
            self.text_route == "multilingual"
            or language in self.routed
            or (self.text_route == "auto" and not translated)
        )

    def route(self, text: str, language: str | None, has_translation: bool) -> Route:
        """The route of one utterance (``has_translation``: it has an English translation; one
        that was dropped as invented counts as none)."""
        # models without transliteration were measured on Latin-script lines only (Whisper may
        # write Serbian in Cyrillic): other scripts go to the translation when there is one
        script_ok = mostly_latin(text) or bool(getattr(self.multilingual, "transliterates", False))
        latin = self.text_route == "multilingual" or script_ok or not has_translation
        if self.multilingual_for(language, has_translation) and latin:
            return "multilingual"
        if has_translation and self.text_route != "english":
            return "translated"
        return "native"

    def measured(self, language: str | None) -> bool:
        """Whether ``language`` is routed to the multilingual model (held-out accuracy at the bar)."""
        return language in self.routed

    def unmeasured_note(self, language: str | None) -> str:
        """Why the multilingual model's number does not cover ``language``."""
        from emotrace.text.multilingual import ROUTE_MIN_ACCURACY

        acc = self.multilingual.accuracy(language) if self.multilingual is not None else None
        if acc is None:
            return "was not measured (no held-out XED lines in that language)"
        return f"is {acc:.2f} on held-out XED lines, below the {ROUTE_MIN_ACCURACY:.2f} it is routed at"

    def score(self, texts: Sequence[str], translations: Sequence[str | None], routes: Sequence[Route]) -> list[TextScore]:
        """Scores of consecutive utterances (each reads its neighbours as context)."""
        if not texts:
            return []
        english = [t if r == "native" else (tr or t) for t, tr, r in zip(texts, translations, routes, strict=True)]
        preds = self.text_model.predict(english, ["", *english[:-1]], [*english[1:], ""])
        ml = [i for i, r in enumerate(routes) if r == "multilingual"]
        native: list[Any] = [None] * len(texts)
        for i, p in zip(ml, self.multilingual.predict([texts[i] for i in ml]) if ml else [], strict=True):
            native[i] = p
        out = []
        for p, m in zip(preds, native, strict=True):
            sentiment = {k: round(v, 5) for k, v in p.sentiment.items()}
            if m is not None:  # six emotions, no neutral (XED has no neutral lines outside English)
                out.append(TextScore({**m, "neutral": 0.0}, "emotrace-text-xed", sentiment))
            else:
                out.append(TextScore(dict(p.emotion), self.text_model_name, sentiment))
        return out
