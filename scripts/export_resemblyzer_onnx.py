"""Export Resemblyzer's GE2E voice encoder to ONNX (run once, needs torch and resemblyzer).

    python -m venv /tmp/rzv
    /tmp/rzv/bin/pip install torch==2.13.0 onnx onnxruntime librosa "setuptools<81" webrtcvad-wheels
    /tmp/rzv/bin/pip install --no-deps resemblyzer==0.1.4
    PYTHONPATH=src /tmp/rzv/bin/python scripts/export_resemblyzer_onnx.py src/emotrace/models/weights/resemblyzer-ge2e.onnx

Checks, printed at the end: emotrace's numpy mel front end against librosa's, the ONNX
encoder against the torch one on the same mels, and the whole torch-free path
(emotrace.voice.speakers) against ``VoiceEncoder.embed_utterance`` on real speech.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from resemblyzer import VoiceEncoder
from resemblyzer.audio import wav_to_mel_spectrogram

from emotrace.voice.speakers import PARTIAL_FRAMES, SpeakerEncoder, mel_spectrogram


def main(out: Path) -> None:
    torch.set_num_threads(1)
    enc = VoiceEncoder(device="cpu", verbose=False).eval()
    dummy = torch.randn(2, PARTIAL_FRAMES, 40).abs()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        enc,
        (dummy,),
        str(out),
        input_names=["mels"],
        output_names=["embeddings"],
        dynamic_axes={"mels": {0: "batch"}, "embeddings": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    rng = np.random.default_rng(0)
    wav = (rng.standard_normal(16000 * 3) * 0.05).astype(np.float32)
    clips = sorted(Path(sys.argv[2]).rglob("*.flac"))[:20] if len(sys.argv) > 2 else []
    import librosa

    ref_mel = wav_to_mel_spectrogram(wav)
    our_mel = mel_spectrogram(wav)
    print("mel max rel diff vs librosa:", float(np.abs(ref_mel - our_mel).max() / np.abs(ref_mel).max()))
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    mels = np.stack([our_mel[:PARTIAL_FRAMES], our_mel[-PARTIAL_FRAMES:]]).astype(np.float32)
    with torch.no_grad():
        t = enc(torch.from_numpy(mels)).numpy()
    o = sess.run(None, {"mels": mels})[0]
    print("onnx vs torch max abs diff:", float(np.abs(t - o).max()))
    ours = SpeakerEncoder(out)
    cos: list[float] = []
    same: list[float] = []
    for p in clips:
        w, _ = librosa.load(str(p), sr=16000)
        from resemblyzer import preprocess_wav
        from resemblyzer.audio import normalize_volume

        b = ours.embed(w)
        same.append(float(enc.embed_utterance(normalize_volume(w, -30, increase_only=True)) @ b))
        cos.append(float(enc.embed_utterance(preprocess_wav(w)) @ b))
    if cos:
        print(
            f"embedding cosine on {len(cos)} clips, same input (volume-normalised, untrimmed): "
            f"min {min(same):.6f} mean {np.mean(same):.6f}"
        )
        print(
            f"embedding cosine vs Resemblyzer's full preprocessing (webrtcvad silence trimming, "
            f"emotrace relies on Silero VAD instead): min {min(cos):.4f} mean {np.mean(cos):.4f}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
