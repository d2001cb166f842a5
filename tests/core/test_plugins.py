"""A stage plug-in that fails to import is listed with its reason and named when it is asked for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def test_broken_entry_point_is_listed_and_named(emotrace_cli: list[str], tmp_path: Path) -> None:
    info = tmp_path / "broken_stage_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-stage-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[emotrace.stages]\nbroken = broken_stage_mod\n")
    (tmp_path / "broken_stage_mod.py").write_text("import module_that_does_not_exist_xyz\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([*emotrace_cli, "stages"], check=False, capture_output=True, text=True, env=env)
    assert r.returncode == 0
    line = next(x for x in r.stdout.splitlines() if "broken_stage_mod" in x)
    assert "failed to import" in line and "module_that_does_not_exist_xyz" in line
    r = subprocess.run(
        [*emotrace_cli, "config", "--set", "stages.faces.backend=broken", "--set", "stages.faces.x=1"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "broken_stage_mod" in r.stderr and "module_that_does_not_exist_xyz" in r.stderr
