"""What session 51's new user met (h-user51's report), fixed in session 52 (h-ux52).

1. ``from_formula`` + ``torch.autograd.gradcheck`` under ``TRITON_INTERPRET=1`` took 120–152 s with no word (the
   user thought it hung). Deriving and generating had a progress line already; the time was the launches: the
   Charbonnier loss ((p − t)² + c²)^(q/2) − c^q in float64 is a double-word kernel whose one launch on 5 entries
   calls its @triton.jit helpers 6,615 times, and Triton's interpreter re-patched triton.language (an
   ``inspect.getmembers`` scan of tl, tl.core, tl.math, tl.tensor) at every one of those calls, changing nothing:
   17 of a launch's 34 profiled seconds. symnet.codegen.backends.triton.interpreted.interpreted_launch (around
   every launch of symnet.compile(..., backend="triton")'s function and value op, and of the symnet.torch ops)
   patches once per launch, and shows ``symnet: running from_formula(…) in Triton's interpreter … N s`` after a
   second where someone watches (symnet.progress). Measured on the loaded 2-core box, 2026-12-08: a launch 13.1 s
   → 6.2 s wall, gradcheck (4 inputs × 5 entries) 367 s → 237 s wall; the rest is the interpreter's own per-operation
   cost (the tests' conftest shortcuts cut more, test processes only).
2. The Triton kernel of w·log(cosh(p − t)) run through symnet.compile printed NumPy RuntimeWarnings ("overflow
   encountered in multiply", "divide by zero encountered in divide", "invalid value encountered in divide" and "in
   multiply") from triton/runtime/interpreter.py on ordinary data (|p − t| ≈ 60): a ``tl.where``'s discarded branch
   is computed on every lane there. symnet.torch's launches had ``np.errstate(all="ignore")`` since session 42;
   symnet.compile's had nothing. Now both run in interpreted_launch (errstate for the launch alone; no warnings
   filter is installed anywhere).
3. ``symnet verify FORMULA --dtype float16`` refused with "available: float64, float32": the refusal now says why
   (the NumPy functions refuse half-precision data; the Triton kernels compute it in float32 and round once, so
   the float32 row bounds them; ``symnet verify --backend triton`` without a formula measures bfloat16), and
   README's verify section says so.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from conftest import compiled, triton_torch

torch = triton_torch()
if os.environ.get("TRITON_INTERPRET") != "1":
    pytest.skip("the interpreter's launches (TRITON_INTERPRET=1)", allow_module_level=True)

interpreter = pytest.importorskip("triton.runtime.interpreter")

import symnet.progress  # noqa: E402
from symnet.codegen.backends.triton import interpreted  # noqa: E402

WLOGCOSH = "w*log(cosh(p - t))"


def _data(dtype, n=16):
    g = torch.Generator().manual_seed(52)
    p = (torch.randn(n, generator=g, dtype=torch.float64) * 40).to(dtype)  # |p − t| up to ~100: e^x overflows
    t = torch.randn(n, generator=g, dtype=torch.float64).to(dtype)
    w = (torch.rand(n, generator=g, dtype=torch.float64) + 0.5).to(dtype)
    return p, t, w


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_triton_kernel_is_quiet_and_agrees_with_numpy(dtype):
    k = compiled(WLOGCOSH, "triton")
    kn = compiled(WLOGCOSH)
    p, t, w = _data(dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = k(p=p, t=t, w=w)
        value = k.value(p=p, t=t, w=w)
    assert not [c for c in caught if issubclass(c.category, RuntimeWarning)], [str(c.message) for c in caught]
    ref = kn(p=p.numpy(), t=t.numpy(), w=w.numpy())
    for o, r in zip(out, ref):
        np.testing.assert_allclose(o.numpy(), r, rtol=4e-7 if dtype == torch.float32 else 1e-15)
    np.testing.assert_array_equal(value.detach().numpy(), out[0].numpy())
    # the launch's errstate is the launch's alone: NumPy warns again afterwards
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        np.array([1.0]) / np.array([0.0])
    assert any(issubclass(c.category, RuntimeWarning) for c in after)


def test_from_formula_is_quiet():
    import symnet.torch as st

    f = st.from_formula(WLOGCOSH, inputs="p t w")
    p, t, w = _data(torch.float32)
    p.requires_grad_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(p, t, w).sum().backward()
    assert not [c for c in caught if issubclass(c.category, RuntimeWarning)], [str(c.message) for c in caught]
    assert torch.isfinite(p.grad).all()


def test_a_launch_patches_the_language_once(monkeypatch):
    """With Triton's own _patch_lang (not the tests' conftest shortcut), a launch of a kernel with helpers patches
    triton.language once for the kernel and once for triton.language's own helpers, not at every helper call; the
    results are bit-identical to Triton's way; the language and _patch_lang are Triton's again afterwards."""
    shipped = getattr(interpreter._patch_lang, "shipped", interpreter._patch_lang)
    calls = []

    def counting(fn):
        calls.append(fn.__name__)
        return shipped(fn)

    monkeypatch.setattr(interpreter, "_patch_lang", counting)
    k = compiled(WLOGCOSH, "triton")
    p, t, w = _data(torch.float64, 8)
    ours = k(p=p, t=t, w=w)
    launches = len(calls)
    assert 1 <= launches <= 4 * 3, calls  # each launch (main, repairs): its kernel, at most tl.core's helpers once
    assert interpreter._patch_lang is counting
    calls.clear()
    theirs = k._function(p=p, t=t, w=w)  # outside interpreted_launch: Triton's way, a patch at every helper call
    assert len(calls) > 10 * launches
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    import triton.language as tl

    assert getattr(tl.exp, "__triton_builtin__", False)  # the builtin itself, not the interpreter's wrapper


def test_progress_line_names_the_interpreter(monkeypatch, capsys):
    monkeypatch.setenv(symnet.progress.ENV, "1")
    monkeypatch.setattr(symnet.progress, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(symnet.progress, "REDRAW_S", 0.01)
    with interpreted.interpreted_launch("the kernel ux52_probe"):
        import time

        time.sleep(0.2)
    err = capsys.readouterr().err
    assert "running the kernel ux52_probe in Triton's interpreter" in err, err


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_verify_refuses_half_precision_saying_why(dtype):
    import symnet
    from symnet.errors import SymnetError

    with pytest.raises(SymnetError, match=f"not {dtype}: the NumPy functions refuse half-precision data.*float32 row"):
        symnet.verify("x*exp(x)", dtypes=[dtype], n=4)
