"""A running `emotrace serve` (started by the tests on a free port), a real clip, and Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_UPLOAD_MB = 2


@dataclass
class Server:
    url: str
    data: Path
    proc: subprocess.Popen[bytes]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str) -> dict:  # type: ignore[type-arg]
        return json.loads(self.get(path)[2])

    def upload(self, name: str, data: bytes, field: str = "file") -> tuple[int, str, str]:
        """POST a multipart upload; returns (status, Location header, body)."""
        boundary = "----emotrace-test-boundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self.post("/upload", body, f"multipart/form-data; boundary={boundary}")

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str, str]:
        """POST without following redirects; returns (status, Location header, body)."""
        req = urllib.request.Request(self.url + path, data=body, method="POST", headers={"Content-Type": content_type})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=60) as r:
                return r.status, r.headers.get("Location", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode()

    def wait_done(self, job_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
        deadline = time.time() + timeout
        while time.time() < deadline:
            j = self.json(f"/api/jobs/{job_id}")
            if j["status"] in ("done", "failed"):
                return j
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def clip_mp4(crema_d: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CREMA-D 1001_DFA_HAP_XX converted to H.264/AAC MP4 (what browsers play)."""
    out = tmp_path_factory.mktemp("clip") / "1001_DFA_HAP_XX.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(crema_d / "1001_DFA_HAP_XX.flv"), "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
                    str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, emotrace_exe: str) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("serve") / "data"
    port = free_port()
    proc = subprocess.Popen(
        [emotrace_exe, "serve", "--port", str(port), "--data-dir", str(data), "--max-upload-mb", str(MAX_UPLOAD_MB),
         "--set", "stages.words.enabled=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    srv = Server(f"http://127.0.0.1:{port}", data, proc)
    deadline = time.time() + 60
    while True:
        try:
            if srv.get("/")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"emotrace serve did not start: {out}")
        time.sleep(0.3)
    yield srv
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def emotrace_exe() -> str:
    repo = Path(__file__).resolve().parents[2]
    exe = shutil.which("emotrace", path=str(repo / ".venv" / "bin")) or shutil.which("emotrace")
    assert exe, "emotrace console script not installed"
    return exe


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
