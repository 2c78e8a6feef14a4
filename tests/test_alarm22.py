"""The repeating SIGALRM of bounds.alarm (time_limit, verify's budget) must never outlive its block.

Clean-clone CI of 65b400a (session 22): ``symnet verify HUGE --timeout 2`` printed its one-line error, then
the process died of SIGALRM at exit (status −14). ``alarm`` was a generator context manager: once due it
re-raises every 50 ms, and an alarm raised on entering Budget.__exit__ or contextlib's __exit__, before the
generator resumed, escaped with the timer still running; the generator, kept alive by a reference cycle
(error → traceback → handler frame → the list holding the error), was collected only at interpreter exit,
after Python had reset SIGALRM to its default action. These tests drive that window by hand.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symnet.bounds import alarm, time_limit
from symnet.errors import LimitError

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM timers are POSIX")
ROOT = Path(__file__).resolve().parents[1]


def _spin(seconds: float) -> int:
    """Run Python for ``seconds``, swallowing LimitErrors (as a broad except inside SymPy would): how many. The
    loop runs inside a second try: a signal is handled at a loop's back edge, and the while loop's own (outside the
    inner try) let one escape once in a CI run of session 26 (LimitError: due, at the ``while`` line)."""
    swallowed, end = [0], time.monotonic() + seconds

    def run():
        while time.monotonic() < end:
            try:
                for _ in range(1000):
                    pass
            except LimitError:
                swallowed[0] += 1

    while True:
        try:
            run()
            return swallowed[0]
        except LimitError:
            swallowed[0] += 1


def test_an_alarm_due_on_entering_exit_is_not_raised_and_the_timer_is_gone(clean_timer):
    """The window itself: the handler runs with the interrupted frame being __exit__ (where the old
    generator's contextlib.__exit__ let the error escape before disarming)."""
    a = alarm(0.01, lambda: LimitError("due"))
    a.__enter__()
    assert _spin(0.2) >= 2  # due, and raised again every 50 ms while swallowed
    frame = type("Frame", (), {"f_code": alarm.__exit__.__code__})()
    a._on_alarm(signal.SIGALRM, frame)  # as if at __exit__'s first instruction: no raise
    a.__exit__(None, None, None)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is not a._on_alarm
    assert _spin(0.15) == 0


def test_a_budget_left_while_its_alarm_repeats_leaves_no_timer(clean_timer):
    from symnet.verify.budget import Budget, VerifyTimeoutError

    with pytest.raises(VerifyTimeoutError):
        with Budget(0.01) as b:
            end = time.monotonic() + 0.3
            while time.monotonic() < end:  # the alarm swallowed, repeatedly
                try:
                    b.check()
                    time.sleep(0.001)
                except VerifyTimeoutError:
                    pass
            time.sleep(0.06)
            b.check()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)


def test_time_limit_is_not_a_generator_and_restores_the_handler(clean_timer):
    sentinel = lambda signum, frame: None  # noqa: E731
    signal.signal(signal.SIGALRM, sentinel)
    with pytest.raises(LimitError, match="slow"):
        with time_limit(0.02, "slow"):
            _spin(0.2)
            raise_late = time.monotonic() + 1
            while time.monotonic() < raise_late:
                pass
    assert signal.getsignal(signal.SIGALRM) is sentinel and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_command_line_exits_with_its_status_not_sigalrm():
    """The CI failure, run a few times at budgets that end in different stages (status 2, one line)."""
    formula = " + ".join(f"log(1+exp(sin(x{i})*cos(x{(i + 1) % 16})))*tanh(x{(i + 3) % 16})" for i in range(16))
    for budget in ("0.3", "1"):
        r = subprocess.run([sys.executable, "-m", "symnet", "verify", formula, "--timeout", budget], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (r.returncode, r.stderr)
