"""split43 (session 43, h-split43): a fault that splitting symnet/codegen/rewrite.py into a package found.

Two blocks of rewrite.py bound the one module-level name ``_SHIFT_FAR``: overflowed-shift (session 36) as 3.4e38, the
|m| past which a max-shifted e^(a_i − m) over logits with a shared factor is taken as 1 or 0 (every gap exactly 0 or
past 2⁻⁵³·|m|), and shifted-difference (session 41) as 700, its own bound on a shift c. A module's later binding wins
for every caller, so from session 41 on overflowed-shift took e^(a_i − m) as 1 or 0 wherever |m| > 700: a written
3-class softmax with temperature e^(a/T)/(e^(a/T) + e^(b/T) + e^(c/T)) was 1.0 for 0.66524 at (a, b, c, T) =
(800, 799, 798, 1), each gradient 0 (torch NaN there: e^800 overflows), and 1.0 for 0.66524 at (701, 700, 699, 1), where
torch is right (e^701 is finite). shifted-difference's bound is now ``_SHIFTED_DIFFERENCE_FAR`` (h-break43 found and named it too).
"""
from __future__ import annotations

import ast
import collections
import math
import pathlib

import numpy as np
import pytest

from test_kl36 import _torch_softmax, _worst


def _moderate_gaps(n: int, dtype, seed: int):
    """T = ±10^[−3, 0] and logits whose quotients a/T lie in [701, 5000] (past the 700 that replaced the rule's
    threshold, far below its 3.4e38) with b/T and c/T within 20 of a/T: the outputs are neither 0 nor 1 there."""
    rng = np.random.default_rng(seed)
    T = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-3, 0, n)
    top = rng.uniform(701, 5000, n)
    r = np.stack([top * T, (top - rng.uniform(0, 20, n)) * T, (top - rng.uniform(0, 20, n)) * T])
    return T.astype(dtype), r.astype(dtype)


# Before (c9775006): f 1.0 for 0.66524 and every gradient 0 at both points: f 3.0e15 ULP in float64, ∂T 5.1e15, ∂a 8.0e15,
# ∂b 5.9e15, ∂c 8.6e15. Torch NaN (inf/inf) at the first point; at the second its f is exact, its ∂T 150 ULP. Now each
# output within 0.39 ULP at both.
@pytest.mark.parametrize("point", [(800.0, 799.0, 798.0, 1.0), (701.0, 700.0, 699.0, 1.0)])
def test_softmax_with_temperature_past_700_at_the_failing_points(point):
    a, b, c, T = point
    worst = _worst(3, np.float64, np.array([T]), np.array([[a], [b], [c]]))
    assert max(u for u, _ in worst.values()) <= 1, worst
    theirs = _torch_softmax(np.array([T]), [np.array([a]), np.array([b]), np.array([c])])
    assert math.isnan(theirs["f"][0]) == (a > 709.78), theirs


# Around them, 300 draws a dtype (a/T in [701, 5000], the other quotients within 20 of it): before, every output was 1.0
# or 0 for a value in (0, 1) at every draw: worst 9.8e15 ULP in float64 (f), 1.8e7 in float32; torch NaN at all 300
# draws in both (e^(a/T) overflows); now within 1.75 ULP in float64 (∂T; the others 0.5), 0.5 in float32.
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_softmax_with_temperature_past_700(dtype):
    T, r = _moderate_gaps(300, dtype, seed=4300)
    worst = _worst(3, dtype, T, r)
    assert max(u for u, _ in worst.values()) <= 4, worst


# ------------------------------------------------------------------ the split itself (symnet/codegen/rewrite/, by a one-off
# script of session 43, not kept): each module a family of rules, pipeline.py the registries in rewrite.py's order

def _package_modules():
    import importlib
    import pkgutil

    from symnet.codegen import rewrite

    return [importlib.import_module(f"{rewrite.__name__}.{m.name}") for m in pkgutil.iter_modules(rewrite.__path__)]


def _bound(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, (ast.AnnAssign, ast.AugAssign)) else []
    return [x.id for t in targets for x in ast.walk(t) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)]


def test_no_module_of_the_rewrite_package_binds_a_name_twice():
    # the fault above, as a check: a module's second binding of a name replaces the first for each of its functions
    # (test_lead41 checks def and class; this checks assignments too). pipeline.py builds the registries by rebinding
    # them (RULES = RULES[:i] + … + RULES[i:]), as rewrite.py did
    twice = {}
    for module in _package_modules():
        if module.__name__.endswith(".pipeline"):
            continue
        tree = ast.parse(pathlib.Path(module.__file__).read_text(encoding="utf-8"))
        names = collections.Counter(n for node in tree.body for n in _bound(node))
        again = sorted(n for n, k in names.items() if k > 1)
        if again:
            twice[module.__name__] = again
    assert not twice, f"bound twice (the later binding replaces the earlier for every caller): {twice}"


def test_the_package_exports_rewrite_pys_names_and_pipelines_registries():
    from symnet.codegen import rewrite

    assert all(hasattr(rewrite, name) for name in rewrite.__all__)
    assert rewrite.RULES is rewrite.pipeline.RULES and rewrite._LOCAL is rewrite.pipeline._LOCAL
    assert rewrite._BY_NAME is rewrite.pipeline._BY_NAME and rewrite._LOCAL_RULE is rewrite.pipeline._LOCAL_RULE
    names = [r.name for r in rewrite.RULES]
    assert len(names) == len(set(names)) and set(names) - set(rewrite._BY_NAME) == {"widen"}  # as in rewrite.py
    assert names.index("log1p-series") + 1 == names.index("widen") == names.index("kink-side") - 1


def test_every_subpackage_ships():
    """pyproject.toml lists its packages by name: the package symnet.codegen.rewrite was missing from it when the
    split first landed, and `pip install .` (README's first command) would have installed symnet without its rules."""
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "symnet").rglob("__init__.py")}
    assert found - listed == set()
