"""Random compositions of two inputs in shapes the earlier searches did not draw, against mpmath (issue 16; h-search36).

benchmarks/compositions31.py's search (its workers, CPU limits, JSON lines, ``--summary``, ``--formulas``) and
benchmarks/compositions34.py's grammar for the parts, drawn into these shapes at the top:

* a quotient of two compositions, A/B, and a power of one, (A/B)^p;
* a sum whose terms cancel: g(A) − g(B) (one function at two arguments that meet where x = y), A − B + B' with B'
  near B, log(A) − log(B);
* a function of x/y or of x·y (the leaves of a composition replaced by x/y or x·y);
* clamp with input bounds: clamp(A, x, y), clamp(A, −|y|, |y|), clamp(x, A, B).

    nice -n 15 python benchmarks/compositions36.py --seed 36 --count 300 --jobs 1 --cpu-minutes 20 --out /tmp/search36/s36.jsonl
    python benchmarks/compositions36.py --summary /tmp/search36/s36.jsonl
    python benchmarks/compositions36.py --print --seed 36 --count 20
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compositions31 as C31  # noqa: E402  (its workers, limits and summary)
import compositions34 as C34  # noqa: E402  (its grammar for the parts)

POWERS = ["2", "3", "(-1)", "(-2)", "(1/2)", "(3/2)", "(1/3)", "y"]


def _part(rng, depth, acts, others, lean):
    return C34.formula(rng, depth, acts, others, lean)


def _unary(rng, acts, others):
    return rng.choice(acts) if rng.random() < 0.7 else rng.choice(others)


def formula(rng, depth: int, acts, others) -> str:
    """One of this module's top shapes over compositions34's parts of ``depth``."""
    sub = depth
    kind = rng.choices(["quotient", "power", "cancel", "ratio", "clamp"], weights=[3, 2, 3, 3, 1.5])[0]
    if kind in ("quotient", "power"):
        a, b = _part(rng, sub, acts, others, "x"), _part(rng, rng.randint(0, sub), acts, others, "y")
        q = f"({a})/({b})"
        return q if kind == "quotient" else f"({q})**{rng.choice(POWERS)}"
    if kind == "cancel":
        g = _unary(rng, acts, others)
        a, b = _part(rng, sub, acts, others, "x"), _part(rng, sub, acts, others, "y")
        return rng.choice([f"{g}({a}) - {g}({b})", f"{g}(x) - {g}(y)", f"log({a}) - log({b})",
                           f"({a}) - ({b}) + {g}(y) - {g}(x)", f"{g}(({a}) + (y)) - {g}(({a}) + (x))"])
    if kind == "ratio":
        inner = rng.choice(["(x)/(y)", "(x)*(y)"])
        text = _part(rng, max(sub, 1), acts, others, "x")
        out = []
        for ch in text:  # every leaf x becomes x/y or x·y (compositions34's rule for bare letters)
            out.append(f"({inner})" if ch == "x" and C34._bare(out) else ch)
        return "".join(out)
    a = _part(rng, sub, acts, others, "x")
    return rng.choice([f"clamp({a}, x, y)", f"clamp({a}, -abs(y), abs(y))", f"clamp(x, {a}, y)",
                       f"clamp({a}, y, (y) + 1)"])


def draws(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    acts, others = C31.unary_names()
    return [formula(rng, rng.choices([0, 1, 2], weights=[1, 3, 2])[0], acts, others) for _ in range(count)]


if __name__ == "__main__":
    sys.exit(C31.main(draws=draws, description=__doc__.splitlines()[0], out="/tmp/search36/compositions36.jsonl"))
