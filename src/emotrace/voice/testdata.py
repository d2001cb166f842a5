"""Conversations with known speaker turns, for diarization tests and benchmarks.

* :func:`espeak_conversation`: two espeak-ng voices (different variant, pitch and speed)
  taking turns;
* :func:`concat_clips`: real recordings of different speakers (e.g. RAVDESS actors) joined
  with short pauses.

Reference turns span the audible part of each turn (frames within 35 dB of the turn's peak).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from emotrace.io.media import load_audio

SR = 16000
Turn = tuple[float, float, str]

SENTENCES = (
    "Good morning, did you sleep well last night?",
    "Not really, the neighbours were playing loud music until three.",
    "That sounds awful. Did you ask them to turn it down?",
    "I knocked on their door twice, but nobody answered me.",
    "Maybe you should write a note and leave it in their mailbox.",
    "Good idea. I will do that this evening after work.",
    "By the way, are we still meeting for lunch on Friday?",
    "Yes, let us meet at the small cafe near the station at noon.",
)
VOICES = (("en-us+m3", 40, 150), ("en-gb+f4", 75, 175))  # (voice, pitch, words per minute)


def audible_span(audio: np.ndarray, floor_db: float = 35.0) -> tuple[float, float]:
    """First and last 10 ms frame within ``floor_db`` of the loudest frame, in seconds."""
    n = audio.size // 160
    if n == 0:
        return 0.0, 0.0
    rms = np.sqrt(np.mean(audio[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    on = np.nonzero(db > db.max() - floor_db)[0]
    return on[0] * 0.01, (on[-1] + 1) * 0.01


def _join(clips: Sequence[tuple[np.ndarray, str]], gap_s: float, out: Path) -> list[Turn]:
    parts, turns, t = [], [], 0.0
    gap = np.zeros(int(gap_s * SR), dtype=np.float32)
    for audio, speaker in clips:
        a, b = audible_span(audio)
        turns.append((round(float(t + a), 3), round(float(t + b), 3), speaker))
        parts += [audio, gap]
        t += (audio.size + gap.size) / SR
    wav = np.concatenate(parts)
    wavfile.write(out, SR, (np.clip(wav, -1, 1) * 32767).astype(np.int16))
    return turns


def espeak_conversation(out: Path, turns: int = 8, gap_s: float = 0.6) -> list[Turn]:
    """Write a two-voice espeak-ng conversation to ``out`` (WAV); return the reference turns."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(turns):
            voice, pitch, speed = VOICES[i % 2]
            p = Path(tmp) / f"{i}.wav"
            subprocess.run(
                [
                    exe,
                    "-v",
                    voice,
                    "-p",
                    str(pitch),
                    "-s",
                    str(speed),
                    "-w",
                    str(p),
                    SENTENCES[i % len(SENTENCES)],
                ],
                check=True,
                capture_output=True,
            )
            clips.append((load_audio(p), f"voice{i % 2}"))
    return _join(clips, gap_s, out)


def concat_clips(paths: Sequence[Path], speakers: Sequence[str], out: Path, gap_s: float = 0.4) -> list[Turn]:
    """Join recordings (each trimmed to its audible span plus 0.1 s) into one WAV; return turns."""
    clips = []
    for p, s in zip(paths, speakers, strict=True):
        audio = load_audio(p)
        a, b = audible_span(audio)
        clips.append((audio[max(0, int((a - 0.1) * SR)) : int((b + 0.1) * SR)], s))
    return _join(clips, gap_s, out)
