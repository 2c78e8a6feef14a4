"""Helper geglu44 (session 44, issue 16's cost item): the cost of h-geglu43's root-series fallback on the written
GEGLU a·(1 + tanh(0.79788·(a + 0.044715a³)))/2·b. Its ∂a past the series' window |a − r| < 0.78125 is a widened sum
whose error bound is never within 3u, so a float64 kernel computes it in double words wherever the select takes it;
that branch also computed the float64 body on every element of the block (kept, where the select does not take it)
and again on the taken ones (doubleword._float64_gather). Now the function runs on the taken elements alone,
gathered: the same bits where taken. NumPy CPU float64, 1e6 elements of N(0, 2), best of 5 (benchmarks/geglu44_cost.py,
results/geglu44.txt): 1.16 → 0.70 s. Accuracy unchanged (benchmarks/geglu44_measure.py): compared with mpmath at
150 digits and torch autograd at the same points."""
import warnings

import numpy as np
import pytest

import symnet
from test_user43 import GEGLU, GEGLU_ROOT, _measure


def _kernel():
    return symnet.compile(symnet.derive(GEGLU), progress=False)


def _past_window(dtype, seed=4444, count=300):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.78125, 6.0, count) * rng.choice([-1, 1], count)
    return (GEGLU_ROOT + d).astype(dtype)


# ∂a past the root-series window, where the gathered double words now run: within the bound everywhere and never worse
# than max(torch, bound) (measured before and after, 300 points each dtype: float64 1.78 ULP worst, torch 1.8e13;
# float32 0.50, torch 1.7e7; the same numbers before, the outputs bit for bit the same)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_written_geglu_past_the_window(dtype):
    a = _past_window(dtype)
    ours, theirs, past, worse = _measure(GEGLU, ["a", "b"], [a, np.full_like(a, 0.37)], "a", dtype)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)


def _widened(source):
    """The widened function of ∂a's fallback (the one with a float64-kernel branch that never keeps the body)."""
    namespace: dict = {}
    exec(compile(source, "<geglu44>", "exec"), namespace)  # noqa: S102 - symnet's generated module
    names = [n for n in namespace if n.startswith("_dw_widened_") and not n.endswith("_scaled")
             and "doubleword._least_bound" in source.split(f"def {n}(")[1].split("\ndef ")[0]]
    assert len(names) == 1, names
    return namespace[names[0]]


# The float64 kernel's branch, called with the select's mask: 0 where the select does not take it (before: the float64
# body there, computed on every element of the block and dropped by the select), and where it does, the same bits as
# the function on every element (needed=True).
def test_float64_branch_runs_on_the_taken_elements_alone():
    kernel = _kernel()
    assert "doubleword._float64_gather" in kernel.source
    widened = _widened(kernel.source)
    a = np.random.default_rng(44).normal(-0.75, 2, 4096)
    taken = np.abs(a - GEGLU_ROOT) >= 0.78125
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        masked = widened(a, True, taken)
        whole = widened(a, True, True)
    assert np.array_equal(masked[taken].view(np.int64), whole[taken].view(np.int64))
    assert not masked[~taken].any()  # before: nonzero at all 1,277 of these (the float64 body)


def test_float64_kernel_outputs_unchanged_by_the_gather():
    """The kernel's ∂a (the select of the series and the gathered fallback) equals, bit for bit, the fallback and the
    series computed apart on every element, over a ~ N(−0.75, 2) and its far tails (before and after, the same)."""
    kernel = _kernel()
    widened = _widened(kernel.source)
    rng = np.random.default_rng(4)
    a = np.concatenate([rng.normal(-0.75, 2, 2000), rng.normal(0, 1e3, 200)])
    b = np.ones_like(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = kernel(a=a, b=b)[kernel.outputs.index("df_da")]
        apart = widened(a, True, True) / 2e21
    outside = (np.abs(a - GEGLU_ROOT) >= 0.78125) & (np.abs(a) < 1e3)
    assert np.array_equal(got[outside], apart[outside])
