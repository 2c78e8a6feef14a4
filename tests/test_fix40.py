"""h-fix40: two faults found by session 40's breaker (tests/test_break40.py).

- GENERATED_HELPERS trimmed while a module printed (2256f06a): keep_generated trimmed the table after each text it
  kept, before generated_last read the module's own functions; past the bound a module was emitted without them
  (NameError when called). Now a module's names are pinned until generated_last emits it, then released and trimmed.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import triton_torch
from symnet.codegen import doubleword
from symnet.registry import GENERATED_HELPERS

F64, F32 = np.float64, np.float32


# ------------------------------------------------------------------ a module keeps its own generated functions

@pytest.fixture
def small_bound(monkeypatch):
    """A 2000-byte bound (break40's: 4 of 5 formulas past it) over empty tables, as a new process has."""
    monkeypatch.setattr(doubleword, "GENERATED_MAX_BYTES", 2000)
    for backend in ("numpy", "triton"):
        monkeypatch.setitem(GENERATED_HELPERS, backend, {})
        monkeypatch.setitem(doubleword._PINNED, backend, {})


@pytest.mark.parametrize("formula", ["exp(x) - exp(y) + x*y", "(y**x/log(y))**3"])
def test_a_module_past_the_bound_runs_and_the_table_is_bounded_after(small_bound, formula):
    import symnet

    k = symnet.compile(symnet.derive(formula))
    with np.errstate(all="ignore"):
        got = k(x=np.array([0.7, 1.3]), y=np.array([1.7, 2.3]))
    assert all(np.all(np.isfinite(g)) for g in got)
    assert sum(map(len, GENERATED_HELPERS["numpy"].values())) <= 2000  # emitted: released and trimmed
    assert not doubleword._PINNED["numpy"]


def test_a_module_past_the_bound_runs_triton(small_bound):
    import symnet

    torch = triton_torch()
    k = symnet.compile(symnet.derive("x*sigmoid(x/y)**-3"), backend="triton")
    got = k(x=torch.tensor([0.7, 1.3], dtype=torch.float64), y=torch.tensor([0.7, 1.3], dtype=torch.float64))
    assert all(bool(torch.isfinite(g).all()) for g in got)
    assert sum(map(len, GENERATED_HELPERS["triton"].values())) <= 2000


def test_a_printing_never_emitted_is_released_by_the_module_after_next(small_bound):
    def text(name):
        return doubleword.WidenedFunction(name, f"def {name}():\n" + "#" * 1500 + "\n", set())
    discarded, first, second = (f"{doubleword.GENERATED_PREFIX}{k:010d}" for k in range(3))
    doubleword.keep_generated("triton", text(discarded))  # printed, never emitted
    doubleword.generated_last({}, set(), "triton")  # a module emitted meanwhile: the pin may be a later module's
    assert discarded in GENERATED_HELPERS["triton"]
    doubleword.keep_generated("triton", text(first))
    doubleword.keep_generated("triton", text(second))  # past twice the bound: nothing forgotten but the discarded
    assert list(GENERATED_HELPERS["triton"]) == [discarded, first, second]
    kept = [GENERATED_HELPERS["triton"][first], GENERATED_HELPERS["triton"][second]]
    assert doubleword.generated_last({}, {first, second}, "triton") == kept
    assert list(GENERATED_HELPERS["triton"]) == [second] and not doubleword._PINNED["triton"]
