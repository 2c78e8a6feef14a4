"""The cost of the float64 softcap in double-word (NumPy cross_entropy_grad; issue 16, tenth session).

A float64 softcap c = s·tanh(z/s) is computed as c + c_lo (_dw_tanh: an e^x in double-word per entry) and its
∂c/∂z = sech² from a double-word e^{−2|z/s|}. This script times ``cross_entropy_grad`` on (rows, V) float64
logits N(0, 10), side by side in one run, the median of ``--repeat`` calls each:

* ``no softcap``: this checkout's kernel, softcap=None;
* ``softcap, before``: the kernel committed at ``--before`` (a git revision of this repository: float64 c);
* ``softcap, this``: this checkout's kernel, softcap=30;
* ``torch``: torch.nn.functional.cross_entropy of 30·tanh(z/30) with its backward, float64 on the CPU;

and prints each time and its ratio to ``no softcap``.

    python benchmarks/softcap.py [--rows 512] [--V 4096] [--repeat 5] [--before dd4ccf3] [--ls 0.1 --zloss 1e-4]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symnet.kernels import load_kernel  # noqa: E402


def before_kernel(rev: str) -> types.ModuleType:
    """kernels/numpy/cross_entropy.py as committed at ``rev`` (git show), as a module."""
    source = subprocess.run(["git", "show", f"{rev}:kernels/numpy/cross_entropy.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("cross_entropy_before")
    exec(compile(source, f"{rev}:kernels/numpy/cross_entropy.py", "exec"), module.__dict__)  # our own file
    return module


def median_time(fn, repeat: int) -> float:
    fn()  # warm: first calls allocate, make tables
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--V", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default="dd4ccf3", help="a git revision: its committed kernel as a column")
    parser.add_argument("--ls", type=float, default=0.0, help="label smoothing ε")
    parser.add_argument("--zloss", type=float, default=0.0, help="z-loss scale λ")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    z = rng.standard_normal((args.rows, args.V)) * 10
    r = rng.integers(0, args.V, args.rows)
    options = {"reduction": "mean", "label_smoothing": args.ls, "z_loss_scale": args.zloss}
    this, before = load_kernel("cross_entropy", "numpy"), before_kernel(args.before)
    cases = {"no softcap": lambda: this.cross_entropy_grad(z, r, **options),
             f"softcap, before ({args.before})": lambda: before.cross_entropy_grad(z, r, softcap=30.0, **options),
             "softcap, this": lambda: this.cross_entropy_grad(z, r, softcap=30.0, **options)}
    try:
        import torch

        zt, rt = torch.from_numpy(z), torch.from_numpy(r)

        def torch_step():
            x = zt.clone().requires_grad_()
            loss = torch.nn.functional.cross_entropy(30.0 * torch.tanh(x / 30.0), rt, label_smoothing=args.ls)
            loss.backward()
        cases["torch (CPU, float64)"] = torch_step
    except ImportError:
        pass
    times = {name: median_time(fn, args.repeat) for name, fn in cases.items()}
    base = times["no softcap"]
    print(f"cross_entropy_grad, float64 ({args.rows}, {args.V}), ε = {args.ls}, λ = {args.zloss}; "
          f"median of {args.repeat}")
    print("| kernel | ms | × no softcap |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t * 1e3:.1f} | {t / base:.2f} |")


if __name__ == "__main__":
    main()
