"""Triton float32 kernels' widened sums where they cancel past float64 (session 20): float32 ULPs against mpmath
(60 digits) of the Triton kernel (TRITON_INTERPRET=1 without a GPU), the NumPy kernel and torch, side by side.

    PYTHONPATH=. python3 benchmarks/tritonsum20.py

Before session 20 the Triton float32 kernel took the float64 body of a widened sum everywhere (y − tanh x at x = 21,
y = 1: 1.1e7 ULP, as torch); now it takes the double word on a block where an element its select takes has a float64
error bound past 2⁻³⁰ of the sum, as NumPy's float32 kernel does per element. Accuracy only: nothing here is timed
(the interpreter's speed says nothing of a GPU's). Session 20's run is quoted in tests/test_tritonsum20.py.
"""
from __future__ import annotations

import os
import warnings

os.environ.setdefault("TRITON_INTERPRET", "1")

import mpmath  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import symnet  # noqa: E402


def f32(v) -> float:
    return float(np.float32(float(v)))


def ulps(got, want) -> np.ndarray:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    spacing = np.maximum(np.spacing(np.abs(want.astype(np.float32))).astype(np.float64), 2.0 ** -149)
    return np.abs(got - want) / spacing


# formula: (mpmath f, torch f, x points, y of x)
CASES = {
    "y - tanh(x)": (lambda x, y: y - mpmath.tanh(x), lambda x, y: y - torch.tanh(x),
                    [21.0, 30.0, 9.01, -21.0], lambda x: f32(mpmath.tanh(x))),
    "y - exp(x)": (lambda x, y: y - mpmath.exp(x), lambda x, y: y - torch.exp(x),
                   [2.0 ** -20, -2.0 ** -21, 2.0 ** -22, 3e-7], lambda x: f32(mpmath.exp(x))),
    "y + sin(x)": (lambda x, y: y + mpmath.sin(x), lambda x, y: y + torch.sin(x),
                   [2.0 ** -20, -2.0 ** -18, 2.0 ** -15, f32(mpmath.pi)], lambda x: -f32(mpmath.sin(x))),
    "y - sigmoid(x)": (lambda x, y: y - 1 / (1 + mpmath.exp(-x)), lambda x, y: y - torch.sigmoid(x),
                       [40.0, 30.0, 2.0 ** -20, -9.0], lambda x: f32(1 / (1 + mpmath.exp(-x)))),
}


def main() -> int:
    mpmath.mp.dps = 60
    print(f"{'formula':16s} {'x':>12s} {'y':>12s} {'true':>11s} {'Triton f32':>11s} {'NumPy f32':>10s} {'torch f32':>10s}")
    for formula, (true_fn, torch_fn, xs, y_of) in CASES.items():
        x = np.array(xs, np.float32)
        y = np.array([y_of(float(v)) for v in x], np.float32)
        want = [float(true_fn(mpmath.mpf(float(a)), mpmath.mpf(float(b)))) for a, b in zip(x, y)]
        d = symnet.derive(formula)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            triton = symnet.compile(d, backend="triton")(x=torch.tensor(x), y=torch.tensor(y))[0].double().numpy()
            numpy = np.asarray(symnet.compile(d)(x=x, y=y)[0], np.float64)
            theirs = torch_fn(torch.tensor(x), torch.tensor(y)).double().numpy()
        for i in range(len(x)):
            print(f"{formula:16s} {float(x[i]):12.6g} {float(y[i]):12.8g} {want[i]:11.4e} "
                  f"{ulps(triton[i], want[i]):11.3g} {ulps(numpy[i], want[i]):10.3g} {ulps(theirs[i], want[i]):10.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
