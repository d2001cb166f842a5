"""The local web app: upload or choose a video, follow the analysis, browse the result.

Layout of the data folder: videos live in ``DATA/`` or ``DATA/videos/`` (uploads go to the
latter), results in ``DATA/results/<id>/``. Every path from a request is checked to stay
inside its folder; every failure answers one HTML error page (JSON under ``/api``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from emotrace.config import load_config
from emotrace.errors import EmotraceError, InputError
from emotrace.model import Timeline
from emotrace.serve import pages
from emotrace.serve.data import viewer_payload
from emotrace.serve.jobs import JobManager
from emotrace.serve.names import inside, is_media_name, safe_filename
from emotrace.serve.security import GuardMiddleware, allowed_hosts
from emotrace.serve.upload import UploadError, receive_upload

STATIC = Path(__file__).parent / "static"
RESULT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
MULTIPART_SLACK = 64 * 1024
FORM_LIMIT = 16 * 1024
DRAIN_LIMIT = 2 << 30  # bytes of a refused upload read before answering


class Failure(HTTPException):
    """An expected failure: status code, a short title and a one-line message for the user."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(status_code=status, detail=message)
        self.title = title


def create_app(
    data_dir: Path,
    max_upload_mb: int = 500,
    overrides: list[str] | None = None,
    host: str = "127.0.0.1",
    allow_hosts: list[str] | None = None,
) -> FastAPI:
    """Build the app serving ``data_dir`` (created if missing), answering to localhost names,
    ``host`` (the address it listens on) and ``allow_hosts``."""
    data_dir = data_dir.resolve()
    videos_dir, results_dir = data_dir / "videos", data_dir / "results"
    for d in (videos_dir, results_dir):
        d.mkdir(parents=True, exist_ok=True)
    config = load_config(None, overrides)  # fail at start-up, not per job, on a bad override
    jobs = JobManager(results_dir, overrides)
    max_bytes = max_upload_mb * 1024 * 1024

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(title="emotrace", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.jobs = jobs
    app.add_middleware(GuardMiddleware, hosts=allowed_hosts(host, allow_hosts or []))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ---- errors: one page each, never a traceback -------------------------------------------
    def _error(request: Request, status: int, title: str, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return HTMLResponse(pages.error_page(status, title, message), status_code=status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Upload too large"}
        title = getattr(exc, "title", None) or titles.get(exc.status_code, "Request failed")
        detail = exc.detail if isinstance(exc.detail, str) else "the request could not be handled"
        if exc.status_code == 404 and not isinstance(exc, Failure):
            detail = f"nothing here: {request.url.path}"
        return _error(request, exc.status_code, title, detail)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        return _error(request, 400, "Bad request", "the form was incomplete or malformed")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return _error(request, 500, "Internal error", f"{type(exc).__name__}: {str(exc)[:300]}")

    # ---- helpers -------------------------------------------------------------------------
    def list_videos() -> list[str]:
        names = []
        for folder in (data_dir, videos_dir):
            for f in sorted(folder.iterdir()):
                if f.is_file() and is_media_name(f.name) and not f.name.startswith("."):
                    names.append(f.relative_to(data_dir).as_posix())
        return names

    def list_results() -> list[dict[str, Any]]:
        out = []
        dirs = [d for d in results_dir.iterdir() if (d / "timeline.json").is_file() and not d.name.startswith(".")]
        for d in sorted(dirs, key=lambda p: p.stat().st_mtime, reverse=True)[:100]:
            when = dt.datetime.fromtimestamp(d.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            out.append({"id": d.name, "info": when})
        return out

    def start_job(video: Path, shown: str) -> Response:
        from emotrace.io.media import probe
        from emotrace.pipeline import check_streams

        try:
            info = probe(video)
            check_streams(info, config, front="serve")
        except InputError as e:
            raise Failure(400, "Cannot analyse this file", f"{shown}: {e.problem}") from None
        except EmotraceError as e:
            raise Failure(400, "Cannot analyse this file", f"{shown}: {e}") from None
        job = jobs.submit(video)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def result_dir(rid: str) -> Path:
        d = inside(results_dir, rid) if RESULT_ID.match(rid) else None
        if d is None or not (d / "timeline.json").is_file():
            raise Failure(404, "No such result", f"no result called {rid!r}")
        return d

    def load(rid: str) -> tuple[Path, Timeline]:
        d = result_dir(rid)
        try:
            return d, Timeline.load(d)
        except ValueError:
            raise Failure(500, "Broken result", f"{rid}: timeline.json is not a valid emotrace timeline") from None

    def source_of(tl: Timeline) -> Path | None:
        p = Path(tl.video.path).resolve()
        return p if p.is_file() and p.is_relative_to(data_dir) else None

    # ---- pages ---------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return pages.index_page(list_videos(), list_results(), max_upload_mb)

    @app.post("/upload")
    async def upload(request: Request) -> Response:
        length = request.headers.get("content-length")
        too_big = Failure(413, "Upload too large", f"the file is larger than the {max_upload_mb} MB limit")
        if length and length.isdigit() and int(length) > max_bytes + MULTIPART_SLACK:
            await _drain(request)  # so that the browser gets the page instead of a reset connection
            raise too_big
        try:
            up = await receive_upload(request.headers.get("content-type", ""), request.stream(), videos_dir, max_bytes)
        except UploadError as e:
            if e.status == 413:
                await _drain(request)
                raise too_big from None
            raise Failure(400, "Bad upload", str(e)) from None
        try:
            if up.path is None or not up.filename:
                raise Failure(400, "No file", "choose a video file to upload")
            name = safe_filename(up.filename)
            if name is None or not is_media_name(name):
                raise Failure(400, "Not a video", f"{up.filename!r}: not a video or audio file name "
                              "(expected .mp4, .mov, .mkv, .webm, .avi, ... )")
            if up.size == 0:
                raise Failure(400, "Empty file", f"{name}: the uploaded file is empty")
            dest = _place(up.path, videos_dir, name)
            up.path = None
        finally:
            up.discard()
        try:
            return await run_in_threadpool(start_job, dest, name)
        except Failure:
            dest.unlink(missing_ok=True)
            raise

    @app.post("/analyze")
    async def analyze_existing(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_LIMIT:
                raise Failure(413, "Request too large", "the form is larger than a video name can be")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Failure(400, "Bad request", "send the video name as a form field")
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
        name = (fields.get("name") or [""])[0]
        path = inside(data_dir, name)
        if path is None or not path.is_file() or not is_media_name(path.name) or path.is_relative_to(results_dir):
            raise Failure(404, "No such video", f"no video called {name!r} in the data folder")
        return await run_in_threadpool(start_job, path, name)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_view(job_id: str) -> str:
        job = jobs.get(job_id)
        if job is None:
            raise Failure(404, "No such job", f"no analysis called {job_id!r} (the server may have restarted)")
        return pages.job_page(job.as_dict())

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            raise Failure(404, "No such job", f"no analysis called {job_id!r}")
        return job.as_dict()

    @app.get("/results/{rid}", response_class=HTMLResponse)
    def result_view(rid: str) -> str:
        _, tl = load(rid)
        video_url = f"/results/{rid}/video" if source_of(tl) else None
        return pages.viewer_page(rid, Path(tl.video.path).name, video_url)

    @app.get("/api/results/{rid}")
    def result_data(rid: str) -> dict[str, Any]:
        d, tl = load(rid)
        return viewer_payload(tl, d, f"/results/{rid}/files")

    @app.get("/results/{rid}/video")
    def result_video(rid: str) -> FileResponse:
        _, tl = load(rid)
        src = source_of(tl)
        if src is None:
            raise Failure(404, "Video not available", "the source video is not in the data folder")
        return FileResponse(src)

    @app.get("/results/{rid}/files/{rel:path}")
    def result_file(rid: str, rel: str) -> FileResponse:
        d = result_dir(rid)
        path = inside(d, rel)
        if path is None or not path.is_file():
            raise Failure(404, "No such file", f"no file {rel!r} in result {rid!r}")
        return FileResponse(path)

    return app


async def _drain(request: Request) -> None:
    """Read (and drop, never store) what a refused upload still sends, up to DRAIN_LIMIT."""
    drained = 0
    try:
        async for chunk in request.stream():
            drained += len(chunk)
            if drained > DRAIN_LIMIT:
                break
    except Exception:  # noqa: BLE001, S110 - the client went away or the stream was already read
        pass


def _place(tmp: Path, folder: Path, name: str) -> Path:
    """Give a finished upload its final name in ``folder`` (``name-1.mp4``... when taken)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    dest = folder / name
    n = 1
    while dest.exists():
        dest = folder / f"{stem}-{n}{suffix}"
        n += 1
    os.replace(tmp, dest)
    return dest
