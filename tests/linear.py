"""Linear time, measured as work per character: ten times the input may cost about ten times as
much (a quadratic pattern would cost a hundred). CPU time, not wall time, with a floor for noise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


def assert_linear(fn: Callable[[str], object], hostile: Iterable[str], *, floor_s: float = 0.05) -> None:
    for text in hostile:
        started = time.process_time()
        fn(text)
        whole = time.process_time() - started
        started = time.process_time()
        fn(text[: len(text) // 10])
        tenth = time.process_time() - started
        assert whole < max(tenth * 30, floor_s), (text[:8], whole, tenth)
