"""Session 44, helper break44: a hostile or careless user against session 43's new code — the time limit in worker
threads (bounds.thread_alarm) and the new stability rules — compared with mpmath (enough digits for the cancellation)
and torch autograd float64 at the same points.

Fixed here:
- thread_alarm (the time limit of ``symnet.derive``/``compile``/``verify`` in a thread that is not the main one) left its
  watchdog armed when a deadline was raised while the block was being entered (``Thread.start`` waits for the
  watchdog thread to run) or as an inner block's ``__exit__`` was called (at its first instruction): the deadline then
  escaped as the private ``_ThreadDeadline`` instead of the limit's error, and the watchdog raised it again every 50 ms
  in whatever the thread ran next, until the process ended (into another thread too, once the first had finished and
  its ident was reused).
"""
import threading
import time

import pytest

from symnet import bounds
from symnet.errors import LimitError, TimeLimitError
from symnet.verify.budget import Budget, VerifyTimeoutError

thread_only = pytest.mark.skipif(not bounds.thread_alarm.available(), reason="no PyThreadState_SetAsyncExc")


def _busy(seconds):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        pass


def _in_threads(work, n):
    """work(i) in n threads at once; what each returned or raised (its class's name), in order."""
    outcomes = [None] * n

    def run(i):
        try:
            outcomes[i] = work(i)
        except BaseException as e:  # noqa: BLE001  # what escaped, whatever it is
            outcomes[i] = ("escaped", type(e).__name__)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def _then_quiet(seconds=0.3):
    """Busy for ``seconds`` after the limited block: a stray deadline would surface here."""
    try:
        _busy(seconds)
    except BaseException as e:  # noqa: BLE001
        return ("stray", type(e).__name__)
    return "quiet"


# ---------------------------------------------------------------- thread_alarm (fixed)

@thread_only
@pytest.mark.parametrize("cpu", [False, True])
def test_a_limit_due_while_entering_raises_its_own_error(cpu):
    # measured before the fix: 30 of 30 threads (three runs) got the private _ThreadDeadline, not TimeLimitError
    def work(i):
        try:
            with bounds.time_limit(1e-7 * (i + 1), "tiny", cpu=cpu):
                _busy(3)  # long beside the watchdog's wait for the GIL among 8 busy threads
        except TimeLimitError as e:
            assert str(e) == "tiny"
            return _then_quiet()
        return ("not raised",)
    assert _in_threads(work, 8) == ["quiet"] * 8


class _Outer(Exception):
    pass


class _Inner(Exception):
    pass


@thread_only
def test_an_enclosing_limit_ending_a_loop_of_inner_limits_leaves_nothing_armed():
    # measured before the fix: 18 of 20 threads took a stray _ThreadDeadline after the block (inner limit 0.3 s),
    # 2 of 20 got _ThreadDeadline in place of the outer limit's error
    def work(i):
        entered = 0
        try:
            with bounds.thread_alarm(0.05 + 0.001 * i, _Outer):
                while True:
                    with bounds.thread_alarm(30, _Inner):
                        entered += 1
        except _Outer:
            return _then_quiet(0.2)
    assert _in_threads(work, 12) == ["quiet"] * 12


@thread_only
def test_many_limits_ending_near_their_deadlines_in_many_threads():
    # blocks whose work (12.5 ms) ends before, at or after their deadline (5–20 ms), 40 in each of 8 threads;
    # before the fix the process's threads took stray deadlines (the run's main thread too: no result came back)
    import random

    def work(i):
        r = random.Random(i)
        for _ in range(40):
            try:
                with bounds.thread_alarm(r.uniform(0.005, 0.02), _Outer):
                    _busy(0.0125)
            except _Outer:
                pass
        return _then_quiet(0.2)
    assert _in_threads(work, 8) == ["quiet"] * 8


@thread_only
def test_the_verify_budget_of_a_tiny_timeout_in_a_worker_thread():
    def work(i):
        try:
            with Budget(1e-7):
                _busy(3)
        except VerifyTimeoutError:
            return _then_quiet()
        return ("not raised",)
    assert _in_threads(work, 8) == ["quiet"] * 8


@thread_only
def test_limits_in_a_thread_pool_leave_its_workers_quiet():
    from concurrent.futures import ThreadPoolExecutor

    def limited(i):
        try:
            with bounds.time_limit(1e-7 if i % 2 else 0.01, "limited"):
                _busy(3)
        except LimitError:
            return "limited"
        return "finished"

    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(limited, range(16)))
        after = list(pool.map(lambda i: _then_quiet(0.1), range(8)))  # the same workers, no limit
    assert first == ["limited"] * 16
    assert after == ["quiet"] * 8
