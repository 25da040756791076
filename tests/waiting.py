"""One way for tests to wait on an event they cannot subscribe to (a file appearing, a server listening,
a record changing): poll it, and fail with what was awaited after a bound, never after a fixed pause."""

from __future__ import annotations

import time
from collections.abc import Callable

BOUND_S = 60.0  # generous: a loaded CI machine is slow, and a passing wait returns at once


def wait_for(condition: Callable[[], bool], what: str, bound: float = BOUND_S) -> None:
    """Poll `condition` until true, failing after `bound` seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
