"""Real-time factor of the words stage's ASR (Whisper base, int8, CPU) and text emotion speed.

Usage: python benchmarks/asr.py [AUDIO_OR_VIDEO] [--threads 2] [--beam-size 5]
Without a file, ~60 s of English speech is generated with espeak-ng. Prints RTF (seconds of
compute per second of audio; lower is faster), words/s and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "Good morning everyone, thank you for coming to the meeting today.",
    "I am really happy with the results of the last quarter.",
    "However, some of the numbers in the report worry me a lot.",
    "We lost two important customers and that makes me sad.",
    "Still, the new product is a wonderful surprise for the whole team.",
    "Let us talk about the plan for the next three months.",
    "I want everyone to share their ideas, even the crazy ones.",
    "If we work together, I am sure we will do better than last year.",
]


def make_speech(folder: Path, seconds: float = 60.0) -> Path:
    """Concatenate espeak-ng sentences until ``seconds`` of 16 kHz mono speech."""
    parts: list[Path] = []
    total = 0.0
    i = 0
    while total < seconds:
        raw = folder / f"{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(raw), SENTENCES[i % len(SENTENCES)]], check=True)
        wav = folder / f"{i}.16k.wav"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1", str(wav)],
            check=True,
        )
        total += wav.stat().st_size / 32000
        parts.append(wav)
        i += 1
    out = folder / "speech.wav"
    subprocess.run(["sox", *map(str, parts), str(out)], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("media", nargs="?", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beam-size", type=int, default=5)
    args = ap.parse_args()

    from emotrace.io.media import load_audio
    from emotrace.models.whisper import load_whisper
    from emotrace.text.asr import SAMPLE_RATE, transcribe
    from emotrace.text.classifier import load_text_model
    from emotrace.text.utterances import group_words

    with tempfile.TemporaryDirectory() as tmp:
        media = args.media or make_speech(Path(tmp))
        audio = load_audio(media)
    dur = audio.size / SAMPLE_RATE
    t0 = time.perf_counter()
    model = load_whisper(device="cpu", threads=args.threads)
    load_s = time.perf_counter() - t0
    transcribe(model, audio[: SAMPLE_RATE * 2], beam_size=args.beam_size)  # warm-up
    t0 = time.perf_counter()
    tr = transcribe(model, audio, beam_size=args.beam_size)
    asr_s = time.perf_counter() - t0
    groups = group_words(tr.words)
    text_model, name = load_text_model(device="cpu", threads=args.threads)
    texts = [g.text for g in groups] or ["hello"]
    t0 = time.perf_counter()
    for _ in range(5):
        text_model.predict(texts)
    text_ms = (time.perf_counter() - t0) / (5 * len(texts)) * 1000
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"audio: {dur:.1f} s, language {tr.language}, {len(tr.words)} words, {len(groups)} utterances")
    print(f"whisper-base int8, threads={args.threads}, beam={args.beam_size}: load {load_s:.2f} s")
    print(
        f"ASR (word timestamps): {asr_s:.2f} s  RTF {asr_s / dur:.3f}  ({len(tr.words) / asr_s:.1f} words/s)"
    )
    print(f"text emotion ({name}): {text_ms:.2f} ms/utterance")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
