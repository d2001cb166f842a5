"""What keeps other web pages from driving the local server.

A page on another origin can make the user's browser send requests to ``127.0.0.1``: form
posts and ``no-cors`` fetches go out without a CORS check, and DNS rebinding lets such a page
read responses under its own host name. :class:`GuardMiddleware` answers

* every request whose ``Host`` is not an allowed name (localhost names by default, plus the
  address the server listens on and any ``--allow-host``) with 421, so a rebound name
  reads nothing;
* every state-changing request (POST, PUT, PATCH, DELETE) that a browser marks as coming
  from another site (``Sec-Fetch-Site``), or whose ``Origin`` (or else ``Referer``) is not
  this server's own, with 403;

and adds security headers (CSP without inline scripts, no framing, ``nosniff``, no referrer
to other origins) to every response.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from emotrace.serve import pages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        (
            b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            b"media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def host_name(value: str) -> str:
    """The host part of a ``Host`` header or URL netloc, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8765
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def allowed_hosts(listen_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Localhost names, the listening address unless it is a wildcard, and ``extra``."""
    names = {*LOCAL_HOSTS, *(host_name(h) for h in extra if h.strip())}
    listen = host_name(listen_host)
    try:
        wildcard = ipaddress.ip_address(listen).is_unspecified
    except ValueError:
        wildcard = False
    if listen and not wildcard:
        names.add(listen)
    return frozenset(names)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return None


def same_origin_problem(scope: Scope) -> str | None:
    """Why a state-changing request is refused as cross-site, or None when it may proceed.

    Browsers send ``Origin`` with every POST (also no-cors and form posts) and
    ``Sec-Fetch-Site``; a client without either (curl, scripts) is not a web page.
    """
    host = (_header(scope, b"host") or "").lower()
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return f"request from another site ({site})"
    origin = _header(scope, b"origin")
    if origin is not None:
        if origin.lower() == "null":
            return "request from an opaque origin"
        netloc = urllib.parse.urlsplit(origin).netloc.lower()
        return None if netloc == host else f"request from another origin ({origin})"
    referer = _header(scope, b"referer")
    if referer is not None:
        netloc = urllib.parse.urlsplit(referer).netloc.lower()
        return None if netloc == host else "request referred by another site"
    return None


class GuardMiddleware:
    """ASGI middleware: allowed-Host check, same-origin check, security headers."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = host_name(_header(scope, b"host") or "")
        if host not in self.hosts:
            await _refuse(scope, send, 421, "Unknown host",
                          f"this server answers only to {', '.join(sorted(self.hosts))} "
                          "(start it with --allow-host NAME to add a name)")  # fmt: skip
            return
        if scope["method"] in UNSAFE_METHODS:
            problem = same_origin_problem(scope)
            if problem is not None:
                await _drain(receive)
                await _refuse(scope, send, 403, "Refused", f"{problem}: only this server's own pages may do that")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in SECURITY_HEADERS if k not in present)]  # fmt: skip
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _drain(receive: Receive, limit: int = 1 << 20) -> None:
    """Read (and drop) a little of a refused request's body so that the client sees the answer."""
    seen = 0
    while seen < limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _refuse(scope: Scope, send: Send, status: int, title: str, message: str) -> None:
    if scope.get("path", "").startswith("/api/"):
        import json

        body = json.dumps({"error": message}).encode()
        ctype = b"application/json"
    else:
        body = pages.error_page(status, title, message).encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
