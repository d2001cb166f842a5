"""HTML pages of the web app (plain strings; JS and CSS are served from ``static/``)."""

from __future__ import annotations

from html import escape
from typing import Any


def page(title: str, body: str, script: str | None = None) -> str:
    """The common page shell."""
    js = f'<script src="/static/{script}"></script>' if script else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)} · emotrace</title>'
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        '<header><a href="/" class="brand">emotrace</a><span>local viewer</span></header>'
        f"<main>{body}</main>{js}</body></html>"
    )


def index_page(videos: list[str], results: list[dict[str, Any]], max_upload_mb: int) -> str:
    vids = "".join(
        f'<li><form method="post" action="/analyze" class="inline"><input type="hidden" name="name" '
        f'value="{escape(v)}"><span>{escape(v)}</span> <button type="submit">Analyse</button></form></li>'
        for v in videos
    ) or "<li class='muted'>No videos in the data folder yet.</li>"
    res = "".join(
        f'<li><a href="/results/{escape(r["id"])}">{escape(r["id"])}</a> <span class="muted">{escape(r["info"])}</span></li>'
        for r in results
    ) or "<li class='muted'>No results yet.</li>"
    body = f"""
<section><h2>Upload a video</h2>
<form id="upload-form" method="post" action="/upload" enctype="multipart/form-data">
<input type="file" id="file" name="file" accept="video/*,audio/*" required>
<button type="submit" id="upload-button">Upload and analyse</button>
<p class="muted">Up to {max_upload_mb} MB. The analysis runs on this computer; nothing leaves it.</p>
</form></section>
<section><h2>Videos in the data folder</h2><ul class="list">{vids}</ul></section>
<section><h2>Results</h2><ul class="list">{res}</ul></section>"""
    return page("Home", body)


def job_page(job: dict[str, Any]) -> str:
    body = f"""
<section id="job" data-api="/api/jobs/{escape(job["id"])}">
<h2>Analysing {escape(job["video"])}</h2>
<div class="progress"><div id="bar" style="width:0%"></div></div>
<p><span id="step">{escape(job["step"])}</span> · <span id="pct">0%</span> · <span id="elapsed">0 s</span></p>
<p id="error" class="error" hidden></p>
</section>"""
    return page(f"Analysing {job['video']}", body, "job.js")


def viewer_page(result_id: str, title: str, video_url: str | None) -> str:
    player = (
        f'<video id="video" src="{escape(video_url)}" controls preload="auto"></video>'
        if video_url else '<p class="muted" id="video-missing">The source video is not in the data folder.</p>'
    )
    body = f"""
<section id="viewer" data-api="/api/results/{escape(result_id)}">
<h2>{escape(title)}</h2>
<div class="player">{player}<div id="now" class="now"></div></div>
<h3>Timeline <span class="muted">(click to seek)</span></h3>
<div id="legend" class="legend"></div>
<div id="plot"></div>
<div class="cols">
<div><h3>Highlights</h3><ul id="highlights" class="list"></ul></div>
<div><h3>Downloads</h3><ul id="downloads" class="list"></ul></div>
</div>
<h3>Keyframes</h3><div id="keyframes" class="gallery"></div>
<h3>Transcript</h3><div id="transcript"></div>
<p id="warnings" class="muted"></p>
</section>"""
    return page(title, body, "viewer.js")


def error_page(status: int, title: str, message: str) -> str:
    body = (
        f'<section class="error-page"><h2>{escape(title)}</h2><p class="error" id="error-message">{escape(message)}</p>'
        f'<p><a href="/">Back to the start page</a></p><p class="muted">HTTP {status}</p></section>'
    )
    return page(title, body)
