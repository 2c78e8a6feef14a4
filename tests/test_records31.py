"""The rules' in-memory records are bounded (session 31; the guide: resource use is bounded for every input).

Before: _WIDENED, _CONJUGATE_PARTS, _ROOT_WRITTEN, _ROOT_TERM, _SOFTPLUS_RATIONAL_OF and graphcheck's _LAMBDIFIED were
plain dicts that grew with every formula compiled in a process (a server compiling users' formulas held them all);
_EXP_PRODUCT_LIMIT_OF was cleared whole at 4,096. Now each is a BoundedRecord that forgets its least recently used entries. Every
reader asks ``key in record`` first, so a forgotten entry costs a match, never a wrong value: checked here by compiling
with records of one entry against mpmath.
"""
from __future__ import annotations

import importlib

import mpmath
import numpy as np
import pytest

import symnet
from symnet.records import BoundedRecord

rewrite = importlib.import_module("symnet.codegen.rewrite")
graphcheck = importlib.import_module("symnet.graphcheck")
render = importlib.import_module("symnet.render")

# the rules' records, by the module of symnet.codegen.rewrite (split in session 43) that defines each
_REWRITE_RECORDS = {"_WIDENED": "widening", "_CONJUGATE_PARTS": "hypot", "_ROOT_WRITTEN": "powers", "_ROOT_TERM": "powers",
                    "_SOFTPLUS_RATIONAL_OF": "softpluses", "_EXP_PRODUCT_LIMIT_OF": "limits"}
RECORDS = [(importlib.import_module(f"{rewrite.__name__}.{m}"), n) for n, m in _REWRITE_RECORDS.items()] + \
    [(graphcheck, "_LAMBDIFIED")]


def _set_record(monkeypatch, module, name, value):
    """The one new record in every module of symnet holding the record (sigmoids imports limits' record)."""
    import sys
    original = getattr(module, name)
    for held in list(sys.modules.values()):
        if getattr(held, "__name__", "").startswith("symnet") and vars(held).get(name) is original:
            monkeypatch.setattr(held, name, value)


def test_a_record_keeps_its_most_recently_used_entries():
    r = BoundedRecord(3)
    for i in range(10):
        r[i] = -i
    assert dict(r) == {7: -7, 8: -8, 9: -9}
    r[8] = 0  # a key already there is overwritten: nothing forgotten, and it is the newest use
    assert r[7] == -7 and r.get(9) == -9 and r.get(1) is None  # reads are uses: 8 is now the least recent
    r[10] = -10
    assert list(r) == [7, 9, 10]
    with pytest.raises(ValueError, match="at least 1"):
        BoundedRecord(0)


@pytest.mark.parametrize("module,name", RECORDS, ids=[n for _, n in RECORDS])
def test_every_rule_record_is_bounded(module, name):
    assert isinstance(getattr(module, name), BoundedRecord)


def test_render_name_cache_is_bounded():
    assert render._plain_name_now.cache_info().maxsize is not None  # _plain_name keys it by the registry generation too


# each formula reaches at least one record (root-difference, softplus-rational, exp-product-limit, widen); (formula,
# point, the true value of f written for mpmath)
CASES = [
    ("(sqrt(u) - sqrt(v))/sqrt(u)", {"u": 1e300, "v": 4e300}, lambda u, v: (mpmath.sqrt(u) - mpmath.sqrt(v)) / mpmath.sqrt(u)),
    ("sigmoid(x)/(x*tanh(log(1 + exp(x))))", {"x": -3.0},
     lambda x: 1 / (1 + mpmath.exp(-x)) / (x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))))),
    ("log(exp(2*x) + 1) - log(exp(x) + 1)", {"x": 5.0}, lambda x: mpmath.log(mpmath.exp(2 * x) + 1) - mpmath.log(mpmath.exp(x) + 1)),
]


def test_records_of_one_entry_still_give_right_values(monkeypatch):
    """With every record cut to one entry (most entries forgotten before they are read), each formula still compiles
    and its value is right to 4 ULP at a point where the written form is fine or the rule is not needed; the records
    never hold more than their limit."""
    compiler = importlib.import_module("symnet.codegen.compiler")
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")  # a stored kernel would skip the rules and their records
    monkeypatch.setattr(compiler, "_CACHE", compiler._LeastRecentlyUsed(compiler.MAX_COMPILED))
    for module, name in RECORDS:
        _set_record(monkeypatch, module, name, BoundedRecord())
    for formula, _, _ in CASES:
        symnet.compile(symnet.derive(formula), "numpy")
    written = {name: len(getattr(module, name)) for module, name in RECORDS}
    assert all(written[n] > 0 for n in ("_ROOT_WRITTEN", "_SOFTPLUS_RATIONAL_OF", "_EXP_PRODUCT_LIMIT_OF")), written
    monkeypatch.setattr(compiler, "_CACHE", compiler._LeastRecentlyUsed(compiler.MAX_COMPILED))
    for module, name in RECORDS:
        _set_record(monkeypatch, module, name, BoundedRecord(1))
    for formula, point, true in CASES:
        k = symnet.compile(symnet.derive(formula), "numpy")
        got = k(**{n: np.array([v]) for n, v in point.items()})
        f = float(np.asarray(got[0] if isinstance(got, tuple) else got).ravel()[0])
        with mpmath.workdps(60):
            want = true(*[mpmath.mpf(v) for v in point.values()])
        assert abs(f - float(want)) <= 4 * np.spacing(abs(float(want))), (formula, f, want)
    for module, name in RECORDS:
        assert len(getattr(module, name)) <= 1, name
