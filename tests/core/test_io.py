"""Streaming I/O on real generated media: probe, sampled frames, audio, rotation, VFR."""

from __future__ import annotations

import numpy as np
import pytest

from emotrace.errors import InputError
from emotrace.io.media import DecodeStats, iter_audio, iter_frames, load_audio, probe


def test_probe_av(media):
    info = probe(media["av"])
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(25.0)
    assert 3.8 <= info.duration_s <= 4.3
    assert info.rotation == 0


def test_frames_sampled_in_order_at_target_fps(media):
    frames = list(iter_frames(media["av"], fps=5))
    times = [f.time_s for f in frames]
    assert times == sorted(times)
    assert 19 <= len(frames) <= 21  # 4 s at 5 fps
    assert np.allclose(np.diff(times), 0.2, atol=0.041)
    rgb = frames[0].rgb()
    assert rgb.shape == (360, 640, 3) and rgb.dtype == np.uint8
    small = frames[0].rgb(max_side=320)
    assert small.shape == (180, 320, 3)
    assert frames[3].gray().shape == (360, 640)


def test_every_frame_when_fps_none(media):
    assert len(list(iter_frames(media["av"], fps=None))) == 100


def test_audio_16k_mono(media):
    audio = load_audio(media["av"])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / 16000 - probe(media["av"]).duration_s) < 0.2
    assert np.abs(audio).max() > 0.05  # real speech, not silence
    chunks = list(iter_audio(media["av"], chunk_s=1.0))
    assert all(c.size == 16000 for _, c in chunks[:-1])
    assert [s for s, _ in chunks[:3]] == [0.0, 1.0, 2.0]
    assert np.array_equal(np.concatenate([c for _, c in chunks]), audio)


def test_rotation_applied_like_ffmpeg(media):
    info = probe(media["rotated"])
    assert info.rotation == 90
    assert (info.width, info.height) == (180, 320)
    frame = next(iter_frames(media["rotated"], fps=1))
    img = frame.rgb()
    assert img.shape == (320, 180, 3)
    red = np.argwhere((img[..., 0] > 200) & (img[..., 1] < 60))
    # the red box drawn at the top-left of the stored frame shows bottom-left once rotated
    assert red[:, 0].mean() > 240 and red[:, 1].mean() < 60


def test_variable_frame_rate_sampled_on_timestamps(media):
    info = probe(media["vfr"])
    frames = list(iter_frames(media["vfr"], fps=5, info=info))
    times = np.array([f.time_s for f in frames])
    first, last = times[times < 2.0], times[times >= 2.0]
    assert len(first) == 10  # 25 fps part sampled at 5 fps
    assert 13 <= len(last) <= 16  # the 5 fps part gives every frame
    assert np.all(np.diff(times) > 0.15)


def test_audio_only_and_video_only(media):
    a = probe(media["audioonly"])
    assert a.has_audio and not a.has_video
    assert list(iter_frames(media["audioonly"], fps=5, info=a)) == []
    v = probe(media["noaudio"])
    assert v.has_video and not v.has_audio
    assert load_audio(media["noaudio"], info=v).size == 0


def test_corrupt_frames_raise_or_are_skipped(media):
    with pytest.raises(InputError, match="corrupt"):
        for _ in iter_frames(media["corrupt"], fps=5):
            pass
    stats = DecodeStats()
    frames = list(iter_frames(media["corrupt"], fps=5, tolerate_corrupt=True, stats=stats))
    assert stats.errors > 0 and len(frames) > 10


@pytest.mark.parametrize("name", ["empty", "text"])
def test_probe_rejects_non_media(media, name):
    with pytest.raises(InputError):
        probe(media[name])
