"""A wall-clock budget for measuring a formula (``symnet verify FORMULA --timeout SECONDS``,
``symnet.verify(formula, timeout=SECONDS)``).

A formula can take unboundedly long to derive, generate or evaluate at 50 digits; the budget
stops the measurement with one line that names what was being measured when it ran out. It is
enforced twice: by ``SIGALRM`` (POSIX, main thread) or a watchdog thread (any other thread), as
:func:`symnet.bounds.time_limit`, which interrupts a long SymPy or mpmath computation, and by a check
at every stage and point, which is all there is on other platforms.
"""
from __future__ import annotations

import numbers
import signal
import threading
import time

from ..bounds import alarm, quiet_while_entering, quiet_while_leaving, thread_alarm
from ..errors import LimitError, TimeLimitError

__all__ = ["Budget", "VerifyTimeoutError", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 120.0  # seconds: the command line's default (--timeout)
_LONGEST = 1e8  # seconds (three years); a longer budget is no budget (setitimer overflows)


class VerifyTimeoutError(TimeLimitError):
    """``symnet verify``'s time budget ran out; the message names what was being measured."""


class Budget:
    """``with Budget(seconds) as b: b.stage("the value f in float32") …``: raises
    :class:`VerifyTimeoutError` once ``seconds`` have passed. ``seconds`` None or 0: no budget.

    Raises:
        LimitError: ``seconds`` negative or nan.
    """

    def __init__(self, seconds: float | None):
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real)):
            raise TypeError(f"a time budget (timeout=) must be a number of seconds, not {type(seconds).__name__}")
        if seconds is not None and not seconds >= 0:  # negative, or nan
            raise LimitError(f"a time budget must be a number of seconds (0: none), not {seconds}")
        self.seconds = seconds if seconds and seconds <= _LONGEST else None
        self.what = "the formula"
        self._deadline = None
        self._alarm = None

    def message(self) -> str:
        # wall-clock seconds, and the line says so: on a machine busy with other work they run out after less
        # measuring (session 23's new user read "120 s" as work done). Not CPU time, as derive --stable's hazard
        # table counts it: --timeout bounds how long the command holds its caller (a Triton compile's ptxas runs in
        # a child process, whose CPU time the process's own timer would not count)
        # the wall-clock note follows the stage after a "; ", not in brackets after it: "… while measuring f: the
        # points to measure in float32 (seconds of the wall clock: …)" read as if the brackets described the points
        return (f"the verify time budget of {self.seconds:g} s ran out while measuring {self.what}; it counts seconds "
                "of the wall clock (a machine busy with other work runs out sooner): raise it with --timeout SECONDS "
                "(symnet.verify: timeout=), 0 for none")

    def stage(self, what: str) -> None:
        """Name what is measured from now on, and stop if the budget is spent."""
        self.what = what
        self.check()

    def check(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise VerifyTimeoutError(self.message())

    def _error(self) -> VerifyTimeoutError:  # bounds.alarm's: the message names the stage it ran out in
        return VerifyTimeoutError(self.message())

    @quiet_while_entering
    def __enter__(self) -> "Budget":
        if self.seconds is None:
            return self
        self._deadline = time.monotonic() + self.seconds
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            # once due, again every 50 ms, in case a broad ``except`` inside SymPy swallowed it; a timer
            # already running (pytest-timeout's) is kept, and armed again on leaving (bounds.alarm)
            self._alarm = alarm(self.seconds, self._error)
            self._alarm.__enter__()
        elif threading.current_thread() is not threading.main_thread() and thread_alarm.available():
            self._alarm = thread_alarm(self.seconds, self._error)  # a worker thread: no signal reaches it
            self._alarm.__enter__()
        return self

    @quiet_while_leaving
    def __exit__(self, *exc) -> None:
        if self._alarm is not None:
            armed, self._alarm = self._alarm, None
            armed.__exit__(*exc)  # thread_alarm: its deadline raised in the block becomes this budget's error
