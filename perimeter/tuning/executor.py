"""Pluggable executors for sweep tasks: local processes by default, Dask distributed on demand.

An executor runs one picklable, module-level function over a list of items and yields
``(index, result)`` pairs as they complete, so a progress bar can follow; the sweep reorders
them by index, hence results never depend on the executor or on the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")
ExecutorKind = Literal["local", "dask"]


class Executor(Protocol):
    """Runs ``fn`` over ``items``; yields ``(index, result)`` in completion order."""

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """``workers`` local processes (a :class:`ProcessPoolExecutor`); 1 runs inline."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers: must be at least 1, got {workers}")
        self.workers = workers

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        if self.workers == 1 or len(items) < 2:
            for i, item in enumerate(items):
                yield i, fn(item)
            return
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        """Nothing held between runs."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Tasks on a Dask distributed cluster: a scheduler ``address`` or an existing client.

    Needs the optional ``distributed`` package; the workers must be able to import
    ``perimeter`` and ``sim`` (same installation as the caller).
    """

    def __init__(self, address: str | None = None, *, client: Any = None) -> None:
        if (address is None) == (client is None):
            raise ValueError("address: give exactly one of a scheduler address or a client")
        try:
            from distributed import Client  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # pragma: no cover - depends on the installation
            raise RuntimeError("executor: 'dask' needs the 'distributed' package "
                               "(pip install distributed)") from None
        self._owned = client is None
        self.client = Client(address) if client is None else client  # type: ignore[no-untyped-call,unused-ignore]

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        from distributed import (  # type: ignore[import-not-found,unused-ignore]
            as_completed as dask_completed,
        )

        futures = self.client.map(fn, list(items), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures):  # type: ignore[no-untyped-call,unused-ignore]
            yield index[future.key], future.result()

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def make_executor(kind: ExecutorKind = "local", *, workers: int = 1,
                  address: str | None = None) -> LocalExecutor | DaskExecutor:
    """The executor a CLI choice names; ``dask`` needs ``address`` (``tcp://host:8786``)."""
    if kind == "local":
        if address is not None:
            raise ValueError("address: only used with --executor dask")
        return LocalExecutor(workers)
    if kind == "dask":
        if not address:
            raise ValueError("address: --executor dask needs --address tcp://HOST:PORT")
        return DaskExecutor(address)
    raise ValueError(f"executor: must be 'local' or 'dask', got {kind!r}")
