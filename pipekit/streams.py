"""
Write-only streams with law.util's names: :class:`TeeStream` writes to several streams or files
at once (like ``tee``), :class:`FilteredStream` passes on only what a function lets through.
Both can replace ``sys.stdout`` for a block (``with TeeStream("log.txt", sys.__stdout__) as s``).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["BaseStream", "TeeStream", "FilteredStream"]


class BaseStream:
    """
    A stream that can be written to, flushed and closed once; subclasses implement ``_write``,
    ``_flush`` and ``_close``. Every write is flushed unless ``flush_after_write=False``.
    """

    FLUSH_AFTER_WRITE = True

    def __init__(self, flush_after_write: bool | None = None):
        self.closed = False
        self.flush_after_write = flush_after_write

    def __enter__(self) -> BaseStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing can be reported from a finalizer
            pass

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self._close()
            self.closed = True

    def flush(self) -> None:
        if not self.closed:
            self._flush()

    def write(self, *args: Any, **kwargs: Any) -> None:
        if self.closed:
            return
        self._write(*args, **kwargs)
        if self.FLUSH_AFTER_WRITE if self.flush_after_write is None else self.flush_after_write:
            self.flush()

    def _write(self, *args: Any, **kwargs: Any) -> None:
        pass

    def _flush(self) -> None:
        pass

    def _close(self) -> None:
        pass


class TeeStream(BaseStream):
    """
    Writes to every consumer: a stream, or a path that is opened with *mode* (and closed with
    this stream).
    """

    def __init__(self, *consumers: Any, mode: str = "w", **kwargs: Any):
        super().__init__(**kwargs)
        self.consumers: list[Any] = []
        self.open_files: list[Any] = []
        for consumer in consumers:
            if isinstance(consumer, str):
                consumer = open(consumer, mode)  # noqa: SIM115 - closed in _close
                self.open_files.append(consumer)
            self.consumers.append(consumer)

    def _write(self, *args: Any, **kwargs: Any) -> None:
        for consumer in self.consumers:
            consumer.write(*args, **kwargs)

    def _flush(self) -> None:
        for consumer in self.consumers:
            if not getattr(consumer, "closed", False):
                consumer.flush()

    def _close(self) -> None:
        for f in self.open_files:
            f.close()


class FilteredStream(BaseStream):
    """Writes to *stream* what ``filter_fn(*args, **kwargs)`` accepts."""

    def __init__(self, stream: Any, filter_fn: Callable[..., Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.stream = stream
        self.filter_fn = filter_fn

    def _write(self, *args: Any, **kwargs: Any) -> None:
        if self.filter_fn(*args, **kwargs):
            self.stream.write(*args, **kwargs)

    def _flush(self) -> None:
        if not getattr(self.stream, "closed", False):
            self.stream.flush()
