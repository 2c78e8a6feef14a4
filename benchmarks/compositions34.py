"""Random compositions of two inputs with a wider grammar, against mpmath (issue 16; h-search34).

benchmarks/compositions31.py's search (its workers, CPU limits, JSON lines, ``--summary``, ``--formulas``), drawing
from a wider grammar; compositions31's own nodes stay, with these added:

* registry functions of two inputs: max, min, and the losses of two arguments (mse, l1, huber, smooth_l1, log_cosh,
  hinge, squared_hinge, bce_logits, focal, kl_div, poisson_nll; bce of a sigmoid, its domain (0, 1));
* activations with a parameter other than the default (elu(A, 0.5), leaky_relu(A, 0.2), softplus(A, 2),
  hardtanh(A, −2, 2), clamp(A, −1, 1), ...);
* constants: c·A, A + c, c/A, A − c for c in 0.5, 2, 3, −1, 1e−3, 100, pi;
* more powers: 4, 5, −3, 1/3, −1/2, 5/2, and a formula to the power of the other input.

    nice -n 15 python benchmarks/compositions34.py --seed 34 --count 600 --cpu-minutes 30 --out /tmp/search34/s34.jsonl
    python benchmarks/compositions34.py --summary /tmp/search34/s34.jsonl
    python benchmarks/compositions34.py --print --seed 34 --count 20
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compositions31 as C31  # noqa: E402  (its workers, limits and summary; only the grammar is new)

POWERS = C31.POWERS + ["4", "5", "(-3)", "(1/3)", "(-1/2)", "(5/2)"]
CONSTANTS = ["0.5", "2", "3", "(-1)", "0.001", "100", "pi"]
LOSSES = ["mse", "l1", "huber", "smooth_l1", "log_cosh", "hinge", "squared_hinge", "bce_logits", "focal", "kl_div",
          "poisson_nll"]
# an activation with a parameter other than its default: "{}" is the argument
PARAMETERISED = ["elu({}, 0.5)", "celu({}, 2)", "leaky_relu({}, 0.2)", "softplus({}, 2)", "softplus({}, 0.5, 10)",
                 "hardshrink({}, 0.3)", "softshrink({}, 2)", "hardtanh({}, -2, 2)", "clamp({}, -1, 1)"]


def formula(rng, depth: int, acts, others, lean=None) -> str:
    """compositions31's grammar (``C31.formula``'s nodes, its leaning leaves) and this module's new nodes."""
    if depth == 0:
        return lean if lean and rng.random() < 0.8 else rng.choice("xy")
    kind = rng.choices(["old", "binary", "param", "const", "power"], weights=[6, 2.5, 1.5, 1.5, 1.0])[0]
    sub = depth - 1
    if kind == "old":  # one node of compositions31's grammar, its arguments drawn from this one
        text = C31.formula(rng, 1, acts, others, lean)
        return _deepen(rng, text, sub, acts, others, lean)
    if kind == "param":
        return rng.choice(PARAMETERISED).format(formula(rng, sub, acts, others, lean))
    if kind == "const":
        c = rng.choice(CONSTANTS)
        a = formula(rng, sub, acts, others, lean)
        return rng.choice([f"{c}*({a})", f"({a}) + {c}", f"{c}/({a})", f"({a}) - {c}"])
    if kind == "power":
        p = rng.choice(POWERS + ["y", "x"])
        other = "y" if p == "x" else "x"
        base = formula(rng, sub, acts, others, other if p in "xy" else lean)
        return f"({base})**{p}"
    a = formula(rng, sub, acts, others, "x")
    b = formula(rng, rng.randint(0, sub), acts, others, "y")
    f = rng.choice(["max", "min"] + LOSSES + ["bce"])
    if f == "bce":
        return f"bce(sigmoid({a}), sigmoid({b}))"
    return f"{f}({a}, {b})"


def _deepen(rng, text: str, depth: int, acts, others, lean) -> str:
    """compositions31's one-node formula with each leaf (x or y) replaced by a formula of ``depth`` of this grammar."""
    if depth == 0:
        return text
    out = []
    for ch in text:  # the leaves are the bare letters x and y (no registry name holds an x or y by itself)
        out.append(f"({formula(rng, depth, acts, others, ch)})" if ch in "xy" and _bare(out) else ch)
    return "".join(out)


def _bare(prefix: list) -> bool:
    """Whether the letter after ``prefix`` begins no name (the one before it is not a letter or underscore)."""
    return not prefix or not (prefix[-1].isalnum() or prefix[-1] == "_")


def draws(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    acts, others = C31.unary_names()
    return [formula(rng, rng.choices([1, 2, 3], weights=[1, 3, 3])[0], acts, others) for _ in range(count)]


if __name__ == "__main__":
    sys.exit(C31.main(draws=draws, description=__doc__.splitlines()[0], out="/tmp/search34/compositions34.jsonl"))
