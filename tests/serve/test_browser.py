"""Real browser (Debian's headless Chromium driven by Playwright) against the running server:
upload, progress to completion, plot visible, click-to-seek, cursor follows; screenshots saved."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Error as playwright_errors
except ImportError:  # the browser fixture skips
    playwright_errors = Exception


def _plot_x(page, frac: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Page coordinates of the plot at ``frac`` of the time axis."""
    plot = page.locator("#timeline-plot")
    box = plot.bounding_box()
    left, right = float(plot.get_attribute("data-left")), float(plot.get_attribute("data-right"))
    vx = left + frac * (right - left)
    return box["x"] + vx * box["width"] / 1000.0, box["y"] + 40


def wait_for(page, expression: str, timeout: int) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` with ``page.evaluate`` until it is true. (Playwright's
    ``wait_for_function`` compiles its predicate with eval, which the server's CSP forbids.)"""
    import time

    deadline = time.time() + timeout / 1000
    while not page.evaluate(expression):
        if time.time() > deadline:
            raise playwright_errors(f"timed out waiting for {expression}")
        time.sleep(0.05)


def test_upload_progress_plot_and_seek(server, browser, clip_mp4: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.set_input_files("#file", str(clip_mp4))
    page.screenshot(path=str(tmp_path / "1-home.png"))
    page.click("#upload-button")
    page.wait_for_url("**/jobs/**", timeout=30_000)
    try:  # catch the bar moving (a short clip may finish first)
        wait_for(page, "document.getElementById('pct').textContent !== '0%'", timeout=20_000)
        page.screenshot(path=str(tmp_path / "2-progress.png"))
    except playwright_errors:
        pass
    page.wait_for_url("**/results/**", timeout=150_000)
    page.wait_for_selector("#timeline-plot", state="visible")
    wait_for(page, "document.getElementById('video').readyState >= 1", timeout=20_000)
    duration = page.evaluate("document.getElementById('video').duration")
    assert 1.5 < duration < 3.0
    assert page.locator("#timeline-plot rect").count() > 2  # emotion bands drawn
    page.screenshot(path=str(tmp_path / "3-result.png"), full_page=True)

    for frac in (0.7, 0.25):
        x, y = _plot_x(page, frac)
        page.mouse.click(x, y)
        want = frac * float(page.locator("#timeline-plot").get_attribute("data-duration"))
        wait_for(page, f"Math.abs(document.getElementById('video').currentTime - {want}) < 0.12", timeout=10_000
        )
        cursor_x = float(page.locator("#cursor").get_attribute("x1"))
        left, right = (float(page.locator("#timeline-plot").get_attribute(a)) for a in ("data-left", "data-right"))
        assert abs(cursor_x - (left + frac * (right - left))) < 2.0
    page.screenshot(path=str(tmp_path / "4-seeked.png"), full_page=True)

    # the cursor follows playback
    before = float(page.locator("#cursor").get_attribute("x1"))
    page.evaluate("(() => { const v = document.getElementById('video'); v.muted = true; return v.play(); })()")
    wait_for(page, "document.getElementById('video').currentTime > 0.9", timeout=10_000)
    page.evaluate("document.getElementById('video').pause()")
    page.wait_for_timeout(300)
    after = float(page.locator("#cursor").get_attribute("x1"))
    assert after > before + 10
    assert not errors, errors
    page.close()


def test_report_opens_offline(server, browser, clip_mp4: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reports = sorted(server.data.glob("results/*/report.html"))
    if not reports:  # this test alone: analyse once through the API
        status, location, _ = server.upload("offline.mp4", clip_mp4.read_bytes())
        assert status == 303 and server.wait_done(location.rsplit("/", 1)[1])["status"] == "done"
        reports = sorted(server.data.glob("results/*/report.html"))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    remote: list[str] = []

    def block(route) -> None:  # type: ignore[no-untyped-def]
        remote.append(route.request.url)
        route.abort()

    page.route("http*://**", block)
    page.goto(reports[0].as_uri())
    page.wait_for_selector("#timelines svg")
    assert page.locator("#keyframes img").count() >= 1
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert not remote, f"the report asked the network for {remote}"
    page.close()
