"""A test double that runs in the background: ``with`` starts it and stops it."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``with thing as value:`` is ``value = thing.start()`` ... ``thing.stop()``."""

    def start(self) -> T:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> T:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
