"""∂a of the written GEGLU a·(1 + tanh(0.79788·(a + 0.044715a³)))/2·b past the root-series window (helper geglu44,
session 44): worst ULP against mpmath (150 digits, as tests/test_geglu43.py) by distance |a − r| from the root r = −0.75246, float64 and float32,
of the kernel as compiled and, with --base, of the kernel without the root-series rule
(the form printed before session 43), and torch autograd float64/float32 at the same points.
Run with PYTHONPATH=.:tests."""
import sys
import warnings

import mpmath
import numpy as np

import symnet
from conftest import ulps
from test_user43 import GEGLU, GEGLU_ROOT, _torch_grad, _truth_fn


def _base():
    """The root-series rule off (it did not fire on this formula before h-geglu43)."""
    import symnet.codegen.rewrite.series as series

    object.__setattr__(series.ROOT_SERIES, "apply", lambda expr: expr)


def main():
    if "--base" in sys.argv:
        _base()
    kernel = symnet.compile(symnet.derive(GEGLU), progress=False)
    fn = _truth_fn(GEGLU, ("a", "b"), "a")
    rng = np.random.default_rng(44)
    bands = [(0.0, 0.78125), (0.78125, 1.0), (1.0, 1.5), (1.5, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 6.0), (6.0, 8.0)]
    for lo, hi in bands:
        d = rng.uniform(lo, hi, 300) * rng.choice([-1, 1], 300)
        for dtype in (np.float64, np.float32):
            a = (GEGLU_ROOT + d).astype(dtype)
            b = np.full_like(a, 0.37)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = kernel(a=a, b=b)[kernel.outputs.index("df_da")]
            with mpmath.workdps(150):
                truth = [fn(mpmath.mpf(float(v)), mpmath.mpf(float(w))) for v, w in zip(a, b)]
            ours = np.array([ulps(g, t, dtype) for g, t in zip(got, truth)])
            theirs = np.array([ulps(g, t, dtype) for g, t in zip(
                _torch_grad(GEGLU, ["a", "b"], [a, b], "a", np.dtype(dtype).name), truth)])
            print(f"|d| in [{lo:7.4f}, {hi:5.2f})  {np.dtype(dtype).name}  ours {ours.max():6.3g}  torch {theirs.max():8.3g}"
                  f"  past max(torch, 1) {int(np.sum(ours > np.maximum(theirs, 1)))}", flush=True)


if __name__ == "__main__":
    main()
