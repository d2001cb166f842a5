"""The stage contract (issue 23 item 1): declared reads/writes, typed channels, the flow check.

Real stages and real runs: a plug-in stage that reads what a later stage writes is refused
with one line; a stage whose needs no enabled stage writes is skipped with the reason in
the provenance; channels refuse undeclared writers and values of the wrong type.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emotrace.config import load_config
from emotrace.io.media import probe
from emotrace.pipeline import Context, analyze, new_timeline, null_hook, plan_stages
from emotrace.stage import CHANNELS, SHOT_CUTS, SLOT_ORDER, TIMELINE_FIELDS, available, check_flow


def test_contract_module_does_not_import_the_runner() -> None:
    code = "import sys, emotrace.stage; sys.exit('emotrace.pipeline' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_builtin_declarations_name_fields_and_channels() -> None:
    stages = available()
    assert stages
    for (slot, backend), cls in stages.items():
        for name in (*cls.reads, *cls.needs, *cls.writes):
            assert name in TIMELINE_FIELDS or name in CHANNELS, (slot, backend, name)
        assert set(cls.needs) <= set(cls.reads), (slot, backend)
    # every channel has a declared writer among the built-in stages
    written = {n for cls in stages.values() for n in cls.writes}
    assert set(CHANNELS) <= written


def test_default_plan_passes_the_flow_check(media: dict[str, Path]) -> None:
    cfg = load_config()
    info = probe(media["av"])
    tl = new_timeline(info, cfg)
    stages = plan_stages(cfg, info, tl)
    kept, skipped = check_flow(stages)
    assert [s.slot for s in kept] == [s.slot for s in stages] and not skipped
    assert [s.slot for s in stages] == [s for s in SLOT_ORDER if s in {x.slot for x in stages}]


def test_audio_only_states_why_link_is_skipped(media: dict[str, Path]) -> None:
    tl = analyze(media["audioonly"], config=load_config(overrides=["stages.highlights.enabled=false"]))
    link = next(s for s in tl.provenance.stages if s.name == "link")
    assert link.status == "skipped" and link.message is not None and "needs faces" in link.message
    assert tl.speech  # the rest of the audio analysis ran
    # a default stage skipped for a reason already stated (no video) adds no note of its own
    assert not any(w.startswith("stage link") for w in tl.provenance.warnings)


PLUGIN = '''
from emotrace.stage import Stage, register

@register
class LateReader(Stage):
    slot = "keyframes"
    backend = "late-reader"
    kind = "frames"
    reads = ("windows",)
    def process_frame(self, ctx, frame):
        pass
'''


def test_stage_reading_what_a_later_stage_writes_is_refused(
    emotrace_cli: list[str], media: dict[str, Path], tmp_path: Path
) -> None:
    info = tmp_path / "late_reader_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late-reader-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[emotrace.stages]\nlate = late_reader_mod\n")
    (tmp_path / "late_reader_mod.py").write_text(PLUGIN)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = tmp_path / "out"
    r = subprocess.run(
        [*emotrace_cli, "analyze", str(media["noaudio"]), "-o", str(out), "-q", "--set", "stages.keyframes.backend=late-reader"],
        check=False, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "keyframes (late-reader) reads windows" in lines[0] and "fusion" in lines[0]
    assert not out.exists()
    listing = subprocess.run([*emotrace_cli, "stages"], check=True, capture_output=True, text=True, env=env).stdout
    assert "reads windows" in listing and "writes windows, tables" in listing


def test_channels_check_writer_and_type(media: dict[str, Path]) -> None:
    cfg = load_config()
    info = probe(media["av"])
    tl = new_timeline(info, cfg)
    ctx = Context(media["av"], info, cfg, tl, None, null_hook)
    stages = plan_stages(cfg, info, tl)
    ctx.declare(stages)
    with pytest.raises(TypeError, match="holds list"):
        ctx.put(SHOT_CUTS, "not a list")  # type: ignore[arg-type]  # the wrong type on purpose
    ctx.put(SHOT_CUTS, [1.0])
    assert ctx.get(SHOT_CUTS) == [1.0]
    ctx.declare([s for s in stages if s.slot != "shots"])
    with pytest.raises(TypeError, match="written by no planned stage"):
        ctx.put(SHOT_CUTS, [2.0])
