"""Streaming shot-boundary detectors: push small frames in order, get cut times out.

A cut time is the timestamp of the first frame of a new shot.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np


class CutDetector(Protocol):
    name: str

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        """Feed the next frame; return cut times found so far (possibly for earlier frames)."""
        ...

    def flush(self) -> list[float]:
        """Cuts still pending at the end of the video."""
        ...


class AdaptiveCuts:
    """PySceneDetect's :class:`AdaptiveDetector` driven frame by frame (no second decode)."""

    name = "pyscenedetect-adaptive"

    def __init__(
        self,
        rate: float,
        adaptive_threshold: float = 3.0,
        min_content_val: float = 15.0,
        min_scene_len_s: float = 0.6,
        window_width: int = 2,
        luma_only: bool = False,
    ):
        from scenedetect.common import FrameTimecode
        from scenedetect.detectors import AdaptiveDetector

        self._tc = FrameTimecode
        self.rate = float(rate)
        self._det = AdaptiveDetector(
            adaptive_threshold=adaptive_threshold,
            min_scene_len=max(1, round(min_scene_len_s * self.rate)),
            window_width=window_width,
            min_content_val=min_content_val,
            luma_only=luma_only,
        )
        self._times: deque[float] = deque(maxlen=4 * window_width + 4)
        self._n = 0

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        idx = self._n
        self._n += 1
        self._times.append(time_s)
        cuts = self._det.process_frame(self._tc(idx, fps=self.rate), bgr)
        return [self._time_of(c.frame_num) for c in cuts]

    def _time_of(self, frame_num: int) -> float:
        back = self._n - 1 - frame_num
        return self._times[-1 - back] if 0 <= back < len(self._times) else frame_num / self.rate

    def flush(self) -> list[float]:
        return []


class Sampled:
    """Feeds a detector a sub-stream of about ``rate`` frames per second."""

    def __init__(self, det: CutDetector, rate: float):
        self.det = det
        self.name = det.name
        self._step = 1.0 / rate
        self._next = 0.0

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        if time_s + 1e-6 < self._next:
            return []
        self._next = (np.floor(time_s / self._step + 1e-6) + 1) * self._step
        return self.det.push(time_s, bgr)

    def flush(self) -> list[float]:
        return self.det.flush()


class DissolveCuts:
    """Cross-fades and fades to/from black: the frame in the middle of a dissolve is the mean of
    the frames ``half_span_s`` before and after it, which differ a lot from each other.

    Flags a middle frame when the ends differ by at least ``min_diff`` (mean absolute difference,
    0-255) and the middle's distance to their mean is at most ``max_ratio`` of that; the cut is
    the best-fitting middle of each run of flagged frames. Push frames at a few per second.
    """

    name = "dissolve"

    def __init__(self, rate: float = 4.0, half_span_s: float = 0.5, min_diff: float = 30.0, max_ratio: float = 0.25):
        self.k = max(1, round(half_span_s * rate))
        self.min_diff = min_diff
        self.max_ratio = max_ratio
        self._buf: deque[tuple[float, np.ndarray]] = deque(maxlen=2 * self.k + 1)
        self._run: list[tuple[float, float]] = []  # (ratio, time) of flagged middles

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        small = cv2.resize(bgr, (48, 27), interpolation=cv2.INTER_AREA).astype(np.float32)
        self._buf.append((time_s, small))
        if len(self._buf) < self._buf.maxlen:  # type: ignore[operator]  # the deque is made with a maxlen
            return []
        (_, a), (tm, m), (_, b) = self._buf[0], self._buf[self.k], self._buf[-1]
        diff = float(np.abs(a - b).mean())
        if diff >= self.min_diff:
            ratio = float(np.abs(m - (a + b) / 2).mean()) / diff
            in_between = min(float(np.abs(m - a).mean()), float(np.abs(m - b).mean())) >= 0.25 * diff
            if ratio <= self.max_ratio and in_between:
                self._run.append((ratio, tm))
                return []
        return self.flush()

    def flush(self) -> list[float]:
        if not self._run:
            return []
        best = min(self._run)[1]
        self._run = []
        return [best]


class CombinedCuts:
    """Hard cuts from a full-rate detector plus gradual transitions from slower ones.

    A gradual cut closer than ``merge_s`` to a hard cut is dropped; of gradual cuts closer than
    that to each other, the one from the detector listed first wins. Cuts are held back for
    ``hold_s`` (gradual ones ``merge_s`` longer) so they come out in time order.
    """

    def __init__(self, fast: CutDetector, gradual: list[CutDetector], merge_s: float = 0.6, hold_s: float = 1.5):
        self.fast, self.gradual = fast, gradual
        self.name = fast.name
        self.merge_s, self.hold_s = merge_s, hold_s
        self._fast: list[float] = []
        self._slow: list[tuple[float, int]] = []  # (time, rank of the detector)
        self._out: list[float] = []

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        self._fast += self.fast.push(time_s, bgr)
        for rank, g in enumerate(self.gradual):
            self._slow += [(t, rank) for t in g.push(time_s, bgr)]
        return self._release(time_s)

    def _release(self, now: float) -> list[float]:
        hard = [t for t in self._fast if now - t > self.hold_s]
        self._fast = [t for t in self._fast if now - t <= self.hold_s]
        soft: list[float] = []
        keep: list[tuple[float, int]] = []
        for t, rank in self._slow:
            if now - t <= self.hold_s + self.merge_s:
                keep.append((t, rank))
            elif min((r, u) for u, r in self._slow if abs(u - t) <= self.merge_s) == (rank, t):
                soft.append(t)
        self._slow = keep
        out: list[float] = []
        for t in sorted(set(hard + soft)):
            if t not in hard and any(abs(c - t) <= self.merge_s for c in self._out + out + hard + self._fast):
                continue
            out.append(t)
        self._out = (self._out + out)[-8:]
        return out

    def flush(self) -> list[float]:
        self._fast += self.fast.flush()
        for rank, g in enumerate(self.gradual):
            self._slow += [(t, rank) for t in g.flush()]
        return self._release(float("inf"))


class TransNetV2Cuts:
    """TransNetV2 (ONNX) over sliding 100-frame windows of 48x27 RGB frames, stride 50."""

    name = "transnetv2"
    WINDOW = 100
    STRIDE = 50
    PAD = 25

    def __init__(self, model_path: Path, threshold: float = 0.5, threads: int = 0):
        from emotrace.models.onnx import session

        self._sess = session(model_path, device="cpu", threads=threads)
        self.threshold = threshold
        self._frames: list[np.ndarray] = []
        self._times: list[float] = []
        self._started = False
        self._run: list[float] = []  # times of the current run of transition frames
        self._last_time: float | None = None

    def push(self, time_s: float, bgr: np.ndarray) -> list[float]:
        rgb = cv2.cvtColor(cv2.resize(bgr, (48, 27), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        if not self._started:
            self._frames = [rgb] * self.PAD
            self._times = [time_s] * self.PAD
            self._started = True
        self._frames.append(rgb)
        self._times.append(time_s)
        cuts: list[float] = []
        while len(self._frames) >= self.WINDOW:
            cuts += self._window()
        return cuts

    def flush(self) -> list[float]:
        if not self._started:
            return []
        cuts: list[float] = []
        real = len(self._frames) - self.PAD  # frames still without a prediction
        while real > 0:
            pad = self.WINDOW - len(self._frames)
            if pad > 0:
                self._frames += [self._frames[-1]] * pad
                self._times += [float("inf")] * pad
            cuts += self._window()
            real -= self.STRIDE
        return cuts + self._close_run()

    def _window(self) -> list[float]:
        batch = np.stack(self._frames[: self.WINDOW])[None]
        single, _ = self._sess.run(None, {"frames": batch})
        probs = 1.0 / (1.0 + np.exp(-single[0, self.PAD : self.PAD + self.STRIDE]))
        times = self._times[self.PAD : self.PAD + self.STRIDE]
        del self._frames[: self.STRIDE], self._times[: self.STRIDE]
        cuts: list[float] = []
        for p, t in zip(probs.tolist(), times, strict=True):
            if t == float("inf"):
                break
            if p > self.threshold:
                self._run.append(t)
            elif self._run:
                cuts += self._close_run(next_time=t)
            self._last_time = t
        return cuts

    def _close_run(self, next_time: float | None = None) -> list[float]:
        """A run of transition frames ends: the cut is its middle (the next frame for a hard cut)."""
        if not self._run:
            return []
        run, self._run = self._run, []
        mid = len(run) // 2 + 1
        if mid < len(run):
            return [run[mid]]
        return [next_time] if next_time is not None else []
