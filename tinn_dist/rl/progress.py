"""What both runners (local trainer, Ray driver) share around their loop: Ctrl-C as a stop request, and the
throughput rates shown on the progress bar and written to metrics.csv."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Self

__all__ = ["CtrlC", "RateMeter"]


class CtrlC:
    """Context manager: the first Ctrl-C sets ``requested`` (the runner finishes its batch, checkpoints and
    stops); a second one raises KeyboardInterrupt at once. Only in the main thread — signal handlers cannot be
    set elsewhere (e.g. inside a Ray actor), where it does nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


class RateMeter:
    """Episodes, env steps, ME evaluations and updates per second since the last ``reset`` of ``counters``
    (any object with those four counts as attributes)."""

    FIELDS = ("episodes", "env_steps", "me_evals", "updates")

    def __init__(self, counters: Any) -> None:
        self.counters = counters
        self.reset()

    def reset(self) -> None:
        self._t0 = time.perf_counter()
        self._ref = [getattr(self.counters, f) for f in self.FIELDS]

    def rates(self) -> dict[str, float]:
        dt = max(time.perf_counter() - self._t0, 1e-9)
        return {
            f"{f}_per_s": (getattr(self.counters, f) - ref) / dt for f, ref in zip(self.FIELDS, self._ref)
        }
