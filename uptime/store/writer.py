"""One thread that owns a blocking object (an SQLite connection) and runs calls on it in order.

sqlite3 connections refuse to be used from a thread other than the one that opened them, and
uptime-ledger has one writer per database: so the object is *created* in the worker thread and
every call on it goes through :meth:`WriterThread.call`, as datasette's ``execute_fn`` does.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WriterClosed(RuntimeError):
    """A call reached the writer thread before it opened or after it closed (shutting down)."""


class WriterThread(Generic[T]):
    """A single worker thread holding the object ``open()`` returns."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._obj: T | None = None

    async def open(self, factory: Callable[[], T]) -> T:
        """Create the object in the worker thread."""
        self._obj = await self._run(factory)
        return self._obj

    async def call(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn(obj, *args, **kwargs)`` in the worker thread."""
        if self._obj is None:
            raise WriterClosed("the writer thread is not open")
        return await self._run(functools.partial(fn, self._obj, *args, **kwargs))

    async def close(self, closer: Callable[[T], object] | None = None) -> None:
        """Run ``closer(obj)`` in the thread (if given), then stop the thread."""
        try:
            if closer is not None and self._obj is not None:
                await self._run(functools.partial(closer, self._obj))
        finally:
            self._obj = None
            self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
