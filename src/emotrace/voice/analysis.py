"""Streaming voice analysis: speech windows, their features and speaker embeddings.

Audio is read in chunks; only the audio of speech regions still open at a chunk edge is
kept, so memory stays flat in the input's length. What is kept per window is small: a
feature vector (1,040 floats) and a speaker embedding (256 floats). A model that reads frame
states (``keep_states``) gets them from a temporary file (float16, ~51 kB per second of
speech, on disk, not in memory) through :meth:`VoiceAnalyzer.states`.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotrace.voice.encoder import encode_windows, normalise_level
from emotrace.voice.features import window_features
from emotrace.voice.speakers import SpeakerEncoder
from emotrace.voice.vad import Region, speech_regions, split_windows

SR = 16000


@dataclass
class WindowResult:
    start_s: float
    end_s: float
    features: np.ndarray | None = None
    embedding: np.ndarray | None = None
    states_at: tuple[int, int] | None = None  # (byte offset, frames) in the analyzer's spill file


@dataclass
class VoiceAnalyzer:
    """Turns streamed audio chunks into :class:`WindowResult` rows."""

    whisper: Any | None
    speaker_encoder: SpeakerEncoder | None
    vad_threshold: float = 0.5
    min_silence_ms: int = 300
    max_window_s: float = 6.0
    min_window_s: float = 2.0
    max_region_s: float = 60.0
    join_gap_s: float = 0.3
    cache: MutableMapping[tuple[float, float], np.ndarray] | None = None
    cache_until_s: float = 600.0
    keep_states: bool = False
    windows: list[WindowResult] = field(default_factory=list)
    _spill: Any = field(default=None, repr=False)

    def states(self, w: WindowResult) -> np.ndarray:
        """Frame states (frames x d, float16) of a window analysed with ``keep_states``."""
        if w.states_at is None or self._spill is None:
            raise ValueError("window states were not kept")
        offset, frames = w.states_at
        self._spill.seek(offset)
        raw = self._spill.read(frames * self._dim * 2)
        return np.frombuffer(raw, dtype=np.float16).reshape(frames, self._dim)

    def states_of(self, windows: list[WindowResult]) -> Sequence[np.ndarray]:
        """The windows' frame states as a lazy sequence (float32, read from disk when indexed)."""
        analyzer = self

        class _View(Sequence[np.ndarray]):
            def __len__(self) -> int:
                return len(windows)

            def __getitem__(self, i):  # int index only
                return analyzer.states(windows[i]).astype(np.float32)

        return _View()

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def _keep(self, w: WindowResult, states: np.ndarray) -> None:
        import tempfile

        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="emotrace-states-")  # noqa: SIM115 - closed by close()
        self._dim = states.shape[1]
        self._spill.seek(0, 2)
        w.states_at = (self._spill.tell(), states.shape[0])
        self._spill.write(np.ascontiguousarray(states, dtype=np.float16).tobytes())

    def run(self, chunks: Iterable[tuple[float, np.ndarray]]) -> list[WindowResult]:
        """Consume ``(start_s, samples)`` chunks; return every speech window in time order."""
        buf = np.zeros(0, dtype=np.float32)
        buf_start = 0.0
        open_region: Region | None = None
        for start, samples in chunks:
            samples = np.nan_to_num(np.asarray(samples, dtype=np.float32))
            if buf.size == 0:
                buf_start = start
            buf = np.concatenate([buf, samples])
            chunk_end = start + samples.size / SR
            regions = speech_regions(
                samples, threshold=self.vad_threshold, min_silence_ms=self.min_silence_ms, offset_s=start
            )
            closed: list[Region] = []
            for a, b in regions:
                if open_region is not None and a - open_region[1] <= self.join_gap_s:
                    open_region = (open_region[0], b)
                else:
                    if open_region is not None:
                        closed.append(open_region)
                    open_region = (a, b)
            if open_region is not None and (
                open_region[1] < chunk_end - self.join_gap_s
                or open_region[1] - open_region[0] > self.max_region_s
            ):
                closed.append(open_region)
                open_region = None
            for region in closed:
                self._analyse(region, buf, buf_start)
            keep_from = open_region[0] if open_region is not None else chunk_end
            cut = max(0, round((keep_from - buf_start) * SR))
            buf, buf_start = buf[cut:], buf_start + cut / SR
        if open_region is not None:
            self._analyse(open_region, buf, buf_start)
        return self.windows

    def _analyse(self, region: Region, buf: np.ndarray, buf_start: float) -> None:
        for a, b in split_windows([region], self.max_window_s, self.min_window_s):
            i, j = round((a - buf_start) * SR), round((b - buf_start) * SR)
            audio = buf[max(i, 0) : max(j, 0)]
            if audio.size < SR // 10:
                continue
            w = WindowResult(a, b)
            if self.whisper is not None:
                cache = self.cache if b <= self.cache_until_s else None
                states = encode_windows(self.whisper, buf, [(a, b)], offset_s=buf_start, cache=cache)[0]
                w.features = window_features(states, normalise_level(audio))
                if self.keep_states:
                    self._keep(w, states)
            if self.speaker_encoder is not None:
                w.embedding = self.speaker_encoder.embed(audio)
            self.windows.append(w)
