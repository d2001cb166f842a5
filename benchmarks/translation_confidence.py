"""Whisper's translations of short espeak-ng sentences with their mean token log-probability.

    .venv/bin/python benchmarks/translation_confidence.py

Prints, per sentence, the raw translation (decoded as ``emotrace.text.asr.translate_audio``
decodes it), its mean token log-probability and what ``translate_audio`` keeps: the evidence for
``TRANSLATION_MIN_LOGPROB`` (Whisper's own ``log_prob_threshold``, -1.0) and the stock-line
filter. espeak-ng is a poor speaker of some languages; that is the point: it shows what Whisper
writes for speech it cannot follow.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from emotrace.models.whisper import load_whisper
from emotrace.text.asr import translate_audio

SENTENCES = [
    ("de", "Ich freue mich sehr, dich zu sehen."),
    ("de", "Das war ein schrecklicher Tag, ich bin so wütend."),
    ("es", "Estoy muy feliz de verte."),
    ("es", "Fue un día terrible, estoy muy enojado."),
    ("fr", "Je suis très content de te voir."),
    ("it", "Sono molto felice di vederti."),
    ("ru", "Я очень рад тебя видеть."),
    ("ru", "Это был ужасный день, я так зол."),
    ("bg", "Толкова се радвам да те видя."),
    ("bg", "Страх ме е, не искам да умра."),
    ("pl", "Bardzo się cieszę, że cię widzę."),
    ("sr", "Veoma sam srećan što te vidim."),
]


def speech(folder: Path, voice: str, text: str) -> np.ndarray:
    raw, wav = folder / "raw.wav", folder / "16k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(raw), text], check=True)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(raw), "-ar", "16000", "-ac", "1", str(wav)],
                   check=True)  # fmt: skip
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def main() -> None:
    model = load_whisper()
    with tempfile.TemporaryDirectory() as tmp:
        for voice, text in SENTENCES:
            x = speech(Path(tmp), voice, text)
            segs, _ = model.transcribe(x, language=voice, task="translate", beam_size=5, vad_filter=False,
                                       condition_on_previous_text=False, without_timestamps=True,
                                       no_repeat_ngram_size=3, repetition_penalty=1.1)  # fmt: skip
            segs = list(segs)
            n = sum(len(s.tokens) for s in segs)
            lp = sum(s.avg_logprob * len(s.tokens) for s in segs) / max(n, 1)
            raw = " ".join(s.text.strip() for s in segs)
            kept = translate_audio(model, x, voice, chars=len(text))
            print(f"{voice}  {lp:6.3f}  {raw!r:60s} -> {kept!r}", flush=True)


if __name__ == "__main__":
    main()
