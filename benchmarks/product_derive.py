"""Deriving (and compiling) a product of n variables, x1·x2·…·xn, from the Python API.

    python3 benchmarks/product_derive.py [--sizes 10 50 200] [--compile] [--baseline PATH]

Each size runs in a fresh process (SymPy's caches would otherwise carry over) and prints the
seconds ``symnet.derive`` took, and with ``--compile`` those ``symnet.compile`` (NumPy) took
after it. ``--baseline PATH`` runs the same with the symnet package found at PATH (another
checkout, e.g. before a change) beside this one and prints the ratio. Measured, not asserted.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CHILD = r"""
import sys, time
import sympy as sp
import symnet
n, do_compile = int(sys.argv[1]), sys.argv[2] == "1"
xs = sp.symbols(f"x1:{n + 1}", real=True)
t = time.perf_counter()
d = symnet.derive(sp.Mul(*xs), progress=False)
derive_s = time.perf_counter() - t
compile_s = float("nan")
if do_compile:
    t = time.perf_counter()
    symnet.compile(d, progress=False)
    compile_s = time.perf_counter() - t
print(derive_s, compile_s)
"""


def measure(root: Path, n: int, do_compile: bool, timeout: float) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(root), "SYMNET_NO_DISK_CACHE": "1"}
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), "1" if do_compile else "0"], env=env,
                             capture_output=True, text=True, timeout=timeout, check=True).stdout
    except subprocess.TimeoutExpired:
        return float("inf"), float("inf")
    derive_s, compile_s = map(float, out.split())
    return derive_s, compile_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--compile", action="store_true", help="also time symnet.compile (numpy)")
    parser.add_argument("--baseline", type=Path, help="a checkout whose symnet is measured beside this one")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a size may take (per process)")
    args = parser.parse_args()
    header = f"{'n':>5} {'derive s':>9} {'compile s':>10}"
    if args.baseline:
        header += f" {'baseline derive s':>18} {'ratio':>7}"
    print(header)
    for n in args.sizes:
        d, c = measure(HERE, n, args.compile, args.timeout)
        line = f"{n:>5} {d:>9.2f} {c:>10.2f}"
        if args.baseline:
            bd, _ = measure(args.baseline, n, False, args.timeout)
            line += f" {bd:>18.2f} {bd / d:>7.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
