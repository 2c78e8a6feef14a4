"""Breakage round 4, formula side: the NumPy elementwise printer, the stability rules, verify's
timeout and the derivation store. Each test is a fault found by trying to break them (see the
docstrings), checked against an independent reference (torch float64, mpmath)."""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet


def _compiled(formula):
    return symnet.compile(symnet.derive(symnet.parse(formula)), "numpy")


def _at(kernel, *values, dtype=np.float64):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return kernel(*[np.array(v, dtype=dtype) for v in values])


@pytest.mark.parametrize("formula", ["log(1+exp(x*y))", "exp(x*y)/(1+exp(x*y))",
                                     "log(1+exp(x*y)) + sigmoid(y)"])
def test_sigmoid_recognised_beside_a_factor_outside_the_exponential(formula):
    """Fault: ∂/∂x softplus(x·y) = y·e^{xy}/(1 + e^{xy}) compiled to e^{xy}·σ(−xy)·y (the
    sigmoid recogniser gave up on the whole product because of the factor y), which is
    ∞·0 = NaN from x·y ≈ 710 on (torch: y). Now the factors in e^{xy} are recognised apart
    from the others: σ(xy)·y."""
    torch = pytest.importorskip("torch")
    k = _compiled(formula)
    x = np.array([800.0, 40.0, -800.0, 0.3])
    y = np.array([1.0, 20.0, 1.0, -2.0])
    got = _at(k, x, y)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y, requires_grad=True)
    t = tx * ty
    ref = {"log(1+exp(x*y))": torch.nn.functional.softplus(t),
           "exp(x*y)/(1+exp(x*y))": torch.sigmoid(t),
           "log(1+exp(x*y)) + sigmoid(y)": torch.nn.functional.softplus(t) + torch.sigmoid(ty)}[formula]
    gx, gy = torch.autograd.grad(ref.sum(), (tx, ty))
    np.testing.assert_allclose(got[0], ref.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got[1], gx.numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got[2], gy.numpy(), rtol=1e-12, atol=1e-300)


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


@pytest.mark.parametrize("formula, value", [
    ("t*sigmoid(u) - (1-t)*sigmoid(-u)", lambda t, u: t * _sig(u) - (1 - t) * _sig(-u)),
    ("(1-t)*sigmoid(u) - t*sigmoid(-u)", lambda t, u: (1 - t) * _sig(u) - t * _sig(-u)),
])
def test_sigmoid_target_sums_the_target_part_first(formula, value):
    """Fault: the sigmoid-target rule wrote σ(u) − B for u < −log 3 as one flattened sum, so
    with B = 1 − t it was printed ``sig_u + t - 1`` = (σ(u) + t) − 1: at t = 1, u = −40 it gave
    0 (true σ(−40) = 4.2e−18), at u = −20 only 8 digits. Now B is summed on its own first
    (σ(u) + (t − 1)), as the rule's other branches already were."""
    k = _compiled(formula)
    ts = [1.0, 0.999, 1.0, 0.0, 0.5, 0.25]
    us = [-20.0, -20.0, -40.0, -40.0, -1e-30, 3.0]
    got = _at(k, ts, us)[0]
    with mpmath.workdps(60):
        want = [float(value(mpmath.mpf(t), mpmath.mpf(u))) for t, u in zip(ts, us)]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("formula", ["tanhshrink(x*y)", "x*y - tanh(x*y)"])
def test_tanhshrink_series_of_a_product_keeps_the_product(formula):
    """Fault: the tanhshrink series u³·Q(u²)/cosh u with u = x·y was distributed by SymPy into
    x³·y³·Q(x²·y²), which is ∞·0 = NaN at x = 1e200, y = 0 where u = 0 and the value is 0 (torch:
    0). Now the product is kept as one factor inside the series."""
    k = _compiled(formula)
    x = [1e200, 0.3, 1e-5, -0.7, 0.0]
    y = [0.0, 0.2, 1e-5, 1.1, -1e300]
    got = _at(k, x, y)
    with mpmath.workdps(60):
        u = [mpmath.mpf(a) * b for a, b in zip(x, y)]
        want = [float(v - mpmath.tanh(v)) for v in u]
        gx = [float(b * mpmath.tanh(v) ** 2) for v, b in zip(u, y)]  # (u − tanh u)′ = tanh² u
        gy = [float(a * mpmath.tanh(v) ** 2) for v, a in zip(u, x)]
    np.testing.assert_allclose(got[0], want, rtol=1e-14, atol=0)
    np.testing.assert_allclose(got[1], gx, rtol=1e-13, atol=0)
    np.testing.assert_allclose(got[2], gy, rtol=1e-13, atol=0)


def test_verify_timeout_of_a_wrong_type_is_one_clear_error():
    """Fault: ``symnet.verify(f, timeout="5")`` raised Python's bare "'>=' not supported between
    instances of 'str' and 'int'", naming neither the argument nor what it wants."""
    for bad in ("5", [1], 1j):
        with pytest.raises(TypeError, match="timeout"):
            symnet.verify("x*y", dtypes=("float64",), n=5, torch=False, timeout=bad)


_PLANT = r'''
import os, pickle, sys
import symnet
from symnet import curriculum as C
from symnet.cache import sealed
from symnet.pickling import _node

class R:
    def __reduce__(self):
        return (_node, ("symnet.__main__:X", ()))

name = C.ORDER[0]
body = pickle.dumps(R(), protocol=5)
folder = os.path.join(os.environ["SYMNET_CACHE"], C.DISK_CACHE)
os.makedirs(folder, mode=0o700, exist_ok=True)
with open(os.path.join(folder, C.derivation_filename(name)), "wb") as f:
    f.write(sealed(C._PICKLE_HEADER, C.derivation_filename(name), body))
sys.argv = ["host-program", "--version"]
d = symnet.get(name)
print("got", type(d).__name__, d.name == name)
'''


def test_planted_derivation_cannot_import_symnet_main(tmp_path):
    """Fault: a derivation cache file naming the class ``symnet.__main__:X`` made the loader
    import ``symnet.__main__``, which runs symnet's command line on the host program's own
    ``sys.argv`` and exits the process (``symnet.get`` never returned; with argv ``codegen …``
    it would write files). Now no dunder module is imported: the file is refused and the
    derivation built afresh."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, SYMNET_CACHE=str(cache), PYTHONPATH=root)
    env.pop("SYMNET_NO_DISK_CACHE", None)
    run = subprocess.run([sys.executable, "-c", _PLANT], capture_output=True, text=True, env=env, timeout=300, cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "got Derivation True" in run.stdout, (run.stdout, run.stderr[-2000:])


_HUGE = r'''
import os, sys, resource, warnings
import symnet
from symnet import curriculum as C

name = C.ORDER[0]
folder = os.path.join(os.environ["SYMNET_CACHE"], C.DISK_CACHE)
os.makedirs(folder, mode=0o700, exist_ok=True)
with open(os.path.join(folder, C.derivation_filename(name)), "wb") as f:
    f.truncate(4 * 2**30)  # sparse: no disk used
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    d = symnet.get(name)
print("got", d.name == name, any("larger than" in str(x.message) for x in w))
'''


def test_planted_huge_cache_file_is_not_read_whole(tmp_path):
    """Fault: the derivation cache read a file whole, whatever its size: a 4 GB sparse file
    planted under a derivation's name made ``symnet.get`` allocate 4 GB (MemoryError under a
    memory limit). Now a file over 64 MiB is ignored with a warning and the derivation rebuilt."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, SYMNET_CACHE=str(cache), PYTHONPATH=root)
    env.pop("SYMNET_NO_DISK_CACHE", None)
    run = subprocess.run([sys.executable, "-c", _HUGE], capture_output=True, text=True, env=env, timeout=300, cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "got True True" in run.stdout, (run.stdout, run.stderr[-2000:])


@pytest.mark.parametrize("formula, value", [
    ("x + 10**308*3", lambda x: math.inf),
    ("x - 10**400", lambda x: -math.inf),
    ("x/10**400", lambda x: x * 0.0),
    ("x*10**400/10**300", lambda x: x * 1e100),
    ("x/3 + 10**308", lambda x: x / 3 + 1e308),
    ("x/10**300 + 10**10", lambda x: 1e10),
])
def test_integer_constants_beyond_float_range(formula, value):
    """Fault: an integer constant past float range was printed exactly (3000…0), so calling the
    kernel raised "OverflowError: int too large to convert to float" from inside the generated
    code; and the affine-root rule rewrote x/3 + 10³⁰⁸ as (x + 3·10³⁰⁸)/3, whose shifted constant
    overflows to inf where the true value is 1e308. Now such constants print as their float value
    (±inf past 1.8e308, as the arithmetic gives) and affine-root fires only for a small shift."""
    k = _compiled(formula)
    x = [1.0, 0.0, -3.0]
    got = _at(k, x)[0]
    np.testing.assert_allclose(got, [value(v) for v in x], rtol=1e-15)


_FOLDER = r'''
import os, warnings
import symnet
from symnet import curriculum as C

name = C.ORDER[1]
folder = os.path.join(os.environ["SYMNET_CACHE"], C.DISK_CACHE)
os.makedirs(os.path.join(folder, C.derivation_filename(name)), mode=0o700)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    d = symnet.get(name)
print("got", d.name == name, any("not a file" in str(x.message) for x in w))
'''


def test_folder_planted_under_a_cache_name_is_ignored(tmp_path):
    """Fault: a folder in the derivation cache under a derivation's file name made
    ``symnet.get`` fail with a traceback (IsADirectoryError from os.fdopen). Now it is ignored
    with a warning, and the derivation built afresh."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, SYMNET_CACHE=str(cache), PYTHONPATH=root)
    env.pop("SYMNET_NO_DISK_CACHE", None)
    run = subprocess.run([sys.executable, "-c", _FOLDER], capture_output=True, text=True, env=env, timeout=300, cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "got True True" in run.stdout, (run.stdout, run.stderr[-2000:])


@pytest.mark.parametrize("formula, names", [
    ("µ*x + μ", ["mu", "x"]),  # micro sign, Greek mu
    ("ϑ*x + θ", ["theta", "x"]),  # theta symbol, Greek theta
    ("ϕ + φ*x", ["phi", "x"]),
])
def test_compatibility_forms_of_greek_letters_are_the_greek_name(formula, names):
    """Fault: names are read in NFKC form (ｘ is x, as Python reads it), but the Greek letters
    were spelled out (μ → mu) before that folding, so the micro sign ``µ`` became a variable
    ``μ`` apart from the Greek ``μ`` read as ``mu``: ``µ*x + μ`` had two variables that print
    alike. Now each name is folded first, then spelled out."""
    e = symnet.parse(formula)
    assert sorted(s.name for s in e.free_symbols) == names
