"""The cost of the written softmax's float64 kernel in double words (issue 16, session 18), NumPy backend.

    PYTHONPATH=. python3 benchmarks/sm18.py [--rows 1000000] [--repeats 3] [--terms 24]

The written n-term softmax exp(a0)/(exp(a0) + … + exp(a_(n−1))) and its n gradients, compiled by symnet for
NumPy, run on ``rows`` random rows (each a_i = c + u_i, c uniform in (−800, 800), u_i in (−4, 4)); printed: the CPU
seconds (user + system, resource.getrusage, the least of ``repeats`` calls: the box is shared, wall time means
nothing) of a float64 call and of a float32 call, beside torch.softmax's forward and backward (p[:, 0] summed,
float64, torch's own threads), and their ratios. Session 18 computes every float64 output again in double words
(tests/test_sm18.py): the "before" figures come from running this script on the commit before it
(benchmarks/results/sm18-cost.md).
"""
from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import symnet  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def least(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = cpu()
        call()
        best = min(best, cpu() - start)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--terms", type=int, default=24)
    args = p.parse_args(argv)
    n = args.terms
    formula = "exp(a0)/(" + " + ".join(f"exp(a{i})" for i in range(n)) + ")"
    start = cpu()
    f = symnet.compile(symnet.derive(formula), progress=False)
    build = cpu() - start
    rng = np.random.default_rng(18)
    a = rng.uniform(-800, 800, (args.rows, 1)) + rng.uniform(-4, 4, (args.rows, n))
    columns = {f"a{i}": np.ascontiguousarray(a[:, i]) for i in range(n)}
    columns32 = {k: v.astype(np.float32) for k, v in columns.items()}
    f64 = least(lambda: f(**columns), args.repeats)
    f32 = least(lambda: f(**columns32), args.repeats)
    rows = [("symnet NumPy float64", f64), ("symnet NumPy float32", f32)]
    try:
        import torch
        t = torch.tensor(a)

        def reference():
            x = t.clone().requires_grad_(True)
            torch.softmax(x, 1)[:, 0].sum().backward()
        rows.append(("torch.softmax fwd+bwd float64", least(reference, args.repeats)))
    except ImportError:
        pass
    print(f"written {n}-term softmax, value and {n} gradients, {args.rows:,} rows; CPU s (user + sys), least of "
          f"{args.repeats}; derive + compile {build:.1f} s")
    for name, seconds in rows:
        print(f"  {name:32} {seconds:8.3f} s   {seconds / f64:6.3f}× the float64 kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
