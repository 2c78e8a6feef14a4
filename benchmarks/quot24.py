"""The cost of session 24's changes (h-quot24) on ordinary data: a constant that is no normal float32 times a product
(1e−300·x·y/z, 1e−40·x, 10⁴⁰/y: ``_constant_times``/``_constant_quotients``, a float32 block computed in float64), and
CSE's products and quotients of inputs put back under a constant by one walk (``symnet.codegen.ir``). Each generated
NumPy kernel (value and gradients) beside torch's autograd of the formula as written (CPU, one thread), in CPU seconds
per 10⁶ points (the box is shared: wall time means little), the minimum of the repeats. Run it from the tree before
the change too (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 quot24.py [--size N] [--repeat R]

Ordinary data: every input log-uniform in [0.5, 2] with a random sign (the scaled-square rule's written branch is
taken; the select computes every branch anyway). Speed is measured here, never asserted.

Measured (session 24, NumPy 2.4, 2 shared cores with other work, 2·10⁵ points, repeats 5 and 7, the smaller of two
runs; before = main a78137a → after = h-quot24, CPU s per 10⁶ points; torch beside, 0.001–0.027): 1e−300·x·y/z
float64 0.0290 → 0.0343, float32 0.0125 → 0.0193 (a float32 block now computed in float64); 1e−40·x 0.0005 → 0.0015,
float32 0.0004 → 0.0017 (the helper's call); 10⁴⁰/y 0.062 → 0.0087, float32 0.063 → 0.0090; −1e−20·x·y/z 0.0167 →
0.0189, float32 0.0076 → 0.0083; 2x·y·log(x·y/z) 0.147 → 0.177, float32 0.047 → 0.051; 5·x·y/z·e^(x·y/z) 0.407 →
0.450, float32 0.048 → 0.053; 3·σ(x·y)·x·y 0.047 → 0.049, float32 0.0195 → 0.0217. The two runs of one tree differed
by up to 1.7× (2x·y·log(x·y/z) float64 before 0.253 and 0.147): differences below that are noise.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

FORMULAS = {  # symnet's formula → torch's, as written
    "1e-300*x*y/z": lambda t, x, y, z: 1e-300 * x * y / z,
    "1e-40*x": lambda t, x: 1e-40 * x,
    "1e40/y": lambda t, y: 1e40 / y,
    "-1e-20*x*y/z": lambda t, x, y, z: -1e-20 * x * y / z,
    "2*x*y*log(x*y/z)": lambda t, x, y, z: 2 * x * y * t.log(x * y / z),
    "x*y/z*exp(x*y/z)*5": lambda t, x, y, z: x * y / z * t.exp(x * y / z) * 5,
    "sigmoid(x*y)*3*x*y": lambda t, x, y: t.sigmoid(x * y) * 3 * x * y,
}


def torch_reference(formula: str, args: dict):
    """torch's value and autograd gradients of the same formula, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # one core, as the NumPy kernel
    tensors = [torch.tensor(v, requires_grad=True) for v in args.values()]

    def call():
        value = FORMULAS[formula](torch, *tensors)
        torch.autograd.grad(value.sum(), tensors)
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true", help="leave torch's column out")
    options = parser.parse_args()
    n = options.size
    rng = np.random.default_rng(0)
    print(f"{'formula':20s} {'dtype':8s} {'symnet s/1e6':>13s} {'torch s/1e6':>12s} {'ratio':>6s}")
    for formula, fn in FORMULAS.items():
        names = [v for v in fn.__code__.co_varnames[1:fn.__code__.co_argcount]]
        kernel = symnet.compile(symnet.derive(formula, wrt=names), backend="numpy")
        for dtype in (np.float64, np.float32):
            args = {name: (rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2, n)).astype(dtype) for name in names}
            with np.errstate(all="ignore"):
                ours = best(lambda: kernel(**args), options.repeat) * 1e6 / n
            reference = None if options.no_torch else torch_reference(formula, args)
            theirs = best(reference, options.repeat) * 1e6 / n if reference else float("nan")
            print(f"{formula:20s} {np.dtype(dtype).name:8s} {ours:13.4f} {theirs:12.4f} {ours / theirs:6.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
