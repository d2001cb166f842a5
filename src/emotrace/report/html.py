"""The self-contained HTML report (``report.html``): inline CSS, inline SVG plots, base64 images.

It opens offline: no CDN, no external file. Every section copes with empty record lists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.model import Timeline
from emotrace.report import plots
from emotrace.report.images import data_uri, file_data_uri, grab_frames
from emotrace.report.series import emotion_series, fmt_clock, label_colour, speaker_key
from emotrace.report.writers import write_text_atomic

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}
nav{padding:6px 24px;background:#eceff1;font-size:13px}nav a{margin-right:12px;color:#37474f}
main{padding:8px 24px 40px;max-width:1200px}section{margin:18px 0}h2{font-size:17px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:6px 0;display:block;overflow-x:auto;max-width:100%}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left}
th{background:#f0f0f0}tr.mismatch td{background:#fff3e0}.muted{color:#888;font-size:13px}
.chip{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:11px;margin-right:4px}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;
padding:6px;width:330px;font-size:12px}.card img{width:100%;border-radius:4px}
.utt{padding:4px 8px;margin:3px 0;border-left:6px solid #ccc;background:#fff;font-size:14px}
.utt .meta{color:#666;font-size:11px;margin-right:8px}svg{max-width:100%;height:auto}
.legend span{margin-right:10px;font-size:12px}
"""


def _chip(label: str | None, labels: list[str], text: str | None = None) -> str:
    if label is None:
        return '<span class="muted">–</span>'
    return f'<span class="chip" style="background:{label_colour(label, labels)}">{escape(text or label)}</span>'


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return escape(str(v))


def _table(rows: Iterable[dict[str, Any]], cols: list[str], row_class: Any = None) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cls = f' class="{row_class(r)}"' if row_class and row_class(r) else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _summary(tl: Timeline) -> str:
    v = tl.video
    facts = [
        ("file", Path(v.path).name),
        ("duration", f"{v.duration_s:.1f} s"),
        ("picture", f"{v.width}×{v.height} @ {v.fps:.2f} fps" if v.has_video and v.width and v.fps else "none"),
        ("sound", f"{v.audio_codec} {v.audio_sample_rate} Hz" if v.has_audio else "none"),
        ("persons", str(len(tl.persons))),
        ("face observations", str(len(tl.faces))),
        ("speech segments", str(len(tl.speech))),
        ("utterances", str(len(tl.utterances))),
        ("shots", str(len(tl.shots))),
    ]
    out = ["<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(x)}</td></tr>" for k, x in facts) + "</table>"]
    rows = tl.tables.get("summary") or []
    if rows:
        cols: list[str] = [c for c in ("person_id", "modality", "dominant_emotion", "duration_s", "mean_valence", "mean_arousal",
                            "volatility", "n_intervals", "transitions_per_min") if c in rows[0]]
        out.append(_table(rows, cols))
    if tl.provenance.warnings:
        out.append("<p class='muted'>Notes: " + "<br>".join(escape(w) for w in tl.provenance.warnings) + "</p>")
    return "\n".join(out)


def _persons(tl: Timeline, out_dir: Path | None) -> str:
    series = emotion_series(tl)
    if not series:
        return "<p class='muted'>No emotion estimates in this result.</p>"
    legend = "<p class='legend'>" + "".join(_chip(lab, tl.labels) for lab in tl.labels) + "</p>"
    parts = [legend]
    thumbs = {p.id: p.thumbnail for p in tl.persons if p.thumbnail}
    for person, ps in series.items():
        img = ""
        if out_dir is not None and person in thumbs:
            uri = file_data_uri(out_dir / str(thumbs[person]), 96)
            img = f'<img src="{uri}" alt="{escape(person)}" style="height:64px;vertical-align:middle"> ' if uri else ""
        svg = plots.person_timeline_svg(ps, tl.labels, tl.video.duration_s)
        parts.append(f'<h3 id="person-{escape(person)}">{img}{escape(person)}</h3><div class="plot">{svg}</div>')
    parts.append("<h3>Valence and arousal</h3>" + plots.circumplex_svg(series, tl.labels))
    return "\n".join(parts)


def _transitions(tl: Timeline) -> str:
    rows = tl.tables.get("transitions") or []
    keys = sorted({(str(r.get("person_id")), str(r.get("modality"))) for r in rows})
    svgs = [s for p, m in keys if (s := plots.transitions_svg(rows, p, m, tl.labels))]
    if not svgs:
        return "<p class='muted'>No transitions table.</p>"
    return '<div class="gallery">' + "".join(f"<div>{s}</div>" for s in svgs) + "</div>"


def _mismatch(tl: Timeline) -> str:
    rows = tl.tables.get("mismatch") or []
    if not rows:
        return "<p class='muted'>No mismatch table.</p>"
    cols = [c for c in rows[0] if not c.endswith("_confidence") or c == "fused_confidence"]
    n = sum(1 for r in rows if r.get("mismatch"))
    note = f"<p>{n} of {len(rows)} intervals where the modalities disagree (highlighted).</p>"
    return note + _table(rows[:500], cols, lambda r: "mismatch" if r.get("mismatch") else "")


def _highlights(tl: Timeline, out_dir: Path | None, video: Path | None) -> str:
    if not tl.highlights:
        return "<p class='muted'>No highlights.</p>"
    mids = [round(0.5 * (h.start_s + h.end_s), 3) for h in tl.highlights]
    frames = grab_frames(video, mids, tl.video.rotation) if video is not None and tl.video.has_video else {}
    cards = []
    for h, mid in zip(tl.highlights, mids, strict=True):
        img = f'<img src="{data_uri(frames[mid])}" alt="highlight at {mid:.1f} s">' if mid in frames else ""
        if not img and tl.keyframes and out_dir is not None:
            kf = min(tl.keyframes, key=lambda k: abs(k.time_s - mid))
            uri = file_data_uri(out_dir / kf.path) if kf.path else None
            img = f'<img src="{uri}" alt="nearest keyframe">' if uri else ""
        clip = f' · <a href="{escape(h.clip)}">clip</a>' if h.clip else ""
        cards.append(
            f'<div class="card highlight">{img}<div><b>{fmt_clock(h.start_s)}–{fmt_clock(h.end_s)}</b> '
            f"score {h.score:.2f} · {escape(h.person_id or 'scene')} · {escape(h.reason or '')}{clip}</div></div>"
        )
    return '<div class="gallery">' + "".join(cards) + "</div>"


def _description(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    parts = []
    for k, v in d.items():
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        parts.append(f"<div><b>{escape(str(k))}</b>: {escape(text[:600])}</div>")
    return "".join(parts)


def _keyframes(tl: Timeline, out_dir: Path | None) -> str:
    cards = []
    for k in tl.keyframes:
        uri = file_data_uri(out_dir / k.path) if out_dir is not None and k.path else None
        img = f'<img src="{uri}" alt="keyframe at {k.time_s:.1f} s">' if uri else "<p class='muted'>image missing</p>"
        cards.append(
            f'<div class="card keyframe">{img}<div><b>{fmt_clock(k.time_s)}</b> shot {k.shot_index} · '
            f"{escape(k.reason)}</div>{_description(k.description)}</div>"
        )
    return '<div class="gallery">' + "".join(cards) + "</div>" if cards else "<p class='muted'>No keyframes.</p>"


def _transcript(tl: Timeline) -> str:
    if not tl.utterances:
        return "<p class='muted'>No transcript (no speech recognised, or the words stage did not run).</p>"
    out = []
    for u in tl.utterances:
        em = u.emotion if u.emotion and u.emotion.probs else None
        colour = label_colour(em.label if em else None, tl.labels)
        who = speaker_key(tl, u.person_id, u.speaker_id)
        tag = _chip(em.label, tl.labels, f"{em.label} {em.confidence:.0%}") if em else ""
        trans = f" <i class='muted'>({escape(u.translation)})</i>" if u.translation and u.translation != u.text else ""
        out.append(
            f'<div class="utt" style="border-left-color:{colour}"><span class="meta">{fmt_clock(u.start_s)} '
            f"{escape(who)}</span>{tag}{escape(u.text)}{trans}</div>"
        )
    return "\n".join(out)


def _action_units(tl: Timeline) -> str:
    from emotrace.faces.aus import AU_MAP, AU_NAMES

    by_person: dict[str, list[tuple[float, dict[str, float]]]] = {}
    for f in tl.faces:
        if f.aus and f.person_id:
            by_person.setdefault(f.person_id, []).append((f.time_s, f.aus))
    if not by_person:
        return "<p class='muted'>No action units (no face mesh in this result).</p>"
    note = ("<p class='muted'>Derived from the face landmarker's blendshapes and mesh by a documented mapping "
            "(<code>emotrace.faces.aus</code>), not coded by a trained action-unit model.</p>")  # fmt: skip
    parts = [note]
    for pid in sorted(by_person, key=lambda p: (len(p), p)):
        obs = sorted(by_person[pid], key=lambda x: x[0])
        names = [au for au in AU_NAMES if any(au in o for _, o in obs)]
        values = np.array([[o.get(au, np.nan) for _, o in obs] for au in names], float)
        labels = [f"{au.upper()} {AU_MAP[au][0]}" for au in names]
        svg = plots.au_heatmap_svg(np.array([t for t, _ in obs]), values, labels, tl.video.duration_s, pid)
        parts.append(f'<div class="plot">{svg}</div>')
    rows = tl.tables.get("au_summary") or []
    if rows:
        parts.append(_table(rows, ["person_id", "au", "name", "n", "mean", "p90", "active_share"]))
    return "\n".join(parts)


def _voice_quality(tl: Timeline) -> str:
    rows = tl.tables.get("voice_features") or []
    if not rows:
        return "<p class='muted'>No voice features (no speech, or the voice-quality library is not installed).</p>"
    svg = plots.voice_features_svg(rows, tl.video.duration_s)
    segs = [r for r in rows if r.get("kind") == "segment"]
    cols = ["start_s", "end_s", "speaker_id", "pitch_mean_hz", "pitch_sd_hz", "pitch_range_st", "jitter_local",
            "shimmer_local", "hnr_db", "f1_hz", "f2_hz", "f3_hz", "loudness_db", "speech_rate_syl_s"]  # fmt: skip
    return (f'<div class="plot">{svg}</div>' if svg else "") + _table(segs[:300], cols)


def _provenance(tl: Timeline) -> str:
    p = tl.provenance
    models = [m.model_dump() for m in p.models]
    for m in models:
        m["sha256"] = (m.get("sha256") or "")[:16]
    parts = [
        f"<p>emotrace {escape(p.emotrace_version)} · created {escape(p.created)}</p>",
        "<h3>Models</h3>" + (_table(models, ["name", "source", "sha256"]) if models else "<p class='muted'>none</p>"),
        "<h3>Stages</h3>" + _table([s.model_dump() for s in p.stages], ["name", "backend", "status", "seconds", "message"]),
        "<h3>Versions</h3>" + _table([{"package": k, "version": v} for k, v in p.versions.items()], ["package", "version"]),
    ]
    return "\n".join(parts)


def render_html(tl: Timeline, out_dir: Path | None = None, video: Path | None = None) -> str:
    """The full report as one HTML string (``out_dir``: result folder holding keyframes/)."""
    sections = [
        ("summary", "Summary", _summary(tl)),
        ("timelines", "Emotion timelines", _persons(tl, out_dir)),
        ("aus", "Action units", _action_units(tl)),
        ("voicequality", "Voice quality", _voice_quality(tl)),
        ("transitions", "Transitions", _transitions(tl)),
        ("mismatch", "Where modalities disagree", _mismatch(tl)),
        ("highlights", "Highlights", _highlights(tl, out_dir, video)),
        ("keyframes", "Keyframes", _keyframes(tl, out_dir)),
        ("transcript", "Transcript", _transcript(tl)),
        ("provenance", "Models and versions", _provenance(tl)),
    ]
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{escape(title)}</h2>{html}</section>' for sid, title, html in sections)
    name = escape(Path(tl.video.path).name)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>emotrace · {name}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head><body>'
        f"<header><h1>emotrace report · {name}</h1><p>{tl.video.duration_s:.1f} s · {len(tl.persons)} person(s) · "
        f"labels: {escape(', '.join(tl.labels))}</p></header><nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def source_video(tl: Timeline, video: Path | None) -> Path | None:
    """The source video when it can still be read (given, or the path recorded in the timeline)."""
    for cand in (video, Path(tl.video.path)):
        if cand is not None and cand.is_file():
            return cand
    return None


def write_html(tl: Timeline, out: Path, video: Path | None = None) -> None:
    """Write ``report.html`` into the result folder ``out``."""
    write_text_atomic(out / "report.html", render_html(tl, out, source_video(tl, video)))
