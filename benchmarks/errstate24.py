"""Cost of the np.errstate block every generated NumPy elementwise kernel now opens (session 24: without a select
a kernel printed NumPy's overflow RuntimeWarning where its answer, ±inf, was right). CPU seconds per call, min of
repeats (benchmarks/cpu_time.py), the same kernel with and without the block, in one run.

    PYTHONPATH=. python3 benchmarks/errstate24.py
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402


def _without_errstate(source: str) -> str:
    """The kernel's source with its ``with np.errstate(...)`` line removed and its block dedented."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        if re.match(r"    with np\.errstate\(", line) and not inside:
            inside = True
            continue
        if inside and line.startswith("        "):
            out.append(line[4:])
            continue
        inside = False
        out.append(line)
    return "\n".join(out) + "\n"


def _load(source: str):
    namespace: dict = {}
    exec(compile(source, "<bench>", "exec"), namespace)  # noqa: S102 (symnet's own generated source)
    return namespace["kernel"]


def _errstate_alone(calls: int = 10000) -> float:
    def loop():
        for _ in range(calls):
            with np.errstate(over="ignore", divide="ignore"):
                pass
    return best(loop, 7) / calls


def main() -> None:
    print(f"np.errstate(over=, divide=) entered and left: {_errstate_alone() * 1e6:.2f} µs")
    print(f"{'formula':<12} {'n':>9} {'errstate':>12} {'without':>12} {'ratio':>7}")
    for formula in ("exp(x)", "x**2*t"):
        source = symnet.compile(symnet.derive(formula, progress=False)).source
        with_block, without = _load(source), _load(_without_errstate(source))
        assert "np.errstate" in source and "np.errstate" not in _without_errstate(source)
        for n, calls in ((1, 2000), (1000, 1000), (10**6, 5)):
            x = np.linspace(-3, 3, n)
            args = {"x": x, "t": np.full(n, 0.5)} if "t" in formula else {"x": x}

            def loop(k):
                return lambda: [k(**args) for _ in range(calls)]
            a, b = best(loop(with_block), 7) / calls, best(loop(without), 7) / calls
            print(f"{formula:<12} {n:>9} {a * 1e6:>9.2f} µs {b * 1e6:>9.2f} µs {a / b:>7.3f}")


if __name__ == "__main__":
    main()
