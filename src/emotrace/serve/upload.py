"""Streaming multipart upload into the data folder, stopped at the size limit.

The request body is parsed as it arrives (python-multipart's push parser): the file part goes
straight into a hidden ``.upload-*.part`` file beside its final place, other fields into a few
bytes of memory. Nothing is spooled to ``/tmp``, and once the body passes the limit nothing
more is written, whether or not the client declared a ``Content-Length``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 64 * 1024  # bytes of all non-file fields together
HEADER_LIMIT = 16 * 1024


class UploadError(Exception):
    """The upload cannot be taken: ``status`` (400 or 413) and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """What a finished upload holds: the file part (in ``path``) and the other fields."""

    filename: str | None = None
    path: Path | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def _disposition(raw: bytes) -> tuple[str | None, str | None]:
    _, params = parse_options_header(raw)
    name = params.get(b"name")
    filename = params.get(b"filename")
    return (
        name.decode("utf-8", "replace") if name is not None else None,
        filename.decode("utf-8", "replace") if filename is not None else None,
    )


async def receive_upload(
    content_type: str, chunks: AsyncIterator[bytes], folder: Path, max_bytes: int, file_field: str = "file"
) -> Upload:
    """Parse a ``multipart/form-data`` body from ``chunks``, writing the ``file_field`` part into
    ``folder``; raises :class:`UploadError` (413 past ``max_bytes`` of file data)."""
    mime, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UploadError(400, "the upload could not be read (send a multipart form)")
    up = Upload()
    state: dict[str, object] = {"headers": {}, "hname": b"", "hvalue": b"", "name": None, "file": None,
                                "value": b"", "field_bytes": 0, "header_bytes": 0}  # fmt: skip
    problem: list[UploadError] = []

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] = state["hname"] + data[start:end]  # type: ignore[operator]  # the multipart parser's state dict holds values of several types
        _count_header(end - start)

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["hvalue"] = state["hvalue"] + data[start:end]  # type: ignore[operator]  # the multipart parser's state dict holds values of several types
        _count_header(end - start)

    def _count_header(n: int) -> None:
        state["header_bytes"] = int(state["header_bytes"]) + n  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
        if int(state["header_bytes"]) > HEADER_LIMIT and not problem:  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
            problem.append(UploadError(400, "the upload's part headers are too large"))

    def on_header_end() -> None:
        headers: dict[bytes, bytes] = state["headers"]  # type: ignore[assignment]  # the multipart parser's state dict holds values of several types
        headers[bytes(state["hname"]).lower()] = bytes(state["hvalue"])  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
        state["hname"], state["hvalue"] = b"", b""

    def on_headers_finished() -> None:
        headers: dict[bytes, bytes] = state["headers"]  # type: ignore[assignment]  # the multipart parser's state dict holds values of several types
        name, filename = _disposition(headers.get(b"content-disposition", b""))
        state["name"], state["value"] = name, b""
        if name == file_field and filename is not None and up.path is None and not problem:
            fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
            up.path, up.filename = Path(tmp), filename
            state["file"] = os.fdopen(fd, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if problem:
            return
        n = end - start
        f = state["file"]
        if f is not None:
            up.size += n
            if up.size > max_bytes:
                problem.append(UploadError(413, f"the file is larger than the {max_bytes // 2**20} MB limit"))
                return
            f.write(data[start:end])  # type: ignore[attr-defined]  # the multipart parser's state dict holds values of several types
        else:
            state["field_bytes"] = int(state["field_bytes"]) + n  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
            if int(state["field_bytes"]) > FIELD_LIMIT:  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
                problem.append(UploadError(400, "the upload's form fields are too large"))
                return
            state["value"] = bytes(state["value"]) + data[start:end]  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types

    def on_part_end() -> None:
        f = state["file"]
        if f is not None:
            f.close()  # type: ignore[attr-defined]  # the multipart parser's state dict holds values of several types
            state["file"] = None
        elif state["name"] is not None:
            up.fields[str(state["name"])] = bytes(state["value"]).decode("utf-8", "replace")  # type: ignore[call-overload]  # the multipart parser's state dict holds values of several types
        state["headers"], state["name"], state["value"] = {}, None, b""

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })  # fmt: skip
    try:
        async for chunk in chunks:
            if problem:
                break  # stop writing at once; the caller drains what the client still sends
            if chunk:
                parser.write(chunk)
        if not problem:
            parser.finalize()
    except Exception:  # noqa: BLE001 - any parser failure is the client's malformed upload
        problem.append(UploadError(400, "the upload could not be read (send a multipart form)"))
    finally:
        f = state["file"]
        if f is not None:
            f.close()  # type: ignore[attr-defined]  # the multipart parser's state dict holds values of several types
    if problem:
        up.discard()
        raise problem[0]
    return up
