"""ELAN ``.eaf`` export (EAF 3.0): one tier per person and modality, plus transcript tiers.

Emotion tiers carry the dominant label and its confidence (``happy (0.82)``) per interval;
transcript tiers carry each utterance's text. Times are time slots in milliseconds.
"""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from emotrace.model import Timeline
from emotrace.report.series import MODALITIES, emotion_series, person_key, speaker_key
from emotrace.report.writers import write_text_atomic

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
Span = tuple[int, int, str]


def _merge(points: list[tuple[float, float, str, float]]) -> list[tuple[float, float, str, float]]:
    """Join consecutive points with the same label (confidence: duration-weighted mean)."""
    out: list[list[float | str]] = []
    for a, b, lab, c in points:
        if out and out[-1][2] == lab and a - float(out[-1][1]) < 0.5:
            prev = out[-1]
            d0, d1 = float(prev[1]) - float(prev[0]), b - a
            prev[3] = (float(prev[3]) * d0 + c * d1) / max(d0 + d1, 1e-9)
            prev[1] = b
        else:
            out.append([a, b, lab, c])
    return [(float(a), float(b), str(lab), float(c)) for a, b, lab, c in out]


def eaf_tiers(tl: Timeline) -> dict[tuple[str, str], list[Span]]:
    """``{(person, tier kind): [(start_ms, end_ms, value), ...]}`` with non-overlapping spans."""
    tiers: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
    for iv in tl.intervals:
        tiers[(person_key(iv.person_id), iv.modality)].append((iv.start_s, iv.end_s, f"{iv.emotion} ({iv.confidence:.2f})"))
    for person, ps in emotion_series(tl).items():
        for mod, pts in ps.modalities.items():
            if (person, mod) in tiers or not pts:
                continue
            merged = _merge([(p.start_s, p.end_s, p.scores.label, p.scores.confidence) for p in pts])
            tiers[(person, mod)] = [(a, b, f"{lab} ({c:.2f})") for a, b, lab, c in merged]
    for u in tl.utterances:
        if u.text.strip():
            tiers[(speaker_key(tl, u.person_id, u.speaker_id), "transcript")].append((u.start_s, u.end_s, u.text.strip()))
    out: dict[tuple[str, str], list[Span]] = {}
    order = {m: i for i, m in enumerate((*MODALITIES, "transcript"))}
    for key in sorted(tiers, key=lambda k: (k[0], order.get(k[1], 99), k[1])):
        spans: list[Span] = []
        for a, b, val in sorted(tiers[key]):
            s, e = round(a * 1000), round(b * 1000)
            if spans and s < spans[-1][1]:
                s = spans[-1][1]
            if e > s:
                spans.append((s, e, val))
        if spans:
            out[key] = spans
    return out


def eaf_document(tl: Timeline, media: Path | None = None) -> ET.ElementTree:
    """The EAF 3.0 XML tree for ``tl`` (``media``: the video to link in the header)."""
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": "emotrace",
            "DATE": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "FORMAT": "3.0",
            "VERSION": "3.0",
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": EAF_SCHEMA,
        },
    )
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    media = media or Path(tl.video.path)
    ET.SubElement(
        header,
        "MEDIA_DESCRIPTOR",
        {"MEDIA_URL": media.resolve().as_uri(), "MIME_TYPE": "video/mp4" if media.suffix == ".mp4" else "video/*",
         "RELATIVE_MEDIA_URL": media.name},
    )
    tiers = eaf_tiers(tl)
    n_ann = sum(len(v) for v in tiers.values())
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(n_ann)
    time_order = ET.SubElement(root, "TIME_ORDER")
    slot_ids: dict[int, str] = {}
    for ms in sorted({t for spans in tiers.values() for s, e, _ in spans for t in (s, e)}):
        slot_ids[ms] = f"ts{len(slot_ids) + 1}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": slot_ids[ms], "TIME_VALUE": str(ms)})
    ann = 0
    for (person, kind), spans in tiers.items():
        lt = "transcript" if kind == "transcript" else "emotion"
        tier = ET.SubElement(
            root, "TIER", {"LINGUISTIC_TYPE_REF": lt, "PARTICIPANT": person, "TIER_ID": f"{person} {kind}"}
        )
        for s, e, val in spans:
            ann += 1
            a = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"a{ann}", "TIME_SLOT_REF1": slot_ids[s], "TIME_SLOT_REF2": slot_ids[e]})
            ET.SubElement(a, "ANNOTATION_VALUE").text = val
    for lt in ("emotion", "transcript"):
        ET.SubElement(
            root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": lt, "TIME_ALIGNABLE": "true"}
        )
    ET.indent(root)
    return ET.ElementTree(root)


def write_eaf(tl: Timeline, out: Path, video: Path | None = None) -> None:
    """Write ``annotations.eaf`` for ELAN."""
    doc = eaf_document(tl, video)
    root = doc.getroot()
    assert root is not None  # eaf_document builds the root
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    write_text_atomic(out / "annotations.eaf", '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
