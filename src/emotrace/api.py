"""The function API: each capability on its own, without a video, a pipeline or a ``Context``.

    import emotrace.api as et

    faces = et.analyze_faces("photo.jpg")                # boxes, expression, landmarks per face
    boxes = et.detect_faces(rgb_array)                    # detector only
    probs = et.face_expression([crop1, crop2])            # expression of face crops
    segs = et.speech_emotion(samples, sample_rate=16000)  # speech segments, speakers, emotion
    words = et.transcribe(samples)                        # Whisper transcript with word timestamps
    texts = et.text_emotion(["I am so happy"], language="en")

The pipeline stages are adapters over the same pieces (:mod:`emotrace.faces.backends`,
:class:`emotrace.voice.emotion.SpeechEmotion`, :class:`emotrace.text.emotion.TextEmotion`), so a
function here gives what the stage would give for the same pixels, samples or text. Models
are loaded once per process and settings (cached); probabilities are over emotrace's canonical
labels (angry, disgust, fear, happy, sad, surprise, neutral).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from emotrace.errors import InputError
from emotrace.labels import CANONICAL

if TYPE_CHECKING:
    from emotrace.faces.detect import Detection
    from emotrace.text.asr import Transcript
    from emotrace.text.emotion import TextEmotion, TextRoute, TextScore
    from emotrace.voice.emotion import SpeechEmotion, VoiceSegment

SAMPLE_RATE = 16000

__all__ = [
    "FaceResult",
    "analyze_faces",
    "detect_faces",
    "face_expression",
    "speech_emotion",
    "text_emotion",
    "transcribe",
]


def _rgb(image: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
    """An RGB uint8 array from a file or an array (gray or RGBA arrays are converted)."""
    if isinstance(image, np.ndarray):
        arr = image
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(image) as im:
                arr = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError) as e:
            raise InputError(image, f"cannot read image ({e})") from None
    if arr.dtype != np.uint8:
        raise InputError("<array>", f"images are uint8 arrays, not {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError("<array>", f"images are (height, width, 3) arrays, not {arr.shape}")
    return np.ascontiguousarray(arr[:, :, :3])


def _audio(audio: str | os.PathLike[str] | np.ndarray, sample_rate: int) -> np.ndarray:
    """16 kHz mono float32 samples from a media file or an array at ``sample_rate``."""
    if not isinstance(audio, np.ndarray):
        from emotrace.io.media import load_audio

        return load_audio(audio)
    x = np.asarray(audio, np.float32)
    if x.ndim == 2:  # (samples, channels) or (channels, samples): average the channels
        x = x.mean(axis=int(np.argmin(x.shape)))
    if x.ndim != 1:
        raise InputError("<array>", f"audio is a 1-D array of samples, not shape {audio.shape}")
    if sample_rate != SAMPLE_RATE:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sample_rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)
    return x


# ---- faces ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _face_part(role: str, name: str, threads: int) -> Any:
    from emotrace.faces.backends import build_face_backend
    from emotrace.models.assets import resolve

    return build_face_backend(role, name, resolve, threads)  # type: ignore[arg-type]  # role checked by face_backend


@lru_cache(maxsize=4)
def _expression(name: str | None, threads: int) -> Any:
    from emotrace.faces.stage import expression_class
    from emotrace.models.assets import resolve

    cls = expression_class(name)
    return cls(str(resolve(cls.model_name).path), device="auto", threads=threads)


def detect_faces(
    image: str | os.PathLike[str] | np.ndarray,
    *,
    detector: str = "blazeface",
    threshold: float = 0.45,
    tiles: int = 0,
    threads: int = 0,
) -> list[Detection]:
    """Face boxes (x, y, w, h in pixels of ``image``), scores and 6 keypoints, best first.
    ``tiles`` > 0 also searches square tiles of side short/``tiles`` (small faces)."""
    rgb = _rgb(image)
    dets: list[Detection] = _face_part("detector", detector, threads).detect(rgb, tiles=tiles, threshold=threshold)
    return sorted(dets, key=lambda d: -d.score)


def face_expression(faces: Sequence[np.ndarray], *, model: str | None = None, threads: int = 0) -> list[dict[str, float]]:
    """Expression probabilities of face crops (RGB uint8, cropped as ``model`` wants: see
    :func:`analyze_faces`, which crops for you)."""
    if not faces:
        return []
    probs = _expression(model, threads).predict([_rgb(f) for f in faces])
    return [dict(zip(CANONICAL, map(float, p), strict=True)) for p in probs]


@dataclass
class FaceResult:
    box: tuple[float, float, float, float]  # x, y, w, h in pixels
    score: float
    emotion: dict[str, float]  # canonical label -> probability
    keypoints: list[tuple[float, float]] = field(default_factory=list)
    head_pose: tuple[float, float, float] | None = None  # yaw, pitch, roll in degrees
    blendshapes: dict[str, float] | None = None
    aus: dict[str, float] | None = None


def analyze_faces(
    image: str | os.PathLike[str] | np.ndarray,
    *,
    expression: str | None = None,
    landmarks: bool = True,
    threshold: float = 0.45,
    tiles: int = 0,
    threads: int = 0,
) -> list[FaceResult]:
    """Every face of one image: box, expression (cropped as the faces stage crops for the
    expression backend), and with ``landmarks`` head pose, blendshapes and action units."""
    from emotrace.faces.aus import action_units
    from emotrace.faces.expression import crop_box

    rgb = _rgb(image)
    dets = detect_faces(rgb, threshold=threshold, tiles=tiles, threads=threads)
    if not dets:
        return []
    expr = _expression(expression, threads)
    h, w = rgb.shape[:2]
    crops = []
    for d in dets:
        x0, y0, x1, y1 = crop_box(d.box, expr.crop_margin, expr.square, w, h)
        crops.append(rgb[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)])
    probs = expr.predict(crops)
    mesher = _face_part("landmarker", "mediapipe-litert", threads) if landmarks else None
    out = []
    for d, p in zip(dets, probs, strict=True):
        res = FaceResult(
            box=tuple(round(float(v), 1) for v in d.box),  # type: ignore[arg-type]  # four values
            score=round(float(d.score), 4),
            emotion=dict(zip(CANONICAL, map(float, p), strict=True)),
            keypoints=[(round(float(a), 1), round(float(b), 1)) for a, b in d.keypoints],
        )
        if mesher is not None:
            x0, y0, x1, y1 = crop_box(d.box, 0.3, True, w, h)  # the faces stage's landmark crop
            mesh = mesher(rgb[y0:y1, x0:x1])
            if mesh is not None:
                res.head_pose, res.blendshapes = mesh.head_pose, mesh.blendshapes
                res.aus = action_units(mesh.blendshapes, mesh.landmarks)
        out.append(res)
    return out


# ---- voice ---------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _voice(options_json: str, threads: int) -> SpeechEmotion:
    from emotrace.voice.emotion import SpeechEmotion, VoiceOptions

    return SpeechEmotion(VoiceOptions.model_validate_json(options_json), device="auto", threads=threads)


def speech_emotion(
    audio: str | os.PathLike[str] | np.ndarray, sample_rate: int = SAMPLE_RATE, *, threads: int = 0, **options: Any
) -> list[VoiceSegment]:
    """Speech segments of an audio array (or media file): start/end, speaker ``S1``..., and
    emotion probabilities (the voice model's labels). ``options`` are the voice stage's
    (``stages.voice``), e.g. ``speakers=False``, ``max_speakers=2``."""
    from emotrace.voice.emotion import VoiceOptions

    opts = VoiceOptions.model_validate(options)
    samples = _audio(audio, sample_rate)
    return _voice(opts.model_dump_json(), threads).analyze([(0.0, samples)])


@lru_cache(maxsize=1)
def _whisper(threads: int) -> Any:
    from emotrace.models.assets import resolve
    from emotrace.models.whisper import load_whisper

    return load_whisper(resolve("whisper-base").path, device="auto", threads=threads)


def transcribe(
    audio: str | os.PathLike[str] | np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    language: str | None = None,
    beam_size: int = 5,
    threads: int = 0,
) -> Transcript:
    """Whisper-base transcript with word timestamps (``.language``, ``.words``, ``.segments``)."""
    from emotrace.text.asr import transcribe_chunks

    samples = _audio(audio, sample_rate)
    return transcribe_chunks(_whisper(threads), [(0.0, samples)], language=language, beam_size=beam_size)


# ---- text ----------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _text(text_model: str | None, route: str, threads: int) -> TextEmotion:
    from emotrace.text.emotion import TextEmotion

    return TextEmotion(text_model, route, threads=threads)  # type: ignore[arg-type]  # checked by text_emotion


def text_emotion(
    texts: Sequence[str],
    *,
    language: str | None = "en",
    translations: Sequence[str | None] | None = None,
    text_model: str | None = None,
    text_route: TextRoute = "auto",
    threads: int = 0,
) -> list[TextScore]:
    """Emotion (canonical labels), sentiment and the model used for consecutive utterances (each
    reads its neighbours as context). ``language`` is an ISO code; for a language the
    multilingual model was measured on, it reads the text (``text_route="auto"``); otherwise,
    with ``translations`` (English), the English model reads those, and an utterance without
    one (``None`` or "") goes to the multilingual model too."""
    if text_route not in ("auto", "english", "translate", "multilingual"):
        raise InputError("text_route", "use auto, english, translate or multilingual")
    texts = list(texts)
    trans = list(translations) if translations is not None else [None] * len(texts)
    if len(trans) != len(texts):
        raise InputError("translations", f"{len(trans)} translations for {len(texts)} texts")
    te = _text(text_model, text_route, threads)
    routes = [te.route(t, language, bool(tr)) for t, tr in zip(texts, trans, strict=True)]
    return te.score(texts, trans, routes)
