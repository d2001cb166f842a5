"""Run a producer iterator in a background thread, ahead of its consumer.

Decoding (PyAV/FFmpeg) and the stages' model calls (ONNX Runtime, CTranslate2, LiteRT)
release the GIL, so a decoder thread that stays a few frames ahead lets the two cores work
at once. Exceptions raised by the producer are re-raised in the consumer, in order; closing
the consumer (``break``, an exception, garbage collection) stops the producer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int = 4, name: str = "emotrace-prefetch") -> Iterator[T]:
    """Yield ``items`` as a background thread produces them (at most ``depth`` ahead)."""
    q: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(obj: object) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for obj in it:
                if not put(obj):
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put(_Failure(e))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        put(_DONE)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            obj = q.get()
            if obj is _DONE:
                return
            if isinstance(obj, _Failure):
                raise obj.error
            yield obj  # type: ignore[misc]  # the queue holds items, _DONE or _Failure; both are handled above
    finally:
        stop.set()
        worker.join()
