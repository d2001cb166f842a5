"""Static plots for the HTML report, rendered by matplotlib to inline SVG text.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot global state), so
reports can be rendered from worker threads, such as the web viewer's analysis jobs.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from emotrace.report.series import PersonSeries, Point, label_colour

P = ParamSpec("P")
R = TypeVar("R")
STYLE = {"svg.fonttype": "none", "font.size": 8, "axes.titlesize": 9}


def _styled(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a plot function under the report's matplotlib style."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # stubs want each key as a Literal rcParam name
            return fn(*args, **kwargs)

    return wrapper


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _steps(pts: list[Point], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Step-function samples of the label probabilities, zero in gaps between estimates."""
    t: list[float] = []
    rows: list[list[float]] = []
    zero = [0.0] * len(labels)
    for k, p in enumerate(pts):
        t.append(p.start_s)
        rows.append([float(p.scores.probs.get(lab, 0.0)) for lab in labels])
        nxt = pts[k + 1].start_s if k + 1 < len(pts) else None
        if nxt is None or nxt > p.end_s + 1e-3:
            t.append(p.end_s)
            rows.append(zero)
    return np.asarray(t), np.asarray(rows).T.reshape(len(labels), -1)


@_styled
def person_timeline_svg(ps: PersonSeries, labels: list[str], duration_s: float) -> str:
    """Stacked label probabilities over time, one row per modality, plus valence/arousal."""
    mods = list(ps.modalities)
    fig = Figure(figsize=(9, 1.05 * len(mods) + 1.5))
    axes = fig.subplots(len(mods) + 1, 1, sharex=True, squeeze=False)
    for ax, mod in zip(axes[:-1, 0], mods, strict=True):
        t, probs = _steps(ps.modalities[mod], labels)
        if len(t):
            ax.stackplot(t, probs, colors=[label_colour(lab, labels) for lab in labels], step="post", lw=0)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_ylabel(mod, rotation=0, ha="right", va="center")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    ax = axes[-1, 0]
    for mod in mods:
        pts = ps.modalities[mod]
        mids = [p.mid_s for p in pts]
        val = [np.nan if p.scores.valence is None else p.scores.valence for p in pts]
        aro = [np.nan if p.scores.arousal is None else p.scores.arousal for p in pts]
        style = "-" if mod == "fused" else ":"
        ax.plot(mids, val, style, color="#2b8cbe", lw=1.2 if mod == "fused" else 0.8, label=f"valence {mod}")
        ax.plot(mids, aro, style, color="#e34a33", lw=1.2 if mod == "fused" else 0.8, label=f"arousal {mod}")
    ax.axhline(0, color="#bbbbbb", lw=0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("V / A", rotation=0, ha="right", va="center")
    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=6, ncol=4, loc="upper left", bbox_to_anchor=(0, -0.35), frameon=False)
    handles = [Rectangle((0, 0), 1, 1, color=label_colour(lab, labels)) for lab in labels]
    fig.legend(handles, labels, ncol=len(labels), loc="upper center", fontsize=7, frameon=False)
    fig.subplots_adjust(hspace=0.15, top=1 - 0.35 / fig.get_figheight())
    return _svg(fig)


@_styled
def circumplex_svg(series: dict[str, PersonSeries], labels: list[str]) -> str:
    """Valence/arousal of every estimate on the circumplex plane, one marker per modality."""
    fig = Figure(figsize=(3.6, 3.6))
    ax = fig.subplots()
    markers = {"face": "o", "voice": "s", "text": "^", "fused": "D"}
    for ps in series.values():
        for mod, pts in ps.modalities.items():
            va = [p.scores for p in pts if p.scores.valence is not None and p.scores.arousal is not None]
            xs = [float(s.valence or 0.0) for s in va]
            ys = [float(s.arousal or 0.0) for s in va]
            cs = [label_colour(s.label, labels) for s in va]
            ax.scatter(xs, ys, c=cs, s=12, marker=markers.get(mod, "o"), alpha=0.7, linewidths=0,
                       label=f"{ps.person} {mod}")
    ax.axhline(0, color="#bbbbbb", lw=0.5)
    ax.axvline(0, color="#bbbbbb", lw=0.5)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.set_aspect("equal")
    if ax.collections:
        ax.legend(fontsize=6, loc="lower right", frameon=False)
    return _svg(fig)


@_styled
def transitions_svg(rows: list[dict[str, Any]], person: str, modality: str, labels: list[str]) -> str | None:
    """Heatmap of transition probabilities from one emotion to the next (``tables["transitions"]``)."""
    sel = [r for r in rows if str(r.get("person_id")) == person and r.get("modality") == modality]
    if not sel:
        return None
    present = [lab for lab in labels if any(lab in (r.get("from_emotion"), r.get("to_emotion")) for r in sel)]
    idx = {lab: i for i, lab in enumerate(present)}
    m = np.zeros((len(present), len(present)))
    counts = np.zeros_like(m)
    for r in sel:
        i, j = idx.get(str(r.get("from_emotion"))), idx.get(str(r.get("to_emotion")))
        if i is not None and j is not None:
            m[i, j] = float(r.get("probability") or 0.0)
            counts[i, j] = float(r.get("count") or 0)
    size = 1.2 + 0.38 * len(present)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(present)), present, rotation=45, ha="right")
    ax.set_yticks(range(len(present)), present)
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.set_title(f"{person} · {modality}")
    for i in range(len(present)):
        for j in range(len(present)):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=6,
                        color="white" if m[i, j] > 0.5 else "black")
    return _svg(fig)


@_styled
def au_heatmap_svg(times: np.ndarray, values: np.ndarray, names: list[str], duration_s: float, title: str) -> str:
    """Action-unit intensities (rows) over time (columns) of one person, as a heat map."""
    fig = Figure(figsize=(9, 0.18 * len(names) + 1.0))
    ax = fig.subplots()
    edges = np.concatenate([times, [times[-1] + (times[-1] - times[-2] if len(times) > 1 else 0.4)]])
    ax.pcolormesh(edges, np.arange(len(names) + 1), values, cmap="magma", vmin=0, vmax=1, shading="flat")
    ax.set_yticks(np.arange(len(names)) + 0.5, names)
    ax.invert_yaxis()
    ax.set_xlim(0, max(duration_s, float(edges[-1])))
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    return _svg(fig)


@_styled
def voice_features_svg(rows: list[dict[str, Any]], duration_s: float) -> str | None:
    """Pitch (mean ± SD per window) and loudness over time, one colour per speaker."""
    wins = [r for r in rows if r.get("kind") == "window" and r.get("pitch_mean_hz") is not None]
    if not wins:
        return None
    fig = Figure(figsize=(9, 3.2))
    a, b = fig.subplots(2, 1, sharex=True)
    speakers = sorted({str(r.get("speaker_id")) for r in wins})
    for k, spk in enumerate(speakers):
        rs = [r for r in wins if str(r.get("speaker_id")) == spk]
        t = np.array([0.5 * (r["start_s"] + r["end_s"]) for r in rs])
        m = np.array([r["pitch_mean_hz"] for r in rs], float)
        sd = np.array([r.get("pitch_sd_hz") or 0.0 for r in rs], float)
        colour = f"C{k % 10}"
        a.errorbar(t, m, yerr=sd, fmt="o", ms=3, color=colour, label=spk, elinewidth=0.8)
        b.plot(t, [r.get("loudness_db") for r in rs], "o-", ms=3, color=colour)
    a.set_ylabel("pitch (Hz)")
    b.set_ylabel("loudness (dB)")
    b.set_xlabel("time (s)")
    b.set_xlim(0, duration_s)
    a.legend(fontsize=7, frameon=False, ncol=len(speakers))
    return _svg(fig)
