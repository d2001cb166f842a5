"""The web app over real HTTP: uploads, limits, safe names, path traversal, error pages, a full analysis."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from emotrace.serve.names import inside, safe_filename


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("/abs/path/My Clip (1).MOV", "My_Clip_1_.MOV"),
        (".hidden.mp4", "hidden.mp4"),
        ("Café été.webm", "Cafe_ete.webm"),
        ("...", None),
        ("", None),
        ("a" * 300 + ".mp4", "a" * 76 + ".mp4"),
    ],
)
def test_safe_filename(given: str, expected: str | None) -> None:
    assert safe_filename(given) == expected


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "root" / "link").symlink_to(tmp_path / "secret.txt")
    root = tmp_path / "root"
    assert inside(root, "sub") == (root / "sub").resolve()
    for bad in ("../secret.txt", "sub/../../secret.txt", "/etc/passwd", "link", "", ".", "a\x00b"):
        assert inside(root, bad) is None, bad


def _error_text(body: str) -> str:
    assert 'id="error-message"' in body and "Traceback" not in body
    return body.split('id="error-message">', 1)[1].split("<", 1)[0]


@pytest.mark.parametrize(
    "path",
    [
        "/results/x/files/../../../../etc/passwd",
        "/results/x/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/results/..%2f..%2f..%2fetc/files/passwd",
        "/results/%2e%2e/files/serve/conftest.py",
        "/static/..%2f..%2fapp.py",
        "/results/%2fetc/video",
    ],
)
def test_no_path_traversal(server, path: str) -> None:  # type: ignore[no-untyped-def]
    (server.data / "secret.txt").write_text("root:x:0:0 secret")
    status, _, body = server.get(path)
    assert status in (400, 404)
    assert b"secret" not in body and b"root:x" not in body and b"import" not in body


def test_analyze_refuses_names_outside_data(server) -> None:  # type: ignore[no-untyped-def]
    for name in ("../../etc/passwd", "/etc/passwd", "results/../../x.mp4", "nope.mp4"):
        status, _, body = server.post("/analyze", urllib.parse.urlencode({"name": name}).encode(),
                                      "application/x-www-form-urlencoded")
        assert status == 404
        assert "no video called" in _error_text(body)


def test_bad_uploads_get_one_clear_page(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ("big.mp4", b"\0" * (3 * 1024 * 1024), 413, "larger than the 2 MB limit"),
        ("empty.mp4", b"", 400, "empty"),
        ("notes.mp4", b"this is not a video\n" * 50, 400, "notes.mp4: "),
        ("../../evil.sh", b"#!/bin/sh\n", 400, "not a video or audio file name"),
        ("", b"abc", 400, "choose a video file"),
    ]
    for name, data, status, message in cases:
        got, _, body = server.upload(name, data)
        assert got == status, (name, got, body[:300])
        assert message in _error_text(body), name
    left = {p.name for p in server.data.rglob("*") if p.is_file()}
    assert not left & {"big.mp4", "empty.mp4", "notes.mp4", "evil.sh"}, "refused uploads are removed"
    assert not [n for n in left if n.endswith(".part")]
    assert not list(server.data.parent.rglob("evil.sh"))
    status, _, body = server.post("/upload", b"not multipart", "text/plain")
    assert status == 400 and "Traceback" not in body


@pytest.mark.slow
def test_unusable_media_fails_clearly(server, clip_mp4: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    tone = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=1", "-c:a", "aac", str(tone)],
                   check=True)
    # sound alone is analysed (the picture stages say they had nothing to see)
    status, location, body = server.upload("tone.m4a", tone.read_bytes())
    assert status == 303, body[:300]
    job = server.wait_done(location.rsplit("/", 1)[1])
    assert job["status"] == "done", job

    # a truncated file passes the upload check and fails in the analysis: the job says why
    data = clip_mp4.read_bytes()
    status, location, _ = server.upload("cut.mp4", data[: len(data) // 3])
    assert status == 303
    job = server.wait_done(location.rsplit("/", 1)[1])
    assert job["status"] == "failed" and "truncated" in job["message"], job
    assert not (server.data / "results" / job["id"]).exists()  # no partial result folder
    page = server.get(location)[2].decode()
    assert "Analysing cut.mp4" in page and "Traceback" not in page


def test_not_found_pages(server) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = server.get("/no/such/page")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "nothing here" in _error_text(body.decode())
    status, headers, body = server.get("/api/jobs/nope")
    assert status == 404 and headers["content-type"].startswith("application/json") and b"no analysis" in body


@pytest.mark.slow
def test_upload_analyse_and_browse(server, clip_mp4: Path) -> None:  # type: ignore[no-untyped-def]
    status, location, _ = server.upload("../../My clip (1).mp4", clip_mp4.read_bytes())
    assert status == 303 and location.startswith("/jobs/")
    assert (server.data / "videos" / "My_clip_1_.mp4").is_file()  # safe name, inside the data folder
    job_id = location.rsplit("/", 1)[1]
    job = server.wait_done(job_id)
    assert job["status"] == "done", job
    assert "frames" in job["steps"] and job["fraction"] == 1.0

    data = server.json(f"/api/results/{job_id}")
    assert data["persons"] and "face" in data["persons"][0]["tracks"]
    names = {d["name"] for d in data["downloads"]}
    assert {"report.html", "timeline.json", "tables/faces.csv", "transcript.srt", "annotations.eaf"} <= names
    for d in data["downloads"]:
        assert server.get(d["url"])[0] == 200
    for k in data["keyframes"]:
        status, headers, _ = server.get(k["url"])
        assert status == 200 and headers["content-type"] == "image/jpeg"
    # the player can seek: byte ranges
    status, headers, body = server.get(f"/results/{job_id}/video", {"Range": "bytes=100-199"})
    assert status == 206 and len(body) == 100 and headers["content-type"] == "video/mp4"
    status, _, body = server.get("/")
    assert job_id in body.decode() and "videos/My_clip_1_.mp4" in body.decode()


def test_serve_command_bad_input(tmp_path: Path, emotrace_exe: str) -> None:
    import socket
    import subprocess

    not_dir = tmp_path / "file.txt"
    not_dir.write_text("x")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = [
            (["--data-dir", str(not_dir)], "--data-dir is not a folder"),
            (["--data-dir", str(tmp_path / "d"), "--port", str(port)], "cannot listen there"),
        ]
        for args, message in cases:
            r = subprocess.run([emotrace_exe, "serve", *args], capture_output=True, text=True, timeout=60, check=False)
            assert r.returncode == 2, (args, r.stderr)
            assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.slow
def test_choose_a_video_from_the_data_folder(server, clip_mp4: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.copy(clip_mp4, server.data / "my chosen (1).mp4")  # put there by the user: any name
    assert 'value="my chosen (1).mp4"' in server.get("/")[2].decode()
    body = urllib.parse.urlencode({"name": "my chosen (1).mp4"}).encode()
    status, location, _ = server.post("/analyze", body, "application/x-www-form-urlencoded")
    assert status == 303 and "/jobs/my_chosen_1-" in location
    job = server.wait_done(location.rsplit("/", 1)[1])
    assert job["status"] == "done", job
    page = server.get(job["result_url"])[2].decode()
    assert f'src="/results/{job["id"]}/video"' in page and 'id="plot"' in page


# ---- other pages cannot drive the server (issue 20) --------------------------------------------
def _raw(server, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    import http.client

    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_foreign_host_is_refused(server) -> None:  # type: ignore[no-untyped-def]
    status, _, body = _raw(server, "GET", "/", {"Host": "evil.example"})
    assert status == 421 and b"answers only to" in body
    status, _, _ = _raw(server, "GET", "/api/results/x", {"Host": "evil.example:8765"})
    assert status == 421
    for host in ("localhost", f"127.0.0.1:{server.url.rsplit(':', 1)[1]}"):
        assert _raw(server, "GET", "/", {"Host": host})[0] == 200, host


def test_cross_origin_posts_are_refused(server, clip_mp4: Path) -> None:  # type: ignore[no-untyped-def]
    port = server.url.rsplit(":", 1)[1]
    form = urllib.parse.urlencode({"name": "nope.mp4"}).encode()
    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
    for extra in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                  {"Sec-Fetch-Site": "cross-site", "Origin": f"http://127.0.0.1:{port}"},
                  {"Referer": "http://evil.example/page.html"}):  # fmt: skip
        status, _, body = _raw(server, "POST", "/analyze", {"Host": f"127.0.0.1:{port}", **ctype, **extra}, form)
        assert status == 403, (extra, body[:200])
    before = set((server.data / "videos").iterdir())
    boundary = "b0undary"
    upload = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n\r\n').encode() + \
        clip_mp4.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    status, _, _ = _raw(server, "POST", "/upload", {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example",
                        "Content-Type": f"multipart/form-data; boundary={boundary}"}, upload)  # fmt: skip
    assert status == 403 and set((server.data / "videos").iterdir()) == before
    # the server's own page (same origin) and non-browser clients still work
    status, _, _ = _raw(server, "POST", "/analyze", {"Host": f"127.0.0.1:{port}", **ctype,
                        "Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, form)  # fmt: skip
    assert status == 404  # passed the guard: "no video called nope.mp4"


def test_security_headers(server) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/static/app.css", "/no/such/page"):
        _, headers, _ = server.get(path)
        headers = {k.lower(): v for k, v in headers.items()}
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_chunked_upload_stops_at_the_limit(server) -> None:  # type: ignore[no-untyped-def]
    """A chunked upload (no Content-Length) of 8x the limit: refused with 413, and neither the
    data folder nor /tmp ever holds more than the limit of it."""
    import http.client
    import shutil
    import tempfile
    import threading

    from tests.serve.conftest import MAX_UPLOAD_MB

    limit = MAX_UPLOAD_MB * 2**20
    port = int(server.url.rsplit(":", 1)[1])
    watch = [server.data, Path(tempfile.gettempdir())]
    peak = {"bytes": 0}
    stop = threading.Event()

    def parts() -> int:
        total = 0
        for d in watch:
            for p in d.rglob("*"):
                try:
                    if p.is_file() and (p.suffix == ".part" or p.name.startswith(("tmp", "spooled"))):
                        total += p.stat().st_size
                except OSError:
                    pass
        return total

    def monitor() -> None:
        while not stop.is_set():
            peak["bytes"] = max(peak["bytes"], parts())
            time.sleep(0.05)

    import time

    t = threading.Thread(target=monitor, daemon=True)
    t.start()
    boundary = "chunky"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.putrequest("POST", "/upload")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()

    def chunk(b: bytes) -> None:
        conn.send(f"{len(b):x}\r\n".encode() + b + b"\r\n")

    try:
        chunk(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'.encode())
        block = b"\0" * (256 * 1024)
        for _ in range(8 * limit // len(block)):
            chunk(block)
        chunk(f"\r\n--{boundary}--\r\n".encode())
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        status, body = r.status, r.read().decode()
    except (BrokenPipeError, ConnectionResetError):
        status, body = 413, ""  # the server may stop reading once it has refused
    finally:
        conn.close()
        stop.set()
        t.join()
    assert status == 413, body[:300]
    assert peak["bytes"] <= limit + 64 * 1024, peak
    assert not [p for p in server.data.rglob("*.part")]
    assert shutil.disk_usage(server.data)  # the data folder is still there
