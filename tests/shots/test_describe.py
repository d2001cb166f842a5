"""``describe`` against a real chat-completions server on 127.0.0.1 (started by the tests)."""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

from emotrace.model import Timeline, Utterance
from emotrace.shots.describe import DescribeOptions, describe_timeline, make_client
from emotrace.shots.llm import ChatClient, LLMError, parse_json_reply

KEY = "sk-test-secret-0123456789"


class FakeLLM:
    """Speaks POST /v1/chat/completions; ``plan`` lists what the next requests get."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.plan: list[str] = []  # "429", "500", "sleep:<s>", "fenced"; empty means "ok"
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": body})
                    action = outer.plan.pop(0) if outer.plan else "ok"
                if self.path.split("?")[0] != "/v1/chat/completions":  # echo the auth header, as some proxies do
                    self.send_response(404)
                    self.end_headers()
                    self.wfile.write(f"no route for {self.headers.get('Authorization')}".encode())
                    return
                if action in ("429", "500"):
                    self.send_response(int(action))
                    if action == "429":
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "busy"}}')
                    return
                if action.startswith("sleep:"):
                    time.sleep(float(action.split(":")[1]))
                self._reply(body, fenced=action == "fenced")

            def _reply(self, body: dict[str, Any], fenced: bool) -> None:
                user = body["messages"][-1]["content"]
                text = next(p["text"] for p in user if p["type"] == "text")
                images = [p for p in user if p["type"] == "image_url"]
                shot = re.search(r"shot (\d+)", text)
                answer = json.dumps({"emotions": ["Joy", "calm", "curious"],
                                     "description": f"shot {shot.group(1) if shot else '?'} with {len(images)} images"})
                content = f"Sure! Here it is:\n```json\n{answer}\n```" if fenced else answer
                data = json.dumps({
                    "id": "x", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100 + len(images), "completion_tokens": 20, "total_tokens": 120},
                }).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, llm: FakeLLM) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("EMOTRACE_CACHE", str(cache))
    monkeypatch.setenv("EMOTRACE_LLM_BASE_URL", llm.url)
    monkeypatch.setenv("EMOTRACE_LLM_MODEL", "test-vision")
    monkeypatch.setenv("EMOTRACE_LLM_API_KEY", KEY)
    return cache


@pytest.fixture()
def result(tmp_path: Path, result_dir: Path) -> Path:
    """A private copy of the shared result folder, with a transcript line added."""
    out = tmp_path / "result"
    shutil.copytree(result_dir, out)
    tl = Timeline.load(out)
    tl.utterances.append(Utterance(start_s=2.1, end_s=3.0, text="What a lovely blue sky", speaker_id="S1"))
    (out / "timeline.json").write_text(tl.to_json())
    return out


def test_parse_json_reply_variants() -> None:
    assert parse_json_reply('{"a": 1}') == {"a": 1}
    assert parse_json_reply('Here:\n```json\n{"a": 2}\n```\nbye') == {"a": 2}
    assert parse_json_reply('The answer is {"a": 3} as asked.') == {"a": 3}
    assert parse_json_reply('[{"a": 4}]') == {"a": 4}
    assert parse_json_reply("no json here") is None


def test_describe_sends_images_and_context(result: Path, env: Path, llm: FakeLLM,
                                           caplog: pytest.LogCaptureFixture) -> None:
    tl = Timeline.load(result)
    shots = sorted({k.shot_index for k in tl.keyframes})
    with caplog.at_level(logging.INFO, logger="emotrace.describe"):
        usage, errors = describe_timeline(tl, result, DescribeOptions(concurrency=3))
    assert errors == []
    assert len(llm.requests) == len(shots) and usage.requests == len(shots)
    req = llm.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["body"]["model"] == "test-vision"
    texts = {}
    for r in llm.requests:
        user = r["body"]["messages"][-1]["content"]
        text = user[0]["text"]
        n = int(re.search(r"shot (\d+)", text).group(1))  # type: ignore[union-attr]
        texts[n] = text
        imgs = [p["image_url"]["url"] for p in user[1:]]
        assert imgs and all(u.startswith("data:image/jpeg;base64,") for u in imgs)
        assert all(base64.b64decode(u.split(",", 1)[1])[:2] == b"\xff\xd8" for u in imgs)  # real JPEGs
        assert "people: no faces detected" in text
    shot_of_line = next(s.index for s in tl.shots if s.start_s <= 2.5 < s.end_s)
    assert "What a lovely blue sky" in texts[shot_of_line]  # transcript near the shot
    far = max(texts)
    assert far > shot_of_line + 2 and "What a lovely blue sky" not in texts[far]
    for k in tl.keyframes:
        d = k.description
        assert d is not None and d["emotions"] == ["joy", "calm", "curious"]
        assert d["canonical"] == ["happy", "neutral"] and d["model"] == "test-vision"
        assert d["description"].startswith(f"shot {k.shot_index} with ")
    assert usage.prompt_tokens >= 101 * len(shots) and usage.completion_tokens == 20 * len(shots)
    assert [r["shot_index"] for r in tl.tables["llm_usage"]] == shots
    assert any("prompt_tokens=" in r.getMessage() for r in caplog.records)
    # the key never reaches the logs or the disk
    assert all(KEY not in r.getMessage() for r in caplog.records)
    assert KEY not in tl.to_json()
    assert all(KEY not in p.read_text() for p in env.rglob("*.json"))

    # a second run is served from the on-disk cache: no new request
    tl2 = Timeline.load(result)
    usage2, _ = describe_timeline(tl2, result, DescribeOptions())
    assert len(llm.requests) == len(shots) and usage2.cached == len(shots)
    assert tl2.keyframes[0].description == tl.keyframes[0].description
    # a different prompt is a different cache entry
    describe_timeline(Timeline.load(result), result, DescribeOptions(prompt="Shot $shot_index, JSON please."),
                      shots={shots[0]})
    assert len(llm.requests) == len(shots) + 1


def test_retries_after_429_and_500(result: Path, env: Path, llm: FakeLLM) -> None:
    llm.plan = ["429", "500", "fenced"]
    tl = Timeline.load(result)
    first = tl.keyframes[0].shot_index
    usage, errors = describe_timeline(tl, result, DescribeOptions(backoff_s=0.01, cache=False), shots={first})
    assert errors == [] and len(llm.requests) == 3 and usage.requests == 1
    d = tl.keyframes[0].description
    assert d is not None and d["parsed"] and d["emotions"][0] == "joy"


def test_timeout_then_success_and_final_failure(result: Path, env: Path, llm: FakeLLM) -> None:
    tl = Timeline.load(result)
    first = tl.keyframes[0].shot_index
    llm.plan = ["sleep:1.5"]
    t0 = time.perf_counter()
    _, errors = describe_timeline(tl, result, DescribeOptions(timeout_s=0.3, backoff_s=0.01, cache=False),
                                  shots={first})
    assert errors == [] and len(llm.requests) == 2 and time.perf_counter() - t0 < 1.4
    assert tl.keyframes[0].description is not None

    llm.plan = ["sleep:1.0", "sleep:1.0"]
    tl = Timeline.load(result)
    _, errors = describe_timeline(tl, result, DescribeOptions(timeout_s=0.2, retries=1, backoff_s=0.01, cache=False),
                                  shots={first})
    assert len(errors) == 1 and "timed out" in errors[0] and KEY not in errors[0]
    assert tl.keyframes[0].description is None


def test_client_errors_are_one_line(llm: FakeLLM) -> None:
    client = ChatClient(base_url=llm.url.replace("/v1", "/nowhere"), model="m", api_key=KEY, retries=0)
    with pytest.raises(LLMError, match="HTTP 404") as e:  # not retried
        client.complete([{"role": "user", "content": "hi"}])
    assert KEY not in str(e.value) and "Bearer ***" in str(e.value)
    assert len(llm.requests) == 1
    closed = ChatClient(base_url="http://127.0.0.1:9/v1", model="m", retries=1, backoff_s=0.01, timeout_s=1)
    with pytest.raises(LLMError, match="cannot connect"):
        closed.complete([{"role": "user", "content": "hi"}])


def test_missing_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from emotrace.errors import DependencyMissing

    monkeypatch.delenv("EMOTRACE_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("EMOTRACE_LLM_MODEL", raising=False)
    with pytest.raises(DependencyMissing, match="EMOTRACE_LLM_BASE_URL"):
        make_client(DescribeOptions())


def test_describe_command(result: Path, env: Path, llm: FakeLLM) -> None:
    import os
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "emotrace.cli", *args], check=False, capture_output=True, text=True,
                              env=os.environ.copy(), timeout=120)

    res = cli("describe", str(result), "--per", "keyframe", "--max-images", "1")
    assert res.returncode == 0, res.stderr
    tl = Timeline.load(result)
    assert len(llm.requests) == len(tl.keyframes)
    assert all(k.description and k.description["emotions"] for k in tl.keyframes)
    assert any(s.name == "describe" and s.status == "ok" for s in tl.provenance.stages)
    assert "joy, calm, curious" in res.stdout and "tokens" in res.stderr
    assert KEY not in (result / "timeline.json").read_text() and KEY not in res.stdout + res.stderr
    bad = cli("describe", str(result / "missing"))
    assert bad.returncode == 2 and "no such result folder" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_describe_stage_in_pipeline(tmp_path: Path, env: Path, llm: FakeLLM, run_stages,  # type: ignore[no-untyped-def]
                                    cut_video: tuple[Path, list[float], list[str]]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    tl = run_stages(cut_video[0], out, {"shots": {}, "keyframes": {}, "describe": {"enabled": True}})
    assert tl.keyframes and all(k.description for k in tl.keyframes)
    assert len(llm.requests) == len({k.shot_index for k in tl.keyframes})
    assert KEY not in tl.to_json()


def test_azure_style_endpoint_uses_api_key_header(llm: FakeLLM) -> None:
    client = ChatClient(base_url=llm.url, model="gpt-4o", api_key=KEY, api_version="2024-10-21", retries=0)
    assert client.url().endswith("/chat/completions?api-version=2024-10-21")
    client.complete([{"role": "user", "content": [{"type": "text", "text": "shot 1"}]}])
    sent = llm.requests[-1]
    assert sent["path"] == "/v1/chat/completions?api-version=2024-10-21"
    assert sent["headers"]["api-key"] == KEY and "authorization" not in sent["headers"]
    plain = ChatClient(base_url=llm.url, model="llava", api_key=None, retries=0)
    reply = plain.complete([{"role": "user", "content": [{"type": "text", "text": "shot 1"}]}])
    assert json.loads(reply.content)["description"] == "shot 1 with 0 images"
    assert "authorization" not in llm.requests[-1]["headers"]  # no key: no auth header (Ollama, LM Studio)
