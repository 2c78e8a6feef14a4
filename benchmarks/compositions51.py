"""Random compositions of one to three inputs, 2–4 deep, against mpmath (issue 16's Hypothesis check; h-hyp51).

benchmarks/compositions31.py's search (its workers, CPU limits, JSON lines, ``--summary``, ``--formulas``) over
benchmarks/compositions34.py's and compositions36.py's grammars, depth 2–4 (one deeper than theirs), with the inputs
varied: a third of the draws keep x alone (every y becomes x), a third add a third input z (a leaf y becomes z
half of the time), a third stay x and y. symnet.verify measures each at its random points and the extremes
(0, ±tiny, subnormals, ±88.7, ±1e4, the overflow thresholds, ±inf), float32 and float64, with torch autograd of the
formula as written.

    nice -n 15 python benchmarks/compositions51.py --seed 51 --count 400 --jobs 1 --cpu-minutes 25 \
        --compile-limit 20 --out /tmp/hyp51/s51.jsonl
    python benchmarks/compositions51.py --summary /tmp/hyp51/s51.jsonl
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compositions31 as C31  # noqa: E402  (its workers, limits and summary)
import compositions34 as C34  # noqa: E402
import compositions36 as C36  # noqa: E402


def _inputs(rng, text: str) -> str:
    """``text`` with its inputs varied: x alone, x and y, or x, y and z (module docstring)."""
    kind = rng.choice(["one", "two", "three"])
    if kind == "two":
        return text
    out = []
    for ch in text:  # the leaves are the bare letters x and y (compositions34's rule)
        if ch == "y" and C34._bare(out):
            ch = "x" if kind == "one" else rng.choice("yz")
        out.append(ch)
    return "".join(out)


def draws(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    acts, others = C31.unary_names()
    texts = []
    for _ in range(count):
        if rng.random() < 0.6:
            text = C34.formula(rng, rng.choices([2, 3, 4], weights=[3, 3, 1])[0], acts, others)
        else:
            text = C36.formula(rng, rng.choices([1, 2, 3], weights=[3, 3, 1])[0], acts, others)
        texts.append(_inputs(rng, text))
    return texts


if __name__ == "__main__":
    sys.exit(C31.main(draws=draws, description=__doc__.splitlines()[0], out="/tmp/hyp51/compositions51.jsonl"))
