"""One progress line for work that takes longer than a second, shared by the command line
and the Python API (``symnet.derive(..., progress=)``, ``symnet.compile(..., progress=)``).

``progress=None`` (automatic) shows it where someone watches: stderr is a terminal, or the
code runs in a Jupyter kernel (there tqdm's notebook bar, via ``tqdm.auto``); ``True`` always
(on stderr), ``False`` never. The environment variable ``SYMNET_PROGRESS`` decides for every
automatic one, where no argument can be passed (the first call of a :mod:`symnet.torch` op,
which derives and generates its kernel): ``SYMNET_PROGRESS=0`` never, ``SYMNET_PROGRESS=1``
always; unset (or anything else), automatic. Either way nothing appears before :data:`PROGRESS_AFTER_S`
seconds, and the line is erased at the end; a stream that is None or closed shows nothing (the work
goes on, never failed by its progress line). A progress line already open in this thread
(``symnet.compile`` deriving inside ``symnet.derive``'s line, say) shows no second one.

``with progress(label) as line:`` gives a handle whose ``line.say(text)`` shows ``text`` after the elapsed
seconds (``symnet: measuring … 12 s, float64: 50-digit references, point 412 of 924``), drawn at the next
redraw; a block inside another line's says on the outer one. Where nothing is shown it does nothing.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from .errors import SymnetError

__all__ = ["PROGRESS_AFTER_S", "progress", "say"]

PROGRESS_AFTER_S = 1.0  # a task that takes longer shows a progress line
ENV = "SYMNET_PROGRESS"  # "0": never; "1": always; otherwise automatic (see the module's docstring)
REDRAW_S = 0.5  # the elapsed seconds are redrawn this often
_open = threading.local()


def _in_jupyter() -> bool:
    """Whether this process is a Jupyter kernel (IPython's kernel app is configured)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _unsized(stream) -> bool:
    """Whether ``stream`` is a terminal that reports no size (0 × 0: a pseudo-terminal opened without
    one): tqdm took its 0 lines as room for no bar and drew nothing."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return size.columns == 0 or size.lines == 0


def _writable(stream) -> bool:
    """Whether a progress line can be drawn on ``stream``: not None (``sys.stderr`` of a process started
    without one: tqdm then deadlocked on its lock at the end, a hang) and not closed (tqdm's "I/O
    operation on closed file" failed the work the line was about)."""
    if stream is None or getattr(stream, "closed", False):
        return False
    return callable(getattr(stream, "write", None))


class _Silent:
    """The handle of a progress line that is not shown: ``say`` does nothing."""

    def say(self, text: str) -> None:
        pass


SILENT = _Silent()


class _Line:
    """The handle of a shown progress line: ``say(text)`` sets what follows the elapsed seconds."""

    def __init__(self):
        self.text = ""

    def say(self, text: str) -> None:
        self.text = str(text)


def say(text: str) -> None:
    """``line.say(text)`` on the progress line open in this thread, if any: for a stage deep inside the work
    (which output ``symnet.compile`` is stabilising) that has no handle of its own. Nothing where none is open."""
    line = getattr(_open, "active", None)
    if line is not None:
        line.say(text)


def check_setting(enabled) -> None:
    """Raises SymnetError unless ``enabled`` is None, True or False."""
    if enabled is not None and not isinstance(enabled, bool):
        raise SymnetError(f"progress must be None (automatic), True or False, not {enabled!r}")


@contextlib.contextmanager
def progress(label: str, enabled: bool | None = None, stream=None, after: float | None = None,
             every: float | None = None, cpu_limit: float | None = None):
    """While the block runs longer than ``after`` seconds (default :data:`PROGRESS_AFTER_S`),
    show ``symnet: LABEL … N s`` on ``stream`` (default stderr), drawn by tqdm (its ``delay``; an
    indeterminate bar of elapsed seconds, redrawn every ``every`` seconds) and erased at the end.
    ``cpu_limit``: the block runs under a limit of that many CPU seconds (``derive --stable``'s hazard
    measurement), and the line adds the CPU seconds spent of it (``… 40 s, 12 of 60 CPU s``): on a
    loaded machine the wall-clock seconds pass the limit long before the work does.

    ``enabled``: None shows it only where stderr is a terminal or in a Jupyter kernel, so pipes,
    files and tests see nothing, unless ``SYMNET_PROGRESS`` is "0" (never) or "1" (always);
    True always; False never.

    Raises:
        SymnetError: ``enabled`` is not None, True or False.
    """
    check_setting(enabled)
    stream = sys.stderr if stream is None else stream
    after = PROGRESS_AFTER_S if after is None else after
    every = REDRAW_S if every is None else every
    jupyter = False
    if enabled is None:
        enabled = {"0": False, "1": True}.get(os.environ.get(ENV, "").strip())
    if enabled is None:
        isatty = getattr(stream, "isatty", None)
        jupyter = _in_jupyter()
        enabled = jupyter or bool(isatty and isatty())
    outer = getattr(_open, "active", None)
    if outer is not None:  # a line is open in this thread: this block says on it
        yield outer
        return
    if not enabled or not _writable(stream):
        yield SILENT
        return
    if jupyter:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    # a label cut with "…" (a long formula) is not followed by a second one: "exp(… … 3 s" read as a stutter
    gap = " " if label.endswith("…") else " … "
    bar = tqdm(desc=f"symnet: {label}", bar_format="{desc}" + gap + "{elapsed_s:.0f} s{postfix}", file=stream,
               delay=after, mininterval=every, leave=False, dynamic_ncols=False,
               **({"ncols": 80, "nrows": 24} if _unsized(stream) else {}))
    done = threading.Event()

    cpu_start = time.process_time()
    line = _Line()

    def tick():  # a block of SymPy work calls nothing back: the elapsed time is redrawn from here
        while not done.wait(every):
            try:
                said = [f"{time.process_time() - cpu_start:.0f} of {cpu_limit:g} CPU s"] if cpu_limit else []
                said += [line.text] if line.text else []
                if said:
                    bar.set_postfix_str(", ".join(said), refresh=False)
                bar.update(0)
            except (OSError, ValueError):  # the stream was closed meanwhile: stop drawing, the work goes on
                return

    thread = threading.Thread(target=tick, name="symnet-progress", daemon=True)
    _open.active = line
    thread.start()
    try:
        yield line
    finally:
        _open.active = None
        done.set()
        thread.join()
        try:
            bar.close()
        except (OSError, ValueError):  # a stream closed meanwhile: the work's result stands
            pass
