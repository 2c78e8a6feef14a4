"""Session 45, helper thread45: where else a thread_alarm deadline can land (it is raised at the limited thread's next
bytecode, wherever that is), and an enclosing block's deadline raised while an inner block is being entered.

Each case holds the limited thread at one place (a trace function waiting there, or a lock another thread holds) until
the deadline is due and the watchdog has raised it; then the block must raise its own error, leave nothing armed (no
block listed, no watchdog gate held), leave no lock held, and report nothing to ``sys.unraisablehook``.
"""
import logging
import sys
import threading
import time
import weakref

import pytest

from symnet import bounds
from symnet.verify.budget import Budget
from test_break44 import _busy, _in_threads, _then_quiet  # noqa: F401  (session 44's helpers)

thread_only = pytest.mark.skipif(not bounds.thread_alarm.available(), reason="no PyThreadState_SetAsyncExc")


class _Limit(Exception):
    pass


class _Outer(Exception):
    pass


class _Inner(Exception):
    pass


def _line_of(function, text: str, last: bool = False) -> int:
    """The number of the first (``last``: the last) line of ``function`` holding ``text``."""
    import inspect
    lines, first = inspect.getsourcelines(function)
    found = [i for i, line in enumerate(lines) if text in line]
    return first + found[-1 if last else 0]


def _hold_at(code, line=None, seconds=0.25):
    """Trace the calling thread: the first time it reaches ``code`` (its call; with ``line``, that line), it waits
    there ``seconds`` (sleeping, so the watchdog runs). A deadline raised meanwhile is raised in the trace function,
    that is at that place of ``code``'s frame. Returns a list that holds True once it has waited."""
    held = []

    def wait():
        held.append(True)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.005)

    def local(frame, event, arg):
        if not held and event == "line" and frame.f_lineno == line:
            wait()
        return local

    def tracer(frame, event, arg):
        if held or frame.f_code is not code:
            return None
        if line is None:
            wait()
            return None
        return local

    sys.settrace(tracer)
    return held


def _left_armed(blocks) -> list:
    """What is left armed: blocks still listed in this thread, blocks armed (named). (A block's gate is taken by its
    watchdog once the block is left: not a sign.)"""
    left = [f"listed {type(b).__name__}" for b in bounds._blocks()]
    return left + [f"armed {i}" for i, b in enumerate(blocks) if b._armed]


def _in_thread(work):
    out = _in_threads(lambda i: work(), 1)
    return out[0]


# ---------------------------------------------------------------- the block's own entry and exit

_ALARM = bounds.thread_alarm


def _places():
    """Where the limited thread is held while its block's deadline comes due: (code, line or None: its call), what
    the block's body does (returns at once, or works until the deadline is raised in it), the error expected."""
    enter, leave = _ALARM.__enter__, _ALARM.__exit__
    return {
        "thread_alarm.__exit__ called, the work done": (leave.__code__, None, "done", "not raised"),
        "thread_alarm.__exit__ called, the deadline raised": (leave.__code__, None, "busy", "_Limit"),
        "thread_alarm._leave called, the work done": (_ALARM._leave.__code__, None, "done", "not raised"),
        "thread_alarm._leave called, the deadline raised": (_ALARM._leave.__code__, None, "busy", "_Limit"),
        "thread_alarm.__enter__ returning": (enter.__code__, _line_of(enter, "return self"), "busy", "_Limit"),
        "Budget.__enter__ returning": (Budget.__enter__.__code__, _line_of(Budget.__enter__, "return self", last=True),
                                       "busy", "VerifyTimeoutError"),
        "Budget.__exit__ called, the work done": (Budget.__exit__.__code__, None, "done", "not raised"),
        "Budget.__exit__ called, the deadline raised": (Budget.__exit__.__code__, None, "busy", "VerifyTimeoutError"),
    }


@thread_only
@pytest.mark.parametrize("place", sorted(_places()))
def test_a_deadline_due_while_the_block_is_entered_or_left_raises_its_own_error(place, recorded, monkeypatch):  # noqa: F811
    code, line, body, expected = _places()[place]
    made = []

    class Recorded(bounds.thread_alarm):  # the same methods; each block made is kept for the checks
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(sys.modules[Budget.__module__], "thread_alarm", Recorded)

    def work():
        block = Budget(0.02) if code in (Budget.__enter__.__code__, Budget.__exit__.__code__) else Recorded(0.02, _Limit)
        held = _hold_at(code, line)
        try:
            with block:
                if body == "busy":
                    _busy(5)
        except BaseException as e:  # noqa: BLE001
            outcome = type(e).__name__
        else:
            outcome = "not raised"
        finally:
            sys.settrace(None)
        return outcome, bool(held), _left_armed(made), _then_quiet(0.15)

    got = _in_thread(work)
    assert got == (expected, True, [], "quiet"), got
    assert [kind for kind, _ in recorded] == []


# ---------------------------------------------------------------- an enclosing block due while an inner one is entered

def _entry_places():
    """Each line of thread_alarm.__enter__'s own code (not the watchdog's, defined in it), and its call: where the
    limited thread is held while entering an inner block."""
    code = _ALARM.__enter__.__code__
    return [None] + sorted({line for _, _, line in code.co_lines() if line and line > code.co_firstlineno})


@thread_only
def test_an_enclosing_deadline_due_while_an_inner_block_is_entered_raises_the_enclosing_error(recorded):  # noqa: F811
    # measured before the fix (8d42f217): passed at each of these places (the entry's try undoes a deadline raised in
    # it); held at a line of the watchdog's own code (never reached: only the trace function left on), 3 failed, the
    # enclosing deadline escaping as _ThreadDeadline with the inner block armed (the exit's clear left CPython's
    # pending flag set: see test_a_traced_or_profiled_call_after_a_limited_block_returns). Now the watchdog waits
    # while the thread is in an entry: the enclosing deadline is raised in the inner block
    def work(line):
        outer = bounds.thread_alarm(0.02, _Outer)
        inner = bounds.thread_alarm(30, _Inner)
        try:
            with outer:
                _hold_at(_ALARM.__enter__.__code__, line)
                with inner:
                    _busy(5)
        except BaseException as e:  # noqa: BLE001
            outcome = type(e).__name__
        else:
            outcome = "not raised"
        finally:
            sys.settrace(None)
        return outcome, _left_armed([outer, inner]), _then_quiet(0.1)

    places = _entry_places()
    got = _in_threads(lambda i: work(places[i]), len(places))
    assert got == [("_Outer", [], "quiet")] * len(places), [(p, g) for p, g in zip(places, got) if g[0] != "_Outer"]


@thread_only
def test_an_enclosing_limit_ending_a_loop_of_entries_many_times():
    # an inner block entered and left again and again until the enclosing limit (5–25 ms) is due, 12 times in each of
    # 4 threads: the enclosing error each time, nothing armed after, no stray deadline
    def work(i):
        outcomes = []
        for k in range(12):
            blocks = []
            try:
                with bounds.thread_alarm(0.005 + 0.02 * ((i * 12 + k) % 7) / 6, _Outer) as outer:
                    blocks.append(outer)
                    while True:
                        inner = bounds.thread_alarm(30, _Inner)
                        blocks[1:] = [inner]
                        with inner:
                            pass
            except BaseException as e:  # noqa: BLE001
                outcomes.append(type(e).__name__ if not _left_armed(blocks) else ("armed", _left_armed(blocks)))
        return [o for o in outcomes if o != "_Outer"], _then_quiet(0.1)

    assert _in_threads(work, 4) == [([], "quiet")] * 4


# ---------------------------------------------------------------- library code holding a lock when the deadline is due

def _held_by_another_thread(lock, seconds=0.3):
    """Start a thread that holds ``lock`` for ``seconds``; returns once it holds it."""
    holding = threading.Event()

    def hold():
        with lock:
            holding.set()
            time.sleep(seconds)

    threading.Thread(target=hold, daemon=True).start()
    holding.wait()


def _free(lock) -> bool:
    """Whether another thread can take ``lock`` (within 10 s: the holder sleeps 0.3 s)."""
    out = []

    def take():
        if lock.acquire(timeout=10):
            lock.release()
            out.append(True)

    t = threading.Thread(target=take)
    t.start()
    t.join()
    return bool(out)


@thread_only
@pytest.mark.parametrize("kind", ["threading.Condition", "threading.Event", "logging.Handler"])
def test_a_deadline_due_while_library_code_waits_for_its_lock_leaves_the_lock_free(kind, recorded):  # noqa: F811
    # measured before the fix (8d42f217): the deadline was raised as Condition.__enter__ (Handler.acquire) got the lock,
    # before its try: the lock stayed held by the limited thread (another thread's next wait or log blocked for ever)
    if kind == "logging.Handler":
        handler = logging.StreamHandler(open("/dev/null", "w"))  # noqa: SIM115
        lock, use = handler.lock, lambda: handler.handle(logging.makeLogRecord({"msg": "limited"}))
    elif kind == "threading.Event":
        event = threading.Event()
        lock, use = event._cond, lambda: event.is_set() or event.wait(0.001)
    else:
        condition = threading.Condition()
        lock = condition

        def use():
            with condition:
                pass

    def work():
        _held_by_another_thread(lock)
        try:
            with bounds.thread_alarm(0.02, _Limit):
                use()  # waits 0.3 s for the lock, the deadline due meanwhile
                _busy(5)
        except BaseException as e:  # noqa: BLE001
            outcome = type(e).__name__
        else:
            outcome = "not raised"
        return outcome, _free(lock), _then_quiet(0.1)

    assert _in_thread(work) == ("_Limit", True, "quiet")
    assert recorded == []


# ---------------------------------------------------------------- finalizers

@thread_only
@pytest.mark.parametrize("kind", ["__del__", "weakref callback"])
def test_a_deadline_due_in_a_finalizer_is_raised_in_the_block(kind, recorded):  # noqa: F811
    # three quarters of the time in finalizers (30 ms each, 10 ms between). Measured before the fix (8d42f217): the
    # deadline landed in a __del__, cutting it short (dropped there, raised again in the block): 3 of 3 runs had a
    # finalizer that did not finish; now the watchdog waits while a __del__ runs. A weakref callback cannot be told from
    # other code: the deadline may still land there, dropped and raised again in the block.
    started, finished = [], []

    class Finalized:
        def __del__(self):
            started.append(True)
            _busy(0.03)
            finished.append(True)

    class Plain:
        pass

    def callback(reference):
        started.append(True)
        _busy(0.03)
        finished.append(True)

    def work():
        started.clear(), finished.clear()
        kept = []
        try:
            with bounds.thread_alarm(0.05, _Limit):
                while True:
                    _busy(0.01)
                    if kind == "__del__":
                        Finalized()
                    else:
                        plain = Plain()
                        kept[:] = [weakref.ref(plain, callback)]
                        del plain
        except BaseException as e:  # noqa: BLE001
            outcome = type(e).__name__
        else:
            outcome = "not raised"
        return outcome, _then_quiet(0.1), len(started) - len(finished)

    outcomes = [_in_thread(work) for _ in range(3)]
    assert [o[:2] for o in outcomes] == [("_Limit", "quiet")] * 3
    assert [k for k, _ in recorded if issubclass(k, bounds._ThreadDeadline)] == []
    if kind == "__del__":
        assert [o[2] for o in outcomes] == [0, 0, 0]  # each finalizer ran to its end


# ---------------------------------------------------------------- a traced call after a limited block

def test_a_traced_or_profiled_call_after_a_limited_block_returns():
    # measured before the fix (8d42f217): the block's exit cleared a deadline set but not yet raised with
    # PyThreadState_SetAsyncExc(thread, NULL), which leaves CPython 3.11's "exception pending" flag set: with a trace
    # function (pdb, coverage's Python tracer) or cProfile the next Python call spun at its first instruction for ever
    import subprocess
    import textwrap
    script = textwrap.dedent("""
        import sys, threading, time
        from symnet import bounds

        def f():
            return 1

        def work():
            for _ in range(10):
                try:
                    with bounds.thread_alarm(0.01, RuntimeError):
                        start = time.monotonic()
                        while time.monotonic() - start < 0.2:
                            pass
                except RuntimeError:
                    pass

        if not bounds.thread_alarm.available():
            print("returned")
            sys.exit()
        t = threading.Thread(target=work)
        t.start()
        t.join()
        sys.settrace(lambda *a: None)
        f()
        sys.settrace(None)
        import cProfile
        cProfile.run("f()", "/dev/null")
        print("returned")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "returned", done.stderr[-2000:]


@thread_only
def test_a_deadline_due_while_waiting_for_another_threads_import_leaves_the_module_importable(tmp_path, recorded):  # noqa: F811
    # the limited thread waits in importlib's module lock (Python code: _ModuleLock.acquire) while another thread runs
    # the module (0.3 s); the deadline is due meanwhile. The module must still import in a third thread. (Passed before
    # the fix too, 8d42f217: a guard; the watchdog now also waits while the innermost frame is importlib's.)
    name = "thread45_slow_module"
    (tmp_path / f"{name}.py").write_text("import time\ntime.sleep(0.3)\nVALUE = 45\n")
    sys.path.insert(0, str(tmp_path))
    try:
        importing = threading.Thread(target=lambda: __import__(name))
        importing.start()
        time.sleep(0.05)  # (a head start only: if the limited thread imports first, it runs the module itself)

        def work():
            try:
                with bounds.thread_alarm(0.02, _Limit):
                    __import__(name)
                    _busy(5)
            except BaseException as e:  # noqa: BLE001
                return type(e).__name__, _then_quiet(0.1)
            return "not raised", _then_quiet(0.1)

        got = _in_thread(work)
        importing.join()
        third = []
        t = threading.Thread(target=lambda: third.append(__import__(name).VALUE))
        t.start()
        t.join(30)
        assert (got, third) == (("_Limit", "quiet"), [45])
        assert recorded == []
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
