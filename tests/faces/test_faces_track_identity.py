"""Tracking (ByteTrack-style association) and person clustering with real dlib embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from emotrace.faces.detect import BlazeFace, Detection
from emotrace.faces.identity import DlibEmbedder, TrackFaces, cluster_tracks
from emotrace.faces.track import Tracker
from emotrace.models.assets import resolve


def _det(x: float, y: float, s: float = 50, score: float = 0.9) -> Detection:
    return Detection((x, y, s, s), score, np.zeros((6, 2)))


def test_tracks_follow_moving_faces_and_end() -> None:
    tr = Tracker(high=0.6, max_gap_s=0.5)
    ids = []
    for k in range(10):  # two faces moving right fast (one face width per frame: boxes never overlap)
        t = k * 0.2
        i, _ = tr.update([_det(10 + 50 * k, 100), _det(10 + 50 * k, 300)], t)
        ids.append(i)
    assert all(i == ids[0] for i in ids) and ids[0] == [1, 2]
    # a low-score detection continues a track but never starts one
    i, _ = tr.update([_det(510, 100, score=0.4), _det(900, 600, score=0.4)], 2.0)
    assert i == [1, None]
    i, ended = tr.update([], 3.0)
    assert i == [] and sorted(t.id for t in ended) == [1, 2]
    i, _ = tr.update([_det(10, 100)], 3.2)
    assert i == [3]


@pytest.mark.slow
def test_dlib_embeddings_cluster_real_people(t1: np.ndarray) -> None:
    """Same face twice (different crops/scales) merges; six different people stay apart."""
    det = BlazeFace(resolve("blazeface-full-range").path, threads=1)
    emb = DlibEmbedder(resolve("dlib-shape-predictor-5").path, resolve("dlib-face-resnet").path)
    faces = sorted(det.detect(t1), key=lambda d: d.box[0])
    assert len(faces) == 6
    tracks = []
    for k, d in enumerate(faces):
        x, y, w, h = (int(v) for v in d.box)
        m = w // 2
        crop = t1[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
        tf = TrackFaces(k + 1, float(k), float(k) + 0.5, d.box[0])
        tf.offer(1.0, crop, (min(m, x), min(m, y), w, h), keep=2)
        small = np.asarray(Image.fromarray(crop).resize((crop.shape[1] * 2 // 3, crop.shape[0] * 2 // 3)))
        tf.offer(0.9, small, (min(m, x) * 2 / 3, min(m, y) * 2 / 3, w * 2 / 3, h * 2 / 3), keep=2)
        tf.embedding = emb.embed_track(tf)
        assert tf.crops == [] and tf.embedding is not None and tf.embedding.shape == (128,)
        tracks.append(tf)
    # the third person comes back later, seen again from a different crop
    x, y, w, h = (int(v) for v in faces[2].box)
    back = TrackFaces(7, 10.0, 11.0, float(x))
    back.offer(1.0, t1[y - 10 : y + h + 30, x - 30 : x + w + 10], (30, 10, w, h), keep=1)
    back.embedding = emb.embed_track(back)
    persons = cluster_tracks([*tracks, back], threshold=0.5)
    assert [persons[t.track_id] for t in tracks] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert persons[7] == "P3"


def test_tracks_together_never_merge() -> None:
    a = TrackFaces(1, 0.0, 5.0, 0.0, embedding=np.zeros(128))
    b = TrackFaces(2, 2.0, 6.0, 10.0, embedding=np.full(128, 0.01))  # near-identical, same time
    c = TrackFaces(3, 7.0, 9.0, 5.0, embedding=np.zeros(128))
    d = TrackFaces(4, 1.0, 2.0, 50.0)  # no embedding: its own person
    assert cluster_tracks([c, b, a, d]) == {1: "P1", 4: "P2", 2: "P3", 3: "P1"}
