"""Faults found by h-break15 (session 15), each with the test that failed before its fix.

a. ``symnet.compile(symnet.derive("bce(sigmoid(x), t)"))`` generated NumPy code that raised UnboundLocalError
   on its first call: the check of bce's p = σ(x) ∈ [0, 1] was printed after the loop's body, by a printer that
   knew the block's temporaries, and so gave σ(x) the block's e^−|x| (``_sigmoid(x, e=exp_neg_abs_x)``) before
   the loop had defined it. The checks are printed first now, over the whole arrays.
b. ``symnet verify "gaussian_nll(x, t, erf(v))"`` stopped with the kernel's DomainError ("var = erf(v) has a
   negative entry (-1)") instead of measuring: the points outside a domain were found by evaluating the check in
   NumPy, which has no erf, and such a check was skipped. It is evaluated by torch where NumPy cannot, and the
   compiled function has the last word (the rows it refuses are found by halving).
c. Domains that do not meet (``bce(p, t) + gaussian_nll(x, y, t - 2)``: t in [0, 1] and t ≥ 2): every cell read
   "no point measured: all 0 were without a true value (NaN in mpmath ...)", a reason that was not the reason.
d. A hostile pickle given to symnet.pickling.loads (a planted cache file) made it import any module under
   ``symnet.`` or ``sympy.`` it named as a class's home: ``symnet.torch._ops`` imported torch and registered
   symnet's ops (9.4 s) before "not a class symnet stores". symnet.pickling's docstring promised "loading it never
   imports ... anything else". A class is now looked up in a module already imported, or in one of symnet's own
   modules that define SymPy classes (imported where a fresh process has not yet); nothing else is imported.
e. The mark of a registry call with an argument domain (registry.DomainChecked) fell off under SymPy's own
   operations: ``sympy.diff`` (and so ``symnet.derive`` of ∂/∂x of ``REGISTRY["gaussian_nll"](x, t, v)`` compiled to
   code that took v = −0.5 silently, where torch's autograd of gaussian_nll_loss refuses it), ``simplify``,
   ``doit``, ``evalf``; ``subs(v, -1)`` gave the loss at the clamped variance (5·10⁵·(x − t)² − log(10⁶)/2) where
   the entry called with −1 raises; ``sympy.series`` of the marked loss raised NotImplementedError.
f. FusedStep with a NaN target (or input) said only "step 1 had loss nan: it was not applied, nor any after it":
   the step is still refused (torch's optimizer would apply the NaN gradient), and the error names the first NaN
   or infinite entry of that step's batch.
g. ``symnet.verify`` given ``dtypes=np.float64``, ``np.dtype("float32")`` or None, or ``backends=None``, raised
   "TypeError: 'type' object is not iterable" from inside; ``seed=-1`` or ``"a"`` NumPy's ValueError/TypeError after
   the derivation was built. A NumPy dtype is its name, None the default; a bad seed is refused in one line first.
h. ``pickle.dumps(symnet.compile(d))`` raised "Can't pickle <function kernel ...>: import of module
   'symnet_generated_kernel' failed", so a compiled kernel could not go to another process (multiprocessing's
   Pool.map, joblib). It pickles by value now: the derivation as symnet.pickling writes it, and compile's options;
   unpickling reads it back with symnet.pickling's restricted loader and compiles it again.
i. ``torch.save`` of a model holding a ``symnet.torch.from_formula`` module raised "AttributeError: Can't pickle
   local object 'formula_op.<locals>.<lambda>'": the module is pickled without its op, which loading makes again.
"""
from __future__ import annotations

import ast
import importlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import symnet
from symnet.errors import DomainError


# ---------------------------------------------------------------- a. a domain check printed with the block's names

def _torch_bce_of_sigmoid(x, t):
    """Reference: torch's own binary_cross_entropy of torch.sigmoid, float64 autograd."""
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.binary_cross_entropy(torch.sigmoid(xt), tt, reduction="none")
    gt, gx = torch.autograd.grad(y.sum(), [tt, xt])
    return y.detach().numpy(), gt.numpy(), gx.numpy()


def test_a_bce_of_a_sigmoid_compiles_to_code_that_runs():
    """Before: UnboundLocalError: cannot access local variable 'exp_neg_abs_x' (the domain check of p = σ(x))."""
    f = symnet.compile(symnet.derive("bce(sigmoid(x), t)"))
    x, t = np.array([0.3, -2.0, 5.0, -0.0]), np.array([0.2, 0.5, 1.0, 0.0])
    f_value, df_dt, df_dx = f(x=x, t=t)
    ref = _torch_bce_of_sigmoid(x, t)
    for got, want in zip((f_value, df_dt, df_dx), ref):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)  # torch's log(σ(5)) is 18 ULP off
    assert "_refuse_outside(_sigmoid(x)," in f.source  # over the whole array, its own exponential
    with pytest.raises(DomainError, match=r"^bce: t has an entry outside \[0, 1\] \(1.5\); t must be in \[0, 1\]$"):
        f(x=x, t=np.array([0.2, 1.5, 1.0, 0.0]))


# ---------------------------------------------------------------- b. a domain check NumPy cannot evaluate

def test_b_verify_measures_inside_a_domain_whose_check_numpy_cannot_evaluate():
    """Before: DomainError: gaussian_nll: var = erf(v) has a negative entry (-1); var must be ≥ 0."""
    from symnet.verify import verify

    report = verify("gaussian_nll(x, t, erf(v))", dtypes="float64", n=0, torch=False)
    assert any("points outside the argument domains the formula declares (gaussian_nll's var = erf(v))" in note
               for note in report.notes), report.notes
    cell = report.cell("df_dx", "float64", "symnet numpy")
    assert cell.measured and cell.points > 50 and cell.passed(4.0), cell


def test_b_without_torch_the_generated_code_decides_which_points_are_outside(monkeypatch):
    """Neither NumPy nor torch (not installed: sys.modules["torch"] = None) evaluates erf: the compiled function
    finds the rows it refuses; without it they are left to it (none marked), as before."""
    from symnet.verify.measure import _outside_domains

    f = symnet.compile(symnet.derive("gaussian_nll(x, t, erf(v))"))
    symbols = [i.symbol for i in f.kernel.inputs]
    rng = np.random.default_rng(5)
    pts = rng.uniform(-3, 3, (203, len(symbols)))
    pts[7, :] = np.nan  # NaN passes, as in the generated code
    v = pts[:, [s.name for s in symbols].index("v")]
    with np.errstate(invalid="ignore"):
        want = v < 0
    monkeypatch.setitem(sys.modules, "torch", None)
    np.testing.assert_array_equal(_outside_domains(f.kernel.domains, symbols, pts, f), want)
    assert not _outside_domains(f.kernel.domains, symbols, pts).any()


# ---------------------------------------------------------------- c. declared domains that do not meet

def test_c_domains_that_do_not_meet_are_named_as_the_reason_nothing_was_measured():
    """Before: "no point measured: all 0 were without a true value (NaN in mpmath: outside the domain, ...)"."""
    from symnet.verify import verify

    report = verify("bce(p, t) + gaussian_nll(x, y, t - 2)", dtypes="float64", n=0, torch=False)
    assert not report.passed
    notes = {c.note for c in report.cells}
    assert notes == {"no point measured: every point was outside the argument domains the formula declares (the "
                     "note below names them): they may not meet"}, notes
    assert any("gaussian_nll's var = −2 + t" in n for n in report.notes), report.notes


# ---------------------------------------------------------------- d. what loading a hostile pickle may import

_HOSTILE = r"""
import pickle, sys
from symnet import pickling

class Names:
    def __init__(self, home):
        self.home = home
    def __reduce__(self):
        return pickling._node, (self.home, ())

homes = ["symnet.torch._ops:Nothing", "symnet.training.loop:Nothing", "symnet.cli:main",
         "sympy.testing.runtests:SymPyTests"]
for home in homes:
    try:
        pickling.loads(pickle.dumps(Names(home), protocol=5))
    except pickling.UnfaithfulError as e:
        print(e)
modules = [h.partition(":")[0] for h in homes] + ["torch"]
print("imported:", [m for m in modules if m in sys.modules])
"""


def _python(code: str, *args: str) -> str:
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                         cwd=pathlib.Path(__file__).parent.parent)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_d_a_hostile_pickle_naming_a_module_imports_nothing():
    """Before: imported: ['symnet.torch._ops', 'symnet.training.loop', 'symnet.cli', 'sympy.testing.runtests',
    'torch'] (each refused only after its import)."""
    out = _python(_HOSTILE).splitlines()
    assert out == ["not a class symnet stores: symnet.torch._ops:Nothing",
                   "not a class symnet stores: symnet.training.loop:Nothing",
                   "not a class symnet stores: symnet.cli:main",
                   "not a class symnet stores: sympy.testing.runtests:SymPyTests", "imported: []"], out


def test_d_a_fresh_process_reads_a_derivation_holding_a_class_of_a_module_it_has_not_imported(tmp_path):
    """The cache stays useful: the dense layer's derivation holds symnet.indexed's Iverson bracket, which a fresh
    process reading it has not imported; that module (and no other of symnet's) is imported to rebuild it."""
    from symnet import pickling

    d = symnet.get("dense")
    path = tmp_path / "dense.pickle"
    path.write_bytes(pickling.dumps(d))
    out = _python("import sys, pathlib\nfrom symnet import pickling\n"
                  "d = pickling.loads(pathlib.Path(sys.argv[1]).read_bytes())\n"
                  "print(d.name, 'symnet.indexed' in sys.modules, 'symnet.codegen.rewrite' in sys.modules)",
                  str(path))
    assert out.split() == [d.name, "True", "False"], out


def test_d_the_class_modules_are_every_module_of_symnet_that_defines_a_sympy_class():
    """pickling._CLASS_MODULES against the subclasses of sympy.Basic defined under symnet/ (every module with a class
    imported; symnet.torch, which registers ops, read instead: none of its classes derives from SymPy's)."""
    import sympy as sp

    from symnet import pickling

    root = pathlib.Path(symnet.__file__).parent
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        source = path.read_text(encoding="utf-8")
        if name.endswith("__main__") or "class " not in source:
            continue
        if name.startswith("symnet.torch"):
            bases = [ast.unparse(b) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)
                     for b in node.bases]
            assert not [b for b in bases if b.startswith(("sp.", "sympy."))], (name, bases)
            continue
        importlib.import_module(name)
    seen, todo = set(), [sp.Basic]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    # a class made at run time may have no module (None: SymPy's own dynamic classes, made where __name__ is unset);
    # in the clean-clone CI another test of this worker made one first: 'NoneType' object has no attribute 'startswith'
    defining = {c.__module__ for c in seen if (c.__module__ or "").startswith("symnet.")}
    assert defining == set(pickling._CLASS_MODULES)


# ---------------------------------------------------------------- e. the domain mark under SymPy's operations

def _marked_loss():
    import sympy as sp

    from symnet.registry import REGISTRY

    x, t, v = sp.symbols("x t v", real=True)
    return REGISTRY["gaussian_nll"](x, t, v), (x, t, v)


def test_e_the_derivative_of_a_marked_loss_is_checked_as_the_loss_is():
    """Before: domains () and ∂f/∂x = (x − t)/max(v, 1e−6) = −1.2e6 at v = −0.5, silently."""
    import sympy as sp

    loss, (x, t, v) = _marked_loss()
    f = symnet.compile(symnet.derive(sp.diff(loss, x), [x, t, v]))
    with pytest.raises(DomainError, match=r"^gaussian_nll: var = v has a negative entry \(-0.5\); var must be ≥ 0$"):
        f(x=np.array([1.5]), t=np.array([0.3]), v=np.array([-0.5]))
    xs, ts, vs = np.array([1.5, -2.0]), np.array([0.3, 0.25]), np.array([0.5, 3.0])
    np.testing.assert_allclose(f(x=xs, t=ts, v=vs)[0], (xs - ts) / vs, rtol=1e-15)  # torch's ∂/∂x: (x − t)/var


@pytest.mark.parametrize("operation", ["diff_v", "diff_x_twice", "simplify", "doit", "evalf", "nsimplify", "expand"])
def test_e_sympys_operations_keep_the_mark(operation):
    """Before: diff, simplify, doit and evalf gave the loss unmarked (derive then had no domain to check)."""
    import sympy as sp

    loss, (x, t, v) = _marked_loss()
    done = {"diff_v": lambda e: sp.diff(e, v), "diff_x_twice": lambda e: sp.diff(e, x, 2), "simplify": sp.simplify,
            "doit": lambda e: e.doit(), "evalf": lambda e: e.evalf(), "nsimplify": sp.nsimplify,
            "expand": sp.expand}[operation](loss)
    wrt = [s for s in (x, t, v) if s in done.free_symbols]  # ∂²/∂x² = 1/max(v, 1e−6) has v alone
    assert [(c.function, c.argument, c.expr) for c in symnet.derive(done, wrt).domains] == [("gaussian_nll", "var", v)]


def test_e_a_substitution_settles_a_check_as_the_entry_would():
    """A number outside: refused as REGISTRY["gaussian_nll"](x, t, -1) is (before: the loss at the clamped variance,
    unrefused); a number inside, or an expression SymPy shows inside (eˣ), needs no check: the plain loss there."""
    import sympy as sp

    from symnet.registry import REGISTRY, DomainChecked

    loss, (x, t, v) = _marked_loss()
    with pytest.raises(DomainError, match=r"^gaussian_nll: var has a negative entry \(-1\); var must be ≥ 0$"):
        loss.subs(v, -1)
    for value in (sp.Rational(1, 2), sp.exp(x)):
        settled = loss.subs(v, value)
        assert not settled.has(DomainChecked)
        assert settled == REGISTRY["gaussian_nll"].build(x, t, value)
    still = loss.subs(v, v - 1)  # not settled: checked as v − 1
    assert [c.expr for c in symnet.derive(still, [x, t, v]).domains] == [v - 1]


def test_e_the_series_of_a_marked_loss_is_the_series_of_the_loss():
    """Before: NotImplementedError: The _eval_nseries method should be added to <class 'DomainChecked'>."""
    import sympy as sp

    from symnet.registry import REGISTRY

    loss, (x, t, v) = _marked_loss()
    want = sp.series(REGISTRY["gaussian_nll"].build(x, t, v), x, 0, 3)
    assert sp.simplify(sp.series(loss, x, 0, 3).removeO() - want.removeO()) == 0


# ---------------------------------------------------------------- f. the fused step's NaN loss names its cause

@pytest.mark.parametrize("where", ["target", "x"])
def test_f_a_nan_loss_of_the_fused_step_names_the_entry_that_caused_it(where):
    """Before: "step 2 had loss nan: it was not applied, nor any after it" and no more."""
    from conftest import torch_and_triton

    torch, _ = torch_and_triton()
    from symnet.torch.optim import FusedStep, FusedStepError

    torch.manual_seed(0)
    params = [torch.randn(3, 2), torch.zeros(3), torch.randn(1, 3), torch.zeros(1)]
    opt = FusedStep(params, activations=("tanh", "sigmoid"), loss="bce", lr=0.1)
    x, t = torch.randn(4, 2), torch.tensor([[0.5], [1.0], [0.25], [0.0]])
    (t if where == "target" else x)[3, 0] = float("nan")
    order = torch.tensor([1, 0, 3, 2])
    with pytest.raises(FusedStepError) as info:
        opt.steps(x, t, order, 2)  # step 1 is rows 1, 0; step 2 rows 3, 2
    assert str(info.value) == f"step 2 had loss nan: it was not applied, nor any after it; its batch holds {where}[3, 0] = nan"
    assert opt.steps_taken == 1


# ---------------------------------------------------------------- g. verify's arguments

@pytest.mark.parametrize("dtypes, measured", [(np.float64, {"float64"}), (np.dtype("float32"), {"float32"}),
                                              ([np.float32, "float64"], {"float32", "float64"}),
                                              (None, {"float32", "float64"})])
def test_g_verify_takes_numpy_dtypes_and_none_for_the_default(dtypes, measured):
    """Before: TypeError: 'type' object is not iterable (np.float64), 'NoneType' object is not iterable (None)."""
    from symnet.verify import verify

    report = verify("softsign(x)", dtypes=dtypes, backends=None, n=0, torch=False)
    assert {c.dtype for c in report.cells} == measured and report.passed


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True])
def test_g_verify_refuses_a_seed_that_is_not_a_whole_number_in_one_line(seed):
    """Before: ValueError: expected non-negative integer (NumPy's, after deriving), TypeError for "a"."""
    from symnet.errors import SymnetError
    from symnet.verify import verify

    with pytest.raises(SymnetError, match=r"^seed must be a whole number ≥ 0, not "):
        verify("softsign(x)", seed=seed, n=0, torch=False)


def test_g_verify_refuses_dtypes_that_are_not_names_in_one_line():
    from symnet.errors import SymnetError
    from symnet.verify import verify

    with pytest.raises(SymnetError, match=r"^dtypes must be a name or a sequence of names, not 64$"):
        verify("softsign(x)", dtypes=64, n=0, torch=False)


# ---------------------------------------------------------------- h. a compiled kernel to another process

def test_h_a_compiled_kernel_pickles_by_value_and_computes_the_same_in_a_fresh_process(tmp_path):
    """Before: PicklingError: Can't pickle <function kernel>: import of module 'symnet_generated_kernel' failed."""
    import pickle

    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"), name="nll")
    path = tmp_path / "nll.pickle"
    path.write_bytes(pickle.dumps(f))
    x, t, v = np.array([0.3, -2.0, 1e10]), np.array([0.25, 1.0, 0.0]), np.array([0.5, 3.0, 1e-7])
    want = f(x=x, t=t, v=v)
    out = _python("import pickle, sys, pathlib\nimport numpy as np\n"
                  "g = pickle.loads(pathlib.Path(sys.argv[1]).read_bytes())\n"
                  f"print(repr(g), [o.tolist() for o in g(x=np.array({x.tolist()}), t=np.array({t.tolist()}), "
                  f"v=np.array({v.tolist()}))])\n"
                  "try:\n    g(x=np.ones(1), t=np.ones(1), v=-np.ones(1))\n"
                  "except Exception as e:\n    print(type(e).__name__, e)", str(path)).splitlines()
    assert out == [f"{f!r} {[o.tolist() for o in want]}",
                   "DomainError gaussian_nll: var = v has a negative entry (-1); var must be ≥ 0"], out


def test_h_a_kernel_symnet_compile_did_not_make_is_refused_in_one_line():
    import pickle

    from symnet.codegen.compiler import CompiledKernel
    from symnet.errors import SymnetError

    f = symnet.compile(symnet.derive("softsign(x)"))
    bare = CompiledKernel(f._function, f.source, f.kernel)
    with pytest.raises(SymnetError, match=r"^symnet kernel kernel cannot be pickled: it was not made by symnet.compile"):
        pickle.dumps(bare)


# ---------------------------------------------------------------- i. torch.save of a model with a formula module

def test_i_a_model_with_a_formula_module_saves_and_loads_whole():
    """Before: AttributeError: Can't pickle local object 'formula_op.<locals>.<lambda>'."""
    import io

    from conftest import torch_and_triton

    torch, _ = torch_and_triton()
    import symnet.torch as st

    model = torch.nn.Sequential(st.from_formula("gaussian_nll(x, t, v)", inputs=["x", "t", "v"]))
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)[0]
    x, t, v = (torch.tensor(a, dtype=torch.float64) for a in ([0.3, 2.0], [0.1, 0.0], [0.5, 3.0]))
    want = 0.5 * (torch.log(v) + (x - t) ** 2 / v)  # torch's gaussian_nll_loss, reduction="none", full=False
    torch.testing.assert_close(loaded(x, t, v), want, rtol=1e-15, atol=0)
    with pytest.raises(DomainError, match=r"^gaussian_nll: var = v has a negative entry \(-0.5\); var must be ≥ 0$"):
        loaded(x, t, -v)
