"""The ``describe`` slot (off by default) and ``emotrace describe DIR``: keyframes to an
OpenAI-compatible vision model, with what emotrace found in the prompt.

Each shot's keyframes (or each keyframe, ``per="keyframe"``) go out in one request together
with a prompt built from a :class:`string.Template`: ``$shot_index $start $end $n_images
$persons $face_emotions $voice_emotions $transcript``. The reply's JSON (emotion keywords and
a short description) lands in :attr:`Keyframe.description`; token usage is logged and kept in
``timeline.tables["llm_usage"]``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import string
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from emotrace.errors import ConfigError, DependencyMissing
from emotrace.labels import LabelError, canonical_label
from emotrace.model import EmotionScores, Keyframe, Timeline
from emotrace.shots.llm import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_MODEL,
    ChatClient,
    LLMError,
    Usage,
    image_part,
    parse_json_reply,
)
from emotrace.stage import Stage, register

if TYPE_CHECKING:
    from emotrace.stage import Context

log = logging.getLogger("emotrace.describe")

SYSTEM_PROMPT = "You describe video frames for an emotion-analysis tool. Answer with one JSON object only."

DEFAULT_PROMPT = """\
These $n_images image(s) are keyframes of shot $shot_index ($start-$end s) of a video.
What emotrace measured in this shot:
- people: $persons
- facial expressions: $face_emotions
- voice: $voice_emotions
- transcript: $transcript
Look at the images and reply with JSON only, like
{"emotions": ["up to five emotion keywords"], "description": "one or two sentences: what happens and the mood"}"""


class DescribeOptions(BaseModel):
    """Where to send keyframes and how. The API key is read from the environment only."""

    model_config = ConfigDict(extra="forbid")
    base_url: str | None = Field(default=None, description=f"endpoint root, e.g. http://127.0.0.1:11434/v1 (env {ENV_BASE_URL})")
    model: str | None = Field(default=None, description=f"model name (env {ENV_MODEL})")
    api_key_env: str = Field(default=ENV_API_KEY, description="environment variable holding the API key")
    api_version: str | None = Field(default=None, description="Azure OpenAI api-version")
    prompt: str = Field(default=DEFAULT_PROMPT, description="string.Template with $shot_index $start $end ...")
    system: str = SYSTEM_PROMPT
    per: Literal["shot", "keyframe"] = "shot"
    max_images: int = Field(default=3, ge=1, description="keyframes sent per shot")
    max_tokens: int = Field(default=300, ge=16)
    temperature: float = Field(default=0.2, ge=0, le=2)
    json_mode: bool = Field(default=False, description='send response_format {"type": "json_object"}')
    timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    concurrency: int = Field(default=4, ge=1)
    cache: bool = Field(default=True, description="on-disk reply cache under $EMOTRACE_CACHE/llm")
    transcript_margin_s: float = Field(default=2.0, ge=0)
    max_transcript_chars: int = Field(default=800, ge=0)


def make_client(o: DescribeOptions, api_key: str | None = None) -> ChatClient:
    """A client from options, falling back to the EMOTRACE_LLM_* environment variables."""
    base_url = o.base_url or os.environ.get(ENV_BASE_URL)
    model = o.model or os.environ.get(ENV_MODEL)
    if not base_url or not model:
        raise DependencyMissing(
            f"describe needs an endpoint: set {ENV_BASE_URL} and {ENV_MODEL} (or stages.describe.base_url/model)"
        )
    from emotrace.models.assets import cache_dir

    return ChatClient(
        base_url=base_url,
        model=model,
        api_key=api_key if api_key is not None else os.environ.get(o.api_key_env) or None,
        api_version=o.api_version,
        timeout_s=o.timeout_s,
        retries=o.retries,
        backoff_s=o.backoff_s,
        cache_dir=cache_dir() / "llm" if o.cache else None,
    )


# ---- what emotrace found, as prompt text ------------------------------------------------
def _mean_top(scores: Iterable[EmotionScores], k: int = 3) -> str:
    total: Counter[str] = Counter()
    n = 0
    for s in scores:
        total.update(s.probs)
        n += 1
    if not n:
        return "not measured"
    top = sorted(total.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{lab} {v / n:.2f}" for lab, v in top)


def shot_context(tl: Timeline, start: float, end: float, o: DescribeOptions) -> dict[str, str]:
    """Template fields that summarise the faces, voices and words of ``[start, end)``."""
    faces = [f for f in tl.faces if start <= f.time_s < end]
    people = Counter(f.person_id or (f"track {f.track_id}" if f.track_id is not None else "face") for f in faces)
    persons = ", ".join(f"{p} ({n} sightings)" for p, n in people.most_common(5)) or "no faces detected"
    face_em = _mean_top(s for f in faces if (s := f.smoothed or f.emotion) is not None)
    voice_em = _mean_top(s.emotion for s in tl.speech if s.start_s < end and s.end_s > start and s.emotion)
    m = o.transcript_margin_s
    lines = [
        (f"{u.speaker_id}: " if u.speaker_id else "") + u.text.strip()
        for u in tl.utterances
        if u.start_s < end + m and u.end_s > start - m
    ]
    transcript = " / ".join(lines)
    if len(transcript) > o.max_transcript_chars:
        transcript = transcript[: o.max_transcript_chars].rsplit(" ", 1)[0] + " ..."
    return {"persons": persons, "face_emotions": face_em, "voice_emotions": voice_em,
            "transcript": f'"{transcript}"' if transcript else "no speech"}


def normalise(obj: dict[str, Any] | None, raw: str) -> dict[str, Any]:
    """Emotion keywords and a description from a parsed reply (raw text when it had no JSON)."""
    if obj is None:
        return {"emotions": [], "canonical": [], "description": raw.strip()[:1000], "parsed": False}
    em: Any = next((obj[k] for k in ("emotions", "emotion_keywords", "keywords", "emotion") if k in obj), [])
    if isinstance(em, str):
        em = [e for e in (x.strip() for x in em.replace(";", ",").split(",")) if e]
    words = [str(e).strip().lower() for e in em if str(e).strip()] if isinstance(em, list) else []
    desc = next((obj[k] for k in ("description", "summary", "caption", "text") if k in obj), "")
    canon: list[str] = []
    for w in words:
        try:
            lab = canonical_label(w)
        except LabelError:
            continue
        if lab and lab not in canon:
            canon.append(lab)
    return {"emotions": words, "canonical": canon, "description": str(desc).strip(), "parsed": True}


# ---- running --------------------------------------------------------------------------
def _groups(tl: Timeline, per: str) -> list[tuple[int, list[int]]]:
    """(shot index, keyframe indices) per request."""
    if per == "keyframe":
        return [(kf.shot_index, [i]) for i, kf in enumerate(tl.keyframes)]
    by_shot: dict[int, list[int]] = defaultdict(list)
    for i, kf in enumerate(tl.keyframes):
        by_shot[kf.shot_index].append(i)
    return sorted(by_shot.items())


def _pick(kfs: Sequence[Keyframe], idx: list[int], n: int) -> list[int]:
    """Up to ``n`` keyframes of a group, emotion peaks and high scores first, in time order."""
    ranked = sorted(idx, key=lambda i: (kfs[i].reason != "emotion_peak", -(kfs[i].score or 0.0)))
    return sorted(ranked[:n], key=lambda i: kfs[i].time_s)


def describe_timeline(
    tl: Timeline, folder: Path, options: DescribeOptions | None = None, client: ChatClient | None = None,
    shots: set[int] | None = None,
) -> tuple[Usage, list[str]]:
    """Describe the keyframes of ``tl`` (images under ``folder``) in place.

    Returns the token usage and one message per request that failed.
    """
    o = options or DescribeOptions()
    client = client or make_client(o)
    try:
        template = string.Template(o.prompt)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"describe prompt: {e}") from None
    shot_bounds = {s.index: (s.start_s, s.end_s) for s in tl.shots}
    jobs = []
    for shot, idx in _groups(tl, o.per):
        if shots is not None and shot not in shots:
            continue
        chosen = [i for i in _pick(tl.keyframes, idx, o.max_images) if tl.keyframes[i].path]
        if not chosen:
            continue
        times = [tl.keyframes[i].time_s for i in idx]
        start, end = shot_bounds.get(shot, (min(times), max(times) + 1.0))
        fields = {"shot_index": str(shot), "start": f"{start:.1f}", "end": f"{end:.1f}", "n_images": str(len(chosen)),
                  **shot_context(tl, start, end, o)}
        jobs.append((shot, idx, chosen, template.safe_substitute(fields)))

    params: dict[str, Any] = {"max_tokens": o.max_tokens, "temperature": o.temperature}
    if o.json_mode:
        params["response_format"] = {"type": "json_object"}

    def run(job: tuple[int, list[int], list[int], str]) -> tuple[int, list[int], Any]:
        shot, idx, chosen, prompt = job
        images = [(folder / str(tl.keyframes[i].path)).read_bytes() for i in chosen]
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}, *(image_part(b) for b in images)]
        messages: list[dict[str, Any]] = [{"role": "system", "content": o.system}, {"role": "user", "content": content}]
        key = {"system": o.system, "prompt": prompt, "images": [hashlib.sha256(b).hexdigest() for b in images]}
        try:
            return shot, idx, client.complete(messages, cache_key=key, **params)
        except (LLMError, OSError) as e:
            return shot, idx, e

    usage, errors, rows = Usage(), [], []
    with ThreadPoolExecutor(max_workers=o.concurrency) as pool:
        for shot, idx, res in pool.map(run, jobs):
            if isinstance(res, Exception):
                errors.append(f"describe: shot {shot}: {res}")
                continue
            usage.add(res.usage, res.cached)
            u = res.usage or {}
            log.info("describe shot %d: prompt_tokens=%s completion_tokens=%s cached=%s", shot,
                     u.get("prompt_tokens"), u.get("completion_tokens"), res.cached)
            rows.append({"shot_index": shot, "model": client.model, "cached": res.cached,
                         "prompt_tokens": u.get("prompt_tokens"), "completion_tokens": u.get("completion_tokens")})
            desc = normalise(parse_json_reply(res.content), res.content) | {"model": client.model}
            for i in idx:
                tl.keyframes[i].description = dict(desc)
    tl.tables["llm_usage"] = rows
    log.info("describe: %d requests, %d cached, %d prompt + %d completion tokens", usage.requests, usage.cached,
             usage.prompt_tokens, usage.completion_tokens)
    return usage, errors


@register
class DescribeStage(Stage):
    """Keyframe descriptions from an OpenAI-compatible vision model (off by default)."""

    slot = "describe"
    backend = "default"
    kind = "post"
    reads = ("keyframes", "shots", "faces", "speech", "utterances", "tables")
    needs = ("keyframes",)
    writes = ("keyframes", "tables")
    needs_video = True
    description = "OpenAI-compatible chat/vision endpoint (EMOTRACE_LLM_BASE_URL, EMOTRACE_LLM_MODEL)"
    Options = DescribeOptions

    def __init__(self, options: BaseModel):
        super().__init__(options)
        self.options: DescribeOptions = options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        self._client: ChatClient | None = None

    def setup(self, ctx: Context) -> None:
        self._client = make_client(self.options)

    def run(self, ctx: Context) -> None:
        if ctx.workdir is None:
            ctx.warn("describe: skipped, it needs a result folder for the keyframe images")
            return
        if not ctx.timeline.keyframes:
            ctx.warn("describe: no keyframes to describe (is the keyframes stage on?)")
            return
        _, errors = describe_timeline(ctx.timeline, ctx.workdir, self.options, self._client)
        for e in errors:
            ctx.warn(e)
