"""Size limits for the numbers symnet computes exactly from what a user typed.

SymPy evaluates powers of rational numbers eagerly and exactly: ``2**(2**x)`` at x = 40
builds an integer of 2⁴⁰ bits (137 GB), and ``x**x**x`` at 10 one of 3·10¹⁰ bits that
never finishes. So before an expression is evaluated exactly at a point, every
sub-expression is first estimated bottom-up in floating point (mpmath, 30 digits: its
exponent is unbounded and its cost does not grow with the magnitude), and evaluation is
refused with a one-line :class:`~symnet.errors.LimitError` when any estimate lies outside
10^±MAX_DIGITS. Only then is the exact value computed, and it is refused too if an
exact numerator or denominator has more than PRINT_DIGITS digits (sums of fractions can
grow past the estimate; Python refuses to print integers beyond 4300 digits).
"""
from __future__ import annotations

import contextlib
import gc
import math
import random
import signal
import sys
import _thread
import threading
import time
from typing import Callable, ContextManager, Mapping

import sympy as sp

from .errors import LimitError, TimeLimitError

__all__ = ["MAX_DIGITS", "PRINT_DIGITS", "check_magnitudes", "check_exact", "value_at", "time_limit", "alarm", "thread_alarm", "quiet_while_leaving",
           "quiet_while_entering"]

MAX_DIGITS = 1000          # every intermediate value lies within 10^±1000 ...
PRINT_DIGITS = 4000        # ... and every exact integer in a result has at most 4000 digits
_LONGEST_TIMER = 1e8       # seconds (three years); a longer time limit is no limit
_PREC = 30                 # digits of the estimates
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
_PRINT_BITS = math.ceil(PRINT_DIGITS * math.log2(10))
# what the estimate of a sub-expression may raise when it is out of any sane range
_ESTIMATE_ERRORS = (OverflowError, ValueError, ZeroDivisionError, MemoryError, RecursionError)


def _short(e, limit: int = 80) -> str:
    s = str(e)
    return s if len(s) <= limit else s[:limit] + "…"


def _log10_size(part) -> int | None:
    """⌊log10 |part|⌋ for a nonzero finite Float, else None."""
    if not isinstance(part, sp.Float) or not part.is_finite or part.is_zero:
        return None
    _, mantissa, exponent, bits = part._mpf_
    if not mantissa:
        return None
    return (exponent + bits) * 30103 // 100000  # integers: the exponent may have 1000s of bits


def _power_of_ten(size: int) -> str:
    digits = str(abs(size))
    if len(digits) <= 6:
        return f"10^{size}"
    return f"10^({'-' if size < 0 else ''}{digits[0]}.{digits[1]}e{len(digits) - 1})"


def _check(estimate: sp.Expr, node: sp.Expr, where: str) -> None:
    parts = (estimate,) if isinstance(estimate, sp.Float) else estimate.as_real_imag()
    for part in parts:
        size = _log10_size(part)
        if size is not None and abs(size) > MAX_DIGITS:
            kind = "large" if size > 0 else "small"
            raise LimitError(f"{where}{_short(node)} is too {kind} to evaluate exactly (about "
                             f"{_power_of_ten(size)}; symnet's limit is 10^±{MAX_DIGITS})")


def check_magnitudes(expr: sp.Expr, values: Mapping | None = None, where: str = "") -> None:
    """Estimate every sub-expression of ``expr`` (with ``values`` put in) in floating point;
    raise :class:`LimitError` naming the first one outside 10^±MAX_DIGITS.

    ``where`` starts the message (e.g. ``"f = 2**u1 at x = 40: "``). Nothing is computed exactly,
    so this is fast whatever the magnitudes are.
    """
    values = values or {}
    memo: dict = {}

    def estimate(e: sp.Expr) -> sp.Expr:
        if e in memo:
            return memo[e]
        try:
            if e in values:
                est = sp.sympify(values[e]).evalf(_PREC)
            elif not e.args:
                est = e.evalf(_PREC) if e.is_number else e
            else:
                est = e.func(*[estimate(a) for a in e.args])
                if est.is_number:
                    est = est.evalf(_PREC)
        except LimitError:
            raise
        except _ESTIMATE_ERRORS:
            raise LimitError(f"{where}{_short(e)} is too large to evaluate") from None
        if est.is_number:
            _check(est, e, where)
        memo[e] = est
        return est

    if isinstance(expr, sp.Basic):
        estimate(expr)


def check_exact(value: sp.Expr, where: str = "") -> sp.Expr:
    """``value`` itself, or :class:`LimitError` if one of its exact integers is too long to print."""
    for r in value.atoms(sp.Rational):
        if max(abs(r.p), r.q).bit_length() > _PRINT_BITS:
            raise LimitError(f"{where}an exact number of more than {PRINT_DIGITS} digits, beyond "
                             "symnet's limit")
    return value


def value_at(expr: sp.Expr, values: Mapping, where: str = "") -> sp.Expr:
    """``expr`` with ``values`` put in, computed exactly once it is known to be of bounded size."""
    check_magnitudes(expr, values, where)
    return check_exact(expr.xreplace(values), where)


def time_limit(seconds: float | None, message: str = "the derivation took too long", cpu: bool = False) -> ContextManager:
    """Raise :class:`LimitError` (``message``) in the block once ``seconds`` have passed: of the wall
    clock, or with ``cpu=True`` of the process's CPU time (:class:`cpu_alarm`, ``SIGPROF``).

    Symbolic work on a short formula can still grow without bound (``sigmoid`` nested 60
    times, ``(x + (x + …)**2)**2``), so the command line runs a user's formula under this
    limit. In the main thread on POSIX it uses ``SIGALRM`` (``SIGPROF`` with ``cpu=True``); in any
    other thread a watchdog thread (:class:`thread_alarm`, counting that thread's own CPU time with
    ``cpu=True``). For ``seconds`` None, 0 or beyond three years (inf) the block runs unlimited; a
    negative or nan ``seconds`` raises :class:`LimitError`. Once due, the error is raised again
    every 50 ms, in case a broad ``except`` inside SymPy swallowed it.
    """
    if seconds is not None and not seconds >= 0:  # negative, or nan
        raise LimitError(f"a time limit must be a number of seconds (0: none), not {seconds}")
    if seconds and seconds > _LONGEST_TIMER:  # inf or 1e308: setitimer overflows; no limit
        seconds = None
    if not seconds:
        return contextlib.nullcontext()
    error = lambda: TimeLimitError(message)  # noqa: E731
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return thread_alarm(seconds, error, cpu=cpu) if thread_alarm.available() else contextlib.nullcontext()
    return (cpu_alarm if cpu else alarm)(seconds, error)  # not wrapped in a generator: see alarm's leaving


class alarm:
    """``with alarm(seconds, error):`` — ``SIGALRM`` raising ``error()`` in the block once ``seconds`` have
    passed, then again every 50 ms (a broad ``except`` inside SymPy may swallow one); POSIX, main thread only
    (the callers check). A timer already running (``ITIMER_REAL``: pytest-timeout's signal method, an
    enclosing time_limit or verify budget, the user's own) is kept: its handler still runs at its own
    deadline, and again every interval if it repeats (a default action, terminate, is taken), and on leaving it
    is armed again with the time it had left (it was cancelled:
    ``symnet.verify(..., timeout=60)`` inside a test with a 30 s timeout left the test with none).

    Entering and leaving are safe against the repeating alarm itself: an alarm due while the block is being
    entered (in :meth:`__enter__` or a caller's marked with :func:`quiet_while_entering`) waits 50 ms, into the
    block; one due while the block is being left (in
    :meth:`__exit__`, or in a caller's ``__exit__`` registered with :func:`quiet_while_leaving`) is not
    raised, and the timer is disarmed before anything else can run. (It was a generator context manager: an
    alarm raised on entering ``__exit__``, before the generator resumed, left the timer running with this
    handler; the command line then printed its error and was killed by ``SIGALRM`` at exit, status −14.)
    """

    # the timer, its signal and the clock it counts: wall-clock time (cpu_alarm: the process's CPU time)
    _timer = getattr(signal, "ITIMER_REAL", None)
    _signum = getattr(signal, "SIGALRM", None)
    _clock = staticmethod(time.monotonic)
    _quiet_codes: set = set()  # the code of __enter__/__exit__ methods during which a due alarm is not raised

    def __init__(self, seconds: float, error: Callable[[], BaseException]):
        self.seconds, self.error = seconds, error
        self._armed = False

    def __enter__(self) -> "alarm":
        start = self._clock()
        outer_left, self._outer_interval = signal.getitimer(self._timer)
        self._outer_due = start + outer_left if outer_left > 0 else None  # the outer timer's next expiry
        self._own_due = start + self.seconds
        self._previous = signal.getsignal(self._signum)
        self._armed = True
        signal.signal(self._signum, self._on_alarm)
        signal.setitimer(self._timer, max(self._next_due() - start, 1e-6), 0.05)  # 0 would disarm it
        return self

    def _next_due(self) -> float:
        return self._own_due if self._outer_due is None else min(self._own_due, self._outer_due)

    def _on_alarm(self, signum, frame) -> None:
        if not self._armed or (frame is not None and frame.f_code in alarm._quiet_codes):
            return  # entering or leaving the block: raised 50 ms later, or __exit__ disarms the timer next
        now = self._clock()
        if self._outer_due is not None and now >= self._outer_due:
            # the outer timer's turn, as often as it would have run: an enclosing alarm (every 50 ms once due: its
            # error swallowed once came again only at this block's own deadline) or the user's repeating timer
            self._outer_due = now + self._outer_interval if self._outer_interval else None
            self._run_outer(signum, frame)
        if now >= self._own_due:
            error = self.error()
            error._symnet_alarm = self  # type: ignore[attr-defined]  # ours: the disarm loop below lets it pass
            raise error
        signal.setitimer(self._timer, max(self._next_due() - now, 1e-6), 0.05)

    def _run_outer(self, signum, frame) -> None:
        """The handler that was there before: called; the default action (terminate: a bare ``setitimer``
        without a handler) taken, not swallowed; ignored if it was ignored."""
        if callable(self._previous):
            self._previous(signum, frame)  # its handler raises, typically
        elif self._previous == signal.SIG_DFL:
            signal.setitimer(self._timer, 0)
            signal.signal(self._signum, signal.SIG_DFL)
            signal.raise_signal(self._signum)

    def __exit__(self, *exc) -> None:
        self._armed = False  # from here a due alarm is not raised (the handler returns at once)
        pending = None
        while True:  # anything raised while disarming (Ctrl-C) waits until the timer is gone; disarm again
            try:
                signal.setitimer(self._timer, 0)
                signal.signal(self._signum, signal.SIG_DFL if self._previous is None else self._previous)
                break
            except BaseException as e:  # re-raised at once, it left the timer repeating with this handler
                if pending is None and getattr(e, "_symnet_alarm", None) is not self:
                    pending = e
        if self._outer_due is not None:  # the outer timer, with the time it had left (or due at once)
            signal.setitimer(self._timer, max(self._outer_due - self._clock(), 1e-6), self._outer_interval)
        if pending is not None:
            raise pending
        if exc and getattr(exc[1], "_symnet_alarm", None) is self:
            # this block's own limit: raised afresh from here, its traceback cut at the block. The handler raised it
            # wherever the signal struck, and on CPython 3.11 that can be an instruction with no line number
            # (tb_lineno None): pytest's traceback formatting then failed with a TypeError, which crashed an xdist
            # worker (an INTERNALERROR that failed the whole CI run). Where it struck is of no use to anyone.
            raise self.error() from None


class cpu_alarm(alarm):
    """``with cpu_alarm(seconds, error):`` — :class:`alarm` counting the CPU time of the process (user and
    system, every thread: ``ITIMER_PROF``/``SIGPROF``, :func:`time.process_time`) instead of the wall clock,
    so a measurement on a machine shared with other work gets the same budget of work as on an idle one
    (a wall-clock limit of 60 s cut ``derive --stable``'s hazard measurement after 6.5 CPU s under a load
    of 9). Time spent waiting (sleep, I/O, a lock) does not count. POSIX, main thread only."""

    _timer = getattr(signal, "ITIMER_PROF", None)
    _signum = getattr(signal, "SIGPROF", None)
    _clock = staticmethod(time.process_time)


class _ThreadDeadline(BaseException):
    """What :class:`thread_alarm`'s watchdog raises in the limited thread: a ``BaseException``, so SymPy's broad
    ``except Exception`` does not swallow it; the block's exit turns it into the limit's own error."""


class thread_alarm:
    """``with thread_alarm(seconds, error, cpu=False):`` — :class:`alarm` for a thread that is not the main
    thread (a web server's or a notebook's worker), where no signal can be delivered: a watchdog thread raises
    an exception in this thread once ``seconds`` of the wall clock (``cpu=True``: of this thread's own CPU
    time, :func:`time.pthread_getcpuclockid`) have passed, and again every 25–75 ms until the block is left; the
    block's exit raises ``error()`` in its place. The exception is set with CPython's
    ``PyThreadState_SetAsyncExc`` (the mechanism of the ``func-timeout`` and ``stopit`` packages): it is raised
    at the thread's next bytecode, so a single long call into C (a huge integer product) finishes first. Once due, the
    watchdog does not raise while the thread is where the exception must not land (:func:`_unsafe_to_raise`: a block's
    entry or exit, a ``__del__``, threading's or logging's lock handling, …): it looks again every 2 ms.
    :meth:`available`: False on an interpreter without that API (then the block runs unlimited, as before)."""

    _POLL = 0.05  # seconds between the watchdog's looks at the clock, and between raises once due
    _SOON = 0.002  # seconds until the next look, once due, while the thread is where a deadline must not land
    _START = 5.0  # seconds __enter__ waits at most for its watchdog thread to start (about 0.1 ms unloaded)

    @staticmethod
    def available() -> bool:
        import ctypes
        return hasattr(ctypes, "pythonapi") and hasattr(ctypes.pythonapi, "PyThreadState_SetAsyncExc")

    def __init__(self, seconds: float, error: Callable[[], BaseException], cpu: bool = False):
        self.seconds, self.error, self.cpu = seconds, error, cpu
        # this block's own class: an enclosing block's deadline passes through this block's exit
        self._deadline = type("_ThreadDeadline", (_ThreadDeadline,), {})
        self._lock = threading.Lock()
        self._armed = False
        self._raised = False  # the watchdog has raised the deadline (it may be set and not yet raised)
        # held from entry until the block is left, the watchdog waiting on it: a C lock (a threading.Event's Python code
        # in the limited thread, where a deadline may land, could leave its Condition's lock held)
        self._gate = _thread.allocate_lock()

    def _clock(self) -> Callable[[], float]:
        if self.cpu and hasattr(time, "pthread_getcpuclockid"):
            clock_id = time.pthread_getcpuclockid(threading.get_ident())
            return lambda: time.clock_gettime(clock_id)
        return time.monotonic

    def _raise_in(self, exception) -> None:
        import ctypes
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._ident), ctypes.py_object(exception))

    def __enter__(self) -> "thread_alarm":
        self._ident = threading.get_ident()
        self._thread = threading.current_thread()  # a finished thread's ident is given to the next new thread
        clock = self._clock()  # read by the watchdog: a thread's CPU clock can be read from another thread
        due = clock() + self.seconds

        # released by the watchdog as it starts: until a new thread runs, CPython 3.11 gives its thread state the
        # ident of the thread that started it, and PyThreadState_SetAsyncExc(ident) sets the exception in the newest
        # state of that ident: an enclosing block's deadline, or _leave's take-back, would go to the watchdog not yet
        # started, not to this thread (session 46's analysis of a deadline that escaped its block)
        started = _thread.allocate_lock()
        started.acquire()

        def watch() -> None:
            started.release()
            wait = 0.0
            while not self._gate.acquire(timeout=wait):  # acquired: the block was left
                try:
                    left = due - clock()
                except OSError:  # the thread has ended, and its CPU clock with it
                    return
                if left > 0:  # the CPU clock is looked at again every 50 ms
                    wait = min(left, self._POLL)
                    continue
                with self._lock:  # due: raised, and again every 25–75 ms until the block is left
                    if not self._armed or not self._thread.is_alive():
                        return
                    if _unsafe_to_raise(self._ident):  # entering or leaving a block, or in a library's lock handling
                        wait = self._SOON
                        continue
                    self._raise_in(self._deadline)
                    self._raised = True
                # again in 25–75 ms, at random: a raise that lands in a gc callback is dropped (_drop_unraisable_deadlines),
                # and a fixed 50 ms stayed in step with a loop whose callbacks took that long (test_stop60: 54 of 54 raises
                # landed in the callback)
                wait = self._POLL * (0.5 + random.random())

        # The watchdog is started by _thread's C call, and the block's entry and exit use only C locks and plain
        # attributes: a deadline (an enclosing block's) raised inside threading's Python code (Thread.start waits on an
        # Event, whose Condition takes a lock in Python) could leave one of threading's locks held.
        try:  # a deadline raised in here never reaches __exit__: disarmed here
            if not getattr(sys.unraisablehook, "_symnet_drops_deadlines", False):
                _drop_unraisable_deadlines()
            self._gate.acquire()
            self._armed = True
            _blocks().append(self)
            _thread.start_new_thread(watch, ())
            started.acquire(timeout=self._START)  # a C lock, released by the watchdog's first statement
        except BaseException as e:
            self._leave()
            if isinstance(e, self._deadline):
                raise self.error() from None
            raise
        return self

    def _leave(self) -> list:
        """Disarm this block and every block entered inside it in this thread that is still armed: a deadline
        raised as an inner block's ``__exit__`` was called (at its first instruction, before anything in it ran) left
        that block without its exit, its watchdog raising in whatever the thread ran next (session 44: 18 of 20 threads
        took a stray deadline after an enclosing limit ended a loop of short-lived inner ones). Returns the blocks
        disarmed, this one first."""
        while True:  # a deadline raised while leaving is dropped: from here none is raised, and none is pending
            try:
                blocks = _blocks()
                left = blocks[blocks.index(self):] if self in blocks else [self]
                for block in reversed(left):
                    with block._lock:
                        block._armed = False
                    if block._gate.locked():
                        block._gate.release()  # the watchdog returns at once
                    if block in blocks:
                        blocks.remove(block)
                if any(block._raised for block in left):
                    _take_back_deadline()  # one set but not yet raised
                return left
            except _ThreadDeadline:
                continue

    def __exit__(self, kind, value, traceback) -> bool:
        left = self._leave()
        if kind is not None and issubclass(kind, _ThreadDeadline):
            # this block's deadline, or that of a block inside it left without its exit (a deadline raised at that exit's
            # first instruction: the watchdog does not raise there, but a thread that gets the GIL between the watchdog's
            # look and its raise can still be there)
            for block in left:
                if issubclass(kind, block._deadline):
                    raise block.error() from None
        return False


_THREAD_BLOCKS = threading.local()


def _drop_unraisable_deadlines() -> None:
    """Wrap ``sys.unraisablehook`` in one that drops a :class:`thread_alarm` deadline and passes everything else on.

    A deadline can land in code whose exceptions Python cannot raise: a garbage-collector callback (``gc.callbacks``:
    Hypothesis installs one), a ``__del__``, a weakref callback. Python reports it to ``sys.unraisablehook`` and goes
    on; the watchdog raises it again 50 ms later, in the block. Reported, it was noise in the user's log, and pytest's
    hook, itself interrupted by the next raise, failed the test that ran the block (stop 60's CI: test_break44, 2 of 8
    runs with Hypothesis's callback installed). Installed on the first entry of a block, again if replaced since."""
    previous = sys.unraisablehook

    def hook(unraisable, previous=previous):
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, (_ThreadDeadline, _TakenBack)):
            # raised again by its watchdog, in the block; a take-back (nothing to raise) that also reached a watchdog
            # thread not yet started (CPython 3.11 gives its state this thread's ident until then)
            return
        previous(unraisable)

    hook._symnet_drops_deadlines = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


class _TakenBack(BaseException):
    """Set in place of a deadline not yet raised, and raised and caught at once: see :func:`_take_back_deadline`."""


def _take_back_deadline() -> None:
    """Take back an exception set in the calling thread and not yet raised (a deadline the watchdog raised just before
    the block was left). ``PyThreadState_SetAsyncExc(thread, NULL)`` would clear it, but leaves the interpreter's flag
    "an exception is pending" set (CPython 3.11: only raising one clears it), and with a trace or profile function
    (a debugger, cProfile, coverage's Python tracer) the next Python call then spins at its first instruction forever
    (session 44's exit cleared it that way: after any limited block in a worker thread, a traced call hung). So
    ``_TakenBack`` replaces it and is raised here, at the call's return, and caught."""
    import ctypes
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()), ctypes.py_object(_TakenBack))
        for _ in range(2):  # a loop's jump back looks for a pending exception again (it is raised at the call's return)
            pass
    except _TakenBack:
        pass


def _blocks() -> list:
    """The :class:`thread_alarm` blocks the calling thread is in, outermost first."""
    if not hasattr(_THREAD_BLOCKS, "blocks"):
        _THREAD_BLOCKS.blocks = []
    return _THREAD_BLOCKS.blocks


# Modules whose Python code takes a lock and gives it back (or runs a generator's clean-up) with bytecode between the
# two that a deadline could land on: raised there, the lock stayed held (threading's Condition, so an Event, Thread.start
# and join; a logging handler's lock; an import's module lock; tqdm's write lock; a queue's). While the limited thread's
# innermost frame is in one of these, its watchdog waits.
_UNINTERRUPTED_MODULES = frozenset({"threading", "queue", "logging", "logging.handlers", "contextlib", "weakref",
                                    "importlib._bootstrap", "_frozen_importlib", "importlib._bootstrap_external",
                                    "_frozen_importlib_external", "tqdm.std", "tqdm.utils", "tqdm._monitor"})


def _unsafe_to_raise(ident: int) -> bool:
    """Whether a deadline raised now in thread ``ident`` would land where it must not (it is raised at that thread's next
    bytecode, in its innermost frame or a function that frame is calling):

    - in a :class:`thread_alarm`'s entry or exit, or a caller's marked with :func:`quiet_while_entering` or
      :func:`quiet_while_leaving`: raised at ``__exit__``'s first instruction, the block was left without its exit, armed,
      its private deadline escaping; raised as ``Budget.__enter__`` returned, the ``with`` never called
      ``Budget.__exit__`` (test_thread45: 8 of 8 such places);
    - in a ``__del__`` or a garbage-collector callback: the finalizer was cut short (and the deadline, unraisable there,
      dropped: a thread busy in finalizers took it late);
    - with the innermost frame in a module of ``_UNINTERRUPTED_MODULES``: a lock left held (a Condition's, so an Event's:
      the next ``Thread.start`` waiting on it hung).
    """
    frame = sys._current_frames().get(ident)
    if frame is None:
        return False
    if frame.f_code is thread_alarm.__enter__.__code__ and frame.f_lineno == _WATCHDOG_WAIT_LINE:
        return False  # waiting for its watchdog to start, inside the entry's try: disarmed there, the deadline raised on
    if frame.f_globals.get("__name__") in _UNINTERRUPTED_MODULES:
        return True
    callbacks = [getattr(callback, "__code__", None) for callback in gc.callbacks]
    while frame is not None:
        code = frame.f_code
        if code in _QUIET_THREAD_CODES or code in alarm._quiet_codes or code.co_name == "__del__" or code in callbacks:
            return True
        frame = frame.f_back
    return False


def _watchdog_wait_line() -> int | None:
    """The line of :meth:`thread_alarm.__enter__` where the thread waits for its watchdog to start (the last
    ``started.acquire``, inside the entry's ``try``): a place where a deadline may land. An entry that waits there the
    whole time its watchdog takes to start (milliseconds on a loaded box) was otherwise a quiet place most of the
    time, and an enclosing deadline due during a loop of inner blocks came seconds late or not at all (test_thread47).
    Read from the bytecode, so it holds without the source."""
    import dis
    instructions = list(dis.get_instructions(thread_alarm.__enter__))
    lines = [b.positions.lineno for a, b in zip(instructions, instructions[1:])
             if a.argval == "started" and b.argval == "acquire"]
    return lines[-1] if lines else None


_WATCHDOG_WAIT_LINE = _watchdog_wait_line()

# a thread_alarm's own entry and exit, and what they call: the watchdog does not raise while one is on the stack
_QUIET_THREAD_CODES = frozenset(f.__code__ for f in (thread_alarm.__enter__, thread_alarm.__exit__, thread_alarm._leave,
                                                     thread_alarm._raise_in, thread_alarm._clock, _blocks,
                                                     _drop_unraisable_deadlines, _take_back_deadline))


def quiet_while_leaving(function: Callable) -> Callable:
    """Mark ``function`` (an ``__exit__`` that leaves an :class:`alarm`) as a place where a due alarm is not
    raised: the alarm's own exit disarms it next (an alarm raised there escaped before the disarm)."""
    alarm._quiet_codes.add(function.__code__)
    return function


def quiet_while_entering(function: Callable) -> Callable:
    """Mark ``function`` (an ``__enter__`` that enters an :class:`alarm`) as a place where a due alarm is not
    raised: it comes again 50 ms later, inside the block. (Raised there, ``with`` never called ``__exit__``: a
    time limit of 1e-7 s left the timer repeating, and ``symnet verify --timeout 1e-7`` printed its error and
    was killed by SIGALRM, status 142.)"""
    alarm._quiet_codes.add(function.__code__)
    return function


alarm._quiet_codes.update((alarm.__enter__.__code__, alarm.__exit__.__code__))