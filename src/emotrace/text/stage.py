"""The ``words`` stage: Whisper ASR -> words -> utterances -> text emotion and sentiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emotrace.errors import DependencyMissing, ModelNotFound
from emotrace.model import Utterance, Word
from emotrace.stage import TRANSCRIPT, Context, Stage, register
from emotrace.text.asr import TRANSLATION_MIN_LOGPROB, transcribe_chunks, translate_spans
from emotrace.text.emotion import Route, TextEmotion
from emotrace.text.utterances import group_words

# below this detection probability the language is flagged: on espeak-ng speech Whisper base
# gave 0.64-1.00 to the right language (de, en, es, fr, it) and 0.34-0.46 to wrong ones (Russian
# heard as Polish, Bulgarian as Latin)
LANGUAGE_UNSURE = 0.5


class WordsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_path: str | None = Field(
        default=None, description="CTranslate2 Whisper folder (e.g. a larger model); default: Whisper base"
    )
    language: str | None = Field(
        default=None, description="force the speech language (ISO code); default: detect"
    )
    translate: bool = Field(
        default=True, description="for non-English speech, score emotion on Whisper's English translation"
    )
    text_route: Literal["auto", "english", "translate", "multilingual"] = Field(
        default="auto",
        description="which model reads non-English utterances: auto (the multilingual model for the "
        "languages where it was measured, else Whisper's translation), english, translate or multilingual",
    )
    beam_size: int = Field(default=5, ge=1, le=10)
    vad_filter: bool = Field(default=True, description="skip non-speech with Silero VAD before decoding")
    chunk_s: float = Field(
        default=120.0, ge=30.0, description="longest audio piece given to Whisper at once (ends in a pause)"
    )
    max_gap_s: float = Field(default=1.0, gt=0, description="a longer pause starts a new utterance")
    max_utterance_s: float = Field(default=15.0, gt=0, description="longest utterance before a forced split")
    emotion: bool = Field(default=True, description="score text emotion and sentiment per utterance")
    text_model: str | None = Field(
        default=None,
        description="text emotion ONNX file, run folder from `emotrace train text`, or model name "
        "(e.g. emotrace-text-mpnet, which reads only the previous turn); default: the shipped ensemble",
    )


@register
class WhisperWordsStage(Stage):
    """Transcript with word timestamps, utterances with speakers, text emotion per utterance."""

    slot = "words"
    backend = "default"
    kind = "audio"
    reads = ("speech",)
    writes = ("words", "utterances", TRANSCRIPT.name)
    requires = ("faster_whisper", "tokenizers")
    needs_audio = True
    description = (
        "faster-whisper ASR (word timestamps) + emotrace text emotion (MPNet + MiniLM ensemble reading "
        "the previous and next turn, NRC/VADER)"
    )
    Options = WordsOptions

    def setup(self, ctx: Context) -> None:
        from emotrace.models.whisper import load_whisper

        opts: WordsOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        defaults = ["whisper-base"] if opts.model_path is None else []
        if opts.emotion:
            defaults.append("minilm-tokenizer")
        for name in defaults:
            try:
                ctx.model(name)
            except ModelNotFound as e:  # a default model not installed: skip the stage, say how to get it
                raise DependencyMissing(str(e)) from None
        if opts.emotion and opts.text_model is None:
            from emotrace.text.classifier import DEFAULT_MODELS

            found = 0
            for name in DEFAULT_MODELS:  # the default ensemble: record the members that are installed
                try:
                    ctx.model(name)
                    found += 1
                except ModelNotFound as e:
                    missing = e
            if not found:
                raise DependencyMissing(str(missing))
        if opts.model_path is not None and not (Path(opts.model_path) / "model.bin").is_file():
            raise ModelNotFound(
                f"stages.words.model_path {opts.model_path}: not a CTranslate2 Whisper folder"
            )
        if opts.text_model is not None:
            from emotrace.text.classifier import registered_text_model

            registered = registered_text_model(opts.text_model, "stages.words.text_model")
            if registered is not None:
                ctx.model(registered)  # a registered model: checked by sha256, listed in the provenance
        self.whisper: Any = load_whisper(
            opts.model_path, device=ctx.config.device, threads=ctx.config.threads
        )
        self.emotion: TextEmotion | None = None
        if opts.emotion:
            self.emotion = TextEmotion(
                opts.text_model, opts.text_route, device=ctx.config.device, threads=ctx.config.threads, model=ctx.model
            )

    def run(self, ctx: Context) -> None:
        opts: WordsOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        tl = ctx.timeline
        tr = transcribe_chunks(
            self.whisper,
            ctx.iter_audio(chunk_s=30.0),
            language=opts.language,
            beam_size=opts.beam_size,
            vad_filter=opts.vad_filter,
            speech=[(s.start_s, s.end_s) for s in tl.speech],
            max_chunk_s=opts.chunk_s,
        )
        p_lang = tr.language_probability
        if opts.language is None and tr.words and p_lang is not None and p_lang < LANGUAGE_UNSURE:
            ctx.warn(
                f"words: Whisper is unsure of the language (detected {tr.language}, p = {p_lang:.2f}); if the "
                "speech is in another one, set it with --set stages.words.language=CODE"
            )
        groups = group_words(
            tr.words, tl.speech, max_gap_s=opts.max_gap_s, max_duration_s=opts.max_utterance_s
        )
        translations = None
        if opts.translate and opts.emotion and groups and tr.language not in (None, "en"):
            translations = translate_spans(
                self.whisper,
                ctx.iter_audio(chunk_s=30.0),
                [(g.start_s, g.end_s, g.text) for g in groups],
                tr.language,
                beam_size=opts.beam_size,
            )
        for g in groups:
            for w in g.words:
                tl.words.append(
                    Word(
                        start_s=round(w.start_s, 3),
                        end_s=round(w.end_s, 3),
                        text=w.text.strip(),
                        probability=round(w.probability, 4),
                        speaker_id=g.speaker_id,
                    )
                )
        utts: list[Utterance] = []
        routes: list[Route] = []
        lang = tr.language
        te = self.emotion
        for i, g in enumerate(groups):
            translated = translations is not None and bool(translations[i])
            route: Route = "native" if te is None else te.route(g.text, lang, translated)
            routes.append(route)
            utts.append(
                Utterance(
                    start_s=round(g.start_s, 3),
                    end_s=round(g.end_s, 3),
                    text=g.text,
                    language=tr.language,
                    translation=translations[i] if translated and translations is not None else None,
                    route=route,
                    speaker_id=g.speaker_id,
                    person_id=g.person_id,
                )
            )
        if translations is not None and (dropped := sum(not t for t in translations)):
            ctx.warn(
                f"words: {dropped} of {len(translations)} translations dropped (Whisper unsure: mean token "
                f"log-probability below {TRANSLATION_MIN_LOGPROB}, a loop, or only a stock closing line)"
            )
        untranslated = [u for u in utts if u.route == "native" and u.language not in (None, "en")]
        if opts.emotion and untranslated:
            ctx.warn(f"words: {tr.language} speech scored by the English text model without translation")
        if te is not None and "multilingual" in routes and not te.measured(lang):
            ctx.warn(f"words: {lang} speech scored by the multilingual text model, whose accuracy on {lang} "
                     + te.unmeasured_note(lang))  # fmt: skip
        if te is not None and utts:
            scores = te.score([u.text for u in utts], [u.translation for u in utts], routes)
            for u, sc in zip(utts, scores, strict=True):
                u.emotion = ctx.scores(sc.emotion, model=sc.model)
                u.sentiment = sc.sentiment
        tl.utterances.extend(utts)
        ctx.put(TRANSCRIPT, tr)
