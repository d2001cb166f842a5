"""Make the README's sample video: real footage of a face with speech.

Source (first found):
1. CREMA-D (Cao et al. 2014; ODbL 1.0 / DbCL 1.0): the six clips of actor 1001 in
   ``../shared/data/crema_d`` concatenated (neutral, happy, sad, angry, fearful, disgusted),
   about 14 s of real video of one person speaking the same sentence with six emotions.
2. Otherwise a clip made from a real photograph shipped in a registry package:
   scikit-image's ``astronaut`` (NASA photograph of Eileen Collins, public domain) with a
   slow zoom, and speech synthesised with espeak-ng (GPL-3.0 program; its output is free).

No third-party media is committed to the repository.

Usage: python scripts/sample_video.py [OUT.mp4]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CREMA = (REPO / ".." / "shared" / "data" / "crema_d").resolve()
ORDER = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def from_crema(out: Path) -> str:
    clips = [CREMA / f"1001_DFA_{e}_XX.flv" for e in ORDER]
    inputs: list[str] = []
    parts = []
    for i, c in enumerate(clips):
        inputs += ["-i", str(c)]
        parts.append(f"[{i}:v]fps=25,scale=480:360,setsar=1[v{i}];[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}];")
    chain = "".join(f"[v{i}][a{i}]" for i in range(len(clips)))
    graph = "".join(parts) + f"{chain}concat=n={len(clips)}:v=1:a=1[v][a]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(out))
    return "CREMA-D actor 1001, six clips (ODbL 1.0 / DbCL 1.0)"


def from_photo(out: Path) -> str:
    from PIL import Image

    try:
        from skimage import data
    except ImportError:
        sys.exit("sample_video: ../shared/data/crema_d is absent and scikit-image is not installed "
                 "(pip install scikit-image, or run scripts/setup.sh)")

    with tempfile.TemporaryDirectory() as d:
        img = Path(d) / "astronaut.png"
        Image.fromarray(data.astronaut()).save(img)
        wav = Path(d) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-s", "140", "-w", str(wav),
             ("Hello. I am so happy to be here today. This mission was a wonderful success, "
              "and I am proud of our whole team.")],
            check=True,
        )
        ffmpeg("-loop", "1", "-i", str(img), "-i", str(wav),
               "-vf", "zoompan=z='min(zoom+0.0008,1.15)':d=1:s=512x512:fps=25", "-t", "8",
               "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
               "-movflags", "+faststart", str(out))
    return "scikit-image astronaut photograph (NASA, public domain) + espeak-ng speech"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "samples" / "sample.mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    source = from_crema(out) if CREMA.is_dir() else from_photo(out)
    print(f"sample video: {out} ({source})")


if __name__ == "__main__":
    main()
