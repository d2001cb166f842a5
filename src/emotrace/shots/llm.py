"""A small client for OpenAI-compatible chat-completions endpoints (OpenAI, Azure, vLLM,
Ollama, LM Studio...), on the standard library only.

Retries 408/429/5xx and network errors with exponential backoff (honouring ``Retry-After``),
has a per-request timeout, and caches replies on disk keyed by model, prompt and image hashes.
The API key lives only in memory: it is never part of a cache key, a log line or an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError

log = logging.getLogger("emotrace.describe")

ENV_BASE_URL = "EMOTRACE_LLM_BASE_URL"
ENV_MODEL = "EMOTRACE_LLM_MODEL"
ENV_API_KEY = "EMOTRACE_LLM_API_KEY"
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LLMError(EmotraceError):
    """A request to the chat endpoint failed for good."""

    exit_code = 2


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0
    cached: int = 0

    def add(self, usage: dict[str, Any] | None, cached: bool) -> None:
        u = usage or {}
        self.prompt_tokens += int(u.get("prompt_tokens") or 0)
        self.completion_tokens += int(u.get("completion_tokens") or 0)
        self.total_tokens += int(u.get("total_tokens") or 0)
        self.requests += 0 if cached else 1
        self.cached += 1 if cached else 0


@dataclass
class Reply:
    content: str
    usage: dict[str, Any] = field(default_factory=dict)
    cached: bool = False


@dataclass
class ChatClient:
    """POST ``{base_url}/chat/completions`` with retries, timeout and an optional disk cache."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None  # Azure: adds ?api-version=
    timeout_s: float = 60.0
    retries: int = 4
    backoff_s: float = 1.0
    cache_dir: Path | None = None

    def url(self) -> str:
        url = self.base_url.rstrip("/") + "/chat/completions"
        if self.api_version:
            url += "?" + urllib.parse.urlencode({"api-version": self.api_version})
        return url

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            host = urllib.parse.urlparse(self.base_url).hostname or ""
            if self.api_version or host.endswith(".azure.com"):
                h["api-key"] = self.api_key  # Azure OpenAI key auth
            else:
                h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def _clean(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    def _cache_path(self, body: dict[str, Any]) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    def complete(self, messages: list[dict[str, Any]], cache_key: dict[str, Any] | None = None,
                 **params: Any) -> Reply:
        """One chat completion. ``cache_key`` replaces ``messages`` in the cache key (e.g. image
        hashes instead of base64 data)."""
        body = {"model": self.model, "messages": messages, **params}
        # the endpoint is part of the key: another server (or API version) may answer differently
        cpath = self._cache_path({"url": self.url(), "model": self.model, **params, "key": cache_key or messages})
        if cpath is not None and cpath.exists():
            try:
                data = json.loads(cpath.read_text())
                return Reply(data["content"], data.get("usage") or {}, cached=True)
            except (OSError, ValueError, KeyError):
                pass
        data = self._post(json.dumps(body).encode())
        reply = Reply(_content(data), data.get("usage") or {})
        if cpath is not None:
            try:
                cpath.parent.mkdir(parents=True, exist_ok=True)
                tmp = cpath.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"model": self.model, "content": reply.content, "usage": reply.usage}))
                os.replace(tmp, cpath)
            except OSError as e:
                log.warning("describe cache not written: %s", e)
        return reply

    def _post(self, payload: bytes) -> dict[str, Any]:
        last = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * (2**attempt)
            req = urllib.request.Request(self.url(), data=payload, headers=self._headers(), method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    data: dict[str, Any] = json.loads(resp.read().decode("utf-8"))
                    return data
            except urllib.error.HTTPError as e:
                detail = self._clean(e.read().decode("utf-8", "replace")[:300]).strip()
                last = f"HTTP {e.code}: {detail or e.reason}"
                if e.code not in RETRY_STATUS:
                    raise LLMError(f"{self.url()}: {last}") from None
                retry_after = e.headers.get("Retry-After") if e.headers else None
                if retry_after and retry_after.strip().replace(".", "", 1).isdigit():
                    wait = min(float(retry_after), 60.0)
            except TimeoutError:
                last = f"timed out after {self.timeout_s:g} s"
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError):
                    last = f"timed out after {self.timeout_s:g} s"
                else:
                    last = f"cannot connect ({self._clean(str(e.reason))})"
            except (ValueError, ConnectionError, OSError) as e:
                last = f"bad reply ({self._clean(str(e))[:200]})"
            if attempt < self.retries:
                log.info("describe: %s; retry %d/%d in %.1f s", last, attempt + 1, self.retries, wait)
                time.sleep(min(wait, 60.0))
        raise LLMError(f"{self.url()}: {last} (after {self.retries + 1} attempts)")


def _content(data: dict[str, Any]) -> str:
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("reply has no choices[0].message.content") from None
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def image_part(data: bytes, mime: str = "image/jpeg") -> dict[str, Any]:
    """An ``image_url`` content part carrying the image inline as a data URL."""
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_json_reply(text: str) -> dict[str, Any] | None:
    """The JSON object in a model reply: bare, fenced in ``` or embedded in prose (None if none)."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for c in candidates:
        try:
            obj = json.loads(c)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            return obj[0]
    return None
