"""Launches of generated Triton kernels under Triton's interpreter (``TRITON_INTERPRET=1``, the CPU).

:func:`interpreted_launch` is the one block every launch symnet makes there runs in (``symnet.compile(...,
backend="triton")``'s function and its ``value`` op, the :mod:`symnet.torch` ops). It does two things:

- **Quiet.** The interpreter runs each operation in NumPy on every lane, so a ``tl.where``'s discarded branch is
  computed too: w·log(cosh(p − t)) at |p − t| ≫ 1 printed "RuntimeWarning: overflow encountered in multiply",
  "divide by zero encountered in divide" and "invalid value encountered in divide/multiply" from
  triton/runtime/interpreter.py on ordinary data (session 51's new user), which a GPU never does. The block sets
  ``np.errstate(all="ignore")`` for the launch alone; the results are the same (NaN where a kept lane is NaN).
- **One patch of triton.language per launch.** Triton 3.x's interpreter patches ``triton.language`` (its
  builtins, found by ``inspect.getmembers``) when a kernel is launched, and again at every call of a
  ``@triton.jit`` helper inside it, although the launch's patch is in place already (the helper's is never undone,
  and patches nothing new: the builtins it looks for are already replaced). A double-word kernel calls its helpers
  thousands of times: ((p − t)² + c²)^(q/2) − c^q's launch on 5 entries of float64 made 6,615 calls and spent 17 of
  its 34 profiled seconds re-patching, so that from_formula + torch.autograd.gradcheck (about 40 launches) took
  minutes. Inside the block a helper whose module was patched already in the running launch skips the repeated patch;
  the launch itself patches and restores as before. Other threads and other kernels (the user's own) are untouched.

Outside the interpreter the block does nothing.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

__all__ = ["interpreted", "interpreted_launch"]

_state = threading.local()  # .depth: launches open in this thread; .globals: ids of the module globals patched in the running launch
_install = threading.Lock()
_installed = {"count": 0, "original": None}


def interpreted() -> bool:
    """Whether Triton kernels run under the interpreter in this process (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def _patch_lang_once(fn):
    """Triton's ``interpreter._patch_lang`` while a launch of this thread is in :func:`interpreted_launch`: the
    kernel's own patch as before (its launch restores it); a helper's as before the first time its module (the
    generated one, or triton.language.standard's ``zeros_like``) is met in this launch, and an empty scope after
    (Triton never undoes a helper's patch: it stays in place for the rest of the launch)."""
    from triton.runtime import interpreter

    original = _installed["original"]
    if not getattr(_state, "depth", 0) or original is None:  # another thread, or no symnet launch: as Triton does
        return (original or interpreter._patch_lang)(fn)
    patched = getattr(_state, "globals", None)
    if patched is not None and id(fn.__globals__) in patched:
        return interpreter._LangPatchScope()  # nothing to undo
    scope = original(fn)
    if patched is None:  # the launch's own patch: forgotten when the launch restores it
        _state.globals = {id(fn.__globals__)}
        restore = scope.restore

        def restore_and_forget():
            _state.globals = None
            restore()

        scope.restore = restore_and_forget
    else:
        patched.add(id(fn.__globals__))
    return scope


@contextlib.contextmanager
def _patched_once():
    from triton.runtime import interpreter

    if not hasattr(interpreter, "_patch_lang") or not hasattr(interpreter, "_LangPatchScope"):
        yield  # another Triton: its interpreter as it is
        return
    with _install:
        if _installed["count"] == 0:
            _installed["original"] = interpreter._patch_lang
            interpreter._patch_lang = _patch_lang_once
        _installed["count"] += 1
    outer = getattr(_state, "globals", None)
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
        _state.globals = outer
        with _install:
            _installed["count"] -= 1
            if _installed["count"] == 0:
                interpreter._patch_lang = _installed["original"]
                _installed["original"] = None


@contextlib.contextmanager
def interpreted_launch(label: str | None = None):
    """The block around a launch of generated Triton kernels: under the interpreter, NumPy's floating-point warnings
    off, triton.language patched once per launch (see the module's docstring) and, where ``label`` names the kernel,
    a progress line ``symnet: running LABEL in Triton's interpreter … N s`` (:func:`symnet.progress.progress`: after a
    second, where someone watches): a double-word kernel there takes seconds a launch, gradcheck dozens of launches,
    and nothing said why (session 51's new user thought it hung). Elsewhere nothing."""
    if not interpreted():
        yield
        return
    from ....progress import progress

    shown = contextlib.nullcontext() if label is None else progress(
        f"running {label} in Triton's interpreter (TRITON_INTERPRET=1: seconds a launch)")
    with shown, np.errstate(all="ignore"), _patched_once():
        yield
