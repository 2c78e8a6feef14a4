"""One printer per backend, used by every kernel family; temporaries named by their math (issue 15).

(a) No module of code generation outside the printers (``backends/*/printer.py`` and the shared
    ``backends/printing.py``) lowers SymPy expressions itself: no ``_Lowering`` in the backends,
    no ``out=`` ufunc lowering, and every SymPy printer of ``symnet/codegen`` is the backend's one
    printer or a family's subclass of it (which adds only the nodes of its skeleton).
(b) The generated kernels of every registry function, both backends, name no temporary ``t0``
    or scratch buffer ``b1``: each is named by its math (``sig_z``, ``one_minus_y``).
(c) A formula whose variables are named like the generated temporaries still compiles (the
    temporaries step aside) and matches mpmath at 50 digits.
Also: the NumPy printer keeps float32 float32 (constants as Python floats, selects of constants
in the kernel's dtype), and the named temporaries are what the issue asks for.
"""
from __future__ import annotations

import contextlib
import ast
import importlib
import pathlib
import re

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.backends.numpy.elementwise import emit_module
from symnet.codegen.backends.triton.elementwise import emit_triton_module
from symnet.codegen.ir import describe, temporary_names
from symnet.codegen.stored import described
from symnet.functions import sigmoid
from symnet.parsing import parse_expression
from symnet.registry import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parents[1]
CODEGEN = ROOT / "symnet" / "codegen"
PRINTERS = {CODEGEN / "backends" / "printing.py", *(CODEGEN / "backends").glob("*/printer.py")}
R = dict(real=True)


# ------------------------------------------------------------------ (a) no lowering outside the printers

def lowering_in(source: str) -> list[str]:
    """What in ``source`` lowers expressions by itself: a class _Lowering, or a string that
    writes a ufunc's out= buffer (a template "np.exp({0}, out={out})", an f-string "…, out=b1)")."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "_Lowering":
            found.append(f"class _Lowering (line {node.lineno})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\bout=", node.value):
            found.append(f"{node.value[:60]!r} (line {node.lineno})")
    return found


def test_the_scan_finds_the_old_lowering():
    old = ('class _Lowering:\n'
           '    def binary(self, ufunc, a, b):\n'
           '        return self.call(f"np.{ufunc}({{0}}, {{1}}, out={{out}})", a, b)\n'
           'line = f"np.subtract({a}, {b}, out={home})"\n')
    assert len(lowering_in(old)) == 3


@pytest.mark.parametrize("path", sorted(p for p in (CODEGEN / "backends").rglob("*.py") if p not in PRINTERS),
                         ids=lambda p: str(p.relative_to(CODEGEN)))
def test_no_backend_module_outside_the_printers_lowers_expressions(path):
    assert lowering_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sorted((CODEGEN / "families").rglob("*.py")), ids=lambda p: p.name)
def test_no_family_module_writes_ufunc_buffers(path):
    source = path.read_text(encoding="utf-8")
    assert lowering_in(source) == []


def test_every_printer_of_code_generation_is_its_backend_s_one_printer():
    from sympy.printing.printer import Printer

    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.backends.triton.printer import TritonPrinter
    printers = []
    for path in sorted(CODEGEN.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        printers += [(name, c) for c in vars(module).values()
                     if isinstance(c, type) and issubclass(c, Printer) and c.__module__ == name]
    assert {c for _, c in printers} >= {NumpyExpressionPrinter, TritonPrinter}
    for name, cls in printers:
        one = NumpyExpressionPrinter if "numpy" in cls.__mro__[0].__module__ or issubclass(cls, NumpyExpressionPrinter) \
            else TritonPrinter
        assert issubclass(cls, one), f"{name}.{cls.__name__} is a printer of its own, not a {one.__name__}"
    # the NumPy families (elementwise, row-wise, dense layer) print through the NumPy printer
    users = {n for n, c in printers if issubclass(c, NumpyExpressionPrinter)}
    assert {"symnet.codegen.backends.numpy.rowwise", "symnet.codegen.families.dense"} <= users
    source = (CODEGEN / "backends" / "numpy" / "elementwise.py").read_text(encoding="utf-8")
    assert "NumpyExpressionPrinter(" in source


# ------------------------------------------------------------------ (b) no numbered temporaries

NUMBERED = re.compile(r"[tb]\d+")


def _rows() -> dict:
    from test_registry import ROWS
    from test_registry_losses import CASES
    return {**ROWS, **{name: case["formula"] for name, case in CASES.items()}}


def numbered_names(source: str) -> set:
    """The temporaries t0, b1 … ``source`` assigns: not a loop's counter (``for b0 in range``),
    nor a parameter of the formula (the bias b1 of a layer, a parameter or read from ``b1_ptr``)."""
    tree = ast.parse(source)
    params = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    params |= {p.removesuffix("_ptr") for p in params if p.endswith("_ptr")}
    return {n.id for a in ast.walk(tree) if isinstance(a, (ast.Assign, ast.AugAssign))
            for t in (a.targets if isinstance(a, ast.Assign) else [a.target]) for n in ast.walk(t)
            if isinstance(n, ast.Name) and NUMBERED.fullmatch(n.id) and n.id not in params}


def test_the_check_sees_numbered_temporaries():
    assert numbered_names("def f(x, b2_ptr):\n    t0 = x + 1\n    b1 = t0 * 2\n    sig_z = b1\n"
                          "    b2 = tl.load(b2_ptr)\n    for b0 in range(3):\n        pass\n") == {"t0", "b1"}


@pytest.fixture(scope="module")
def every_kernel():
    kernels = {}
    for name, formula in _rows().items():
        # from symnet.compile's disk cache where tests/test_registry*.py compiled the same derivation (each
        # takes 0.1-10 s to describe): the same Kernel, stored only if it comes back object for object
        kernels[name] = described(symnet.derive(parse_expression(formula)))
    return kernels


def test_registry_kernels_name_their_temporaries_by_their_math(every_kernel):
    # every registry function has a kernel here (but the toy "cube" tests/test_registry.py may have added)
    assert {n for n in REGISTRY} - set(every_kernel) <= {"cube"}
    numbered, fallbacks, named = {}, {}, 0
    for name, kernel in every_kernel.items():
        for source in (emit_module([kernel], "a test", "-"), emit_triton_module([kernel], "a test", "-")):
            found = numbered_names(source)
            if found:
                numbered[name] = sorted(found)
        temps = temporary_names(kernel, set())
        named += len(temps)
        fallbacks[name] = [t for t in temps.values() if re.fullmatch(r"(sum|prod|pow|where|cond|fn|value)_\d+", t)]
    assert not numbered, f"kernels with numbered temporaries: {numbered}"
    assert named > 50  # the registry's kernels do have temporaries to name
    # a numbered name only where the description is too long: at most a third of them
    assert sum(map(len, fallbacks.values())) <= named // 3, fallbacks


def test_committed_kernels_have_no_numbered_temporaries():
    for path in sorted((ROOT / "kernels").glob("*/*.py")):
        assert numbered_names(path.read_text(encoding="utf-8")) == set(), path.name


def test_the_issue_s_names():
    z, y = sp.symbols("z y", **R)
    # (BCE's gradient σ(z) − y and y − σ(z) are widened sums now, computed in float64: the widen rule)
    kernel = describe(symnet.derive(y * (1 - y) * sigmoid(z) * sigmoid(-z), [z]))
    names = set(temporary_names(kernel, set()).values())
    assert {"exp_neg_abs_z", "inv_sig_abs_z", "dsig_abs_z"} <= names  # 1 + e^−|z| = 1/σ(|z|); σ(z)σ(−z) = σ′
    kernel = describe(symnet.derive((y - sigmoid(z)) ** 2, [z]))
    assert {"inv_sig_abs_z", "y_minus_sig_z"} <= set(temporary_names(kernel, set()).values())
    source = emit_module([kernel], "a test", "-")
    # the comments above the statements use the code's names, never t₁
    assert "# inv_sig_abs_z = 1 + exp_neg_abs_z" in source
    assert "# y_minus_sig_z = f64(y − σ(z))" in source
    assert "t₀" not in source and "t₁" not in source
    x = sp.Symbol("x", **R)
    source = emit_module([describe(symnet.derive(sp.sqrt(x) * sp.sin(x), [x]))], "a test", "-")
    assert "# sqrt_x = sqrt(x)" in source and "sqrtₓ" not in source  # the code's name, no subscript
    # two variables: a formula of x alone spent 29 of this test's 30 s of CPU in the root-series rule's
    # search (cancelling_roots), which names nothing; here descriptions past 20 characters still fall back
    x, w = sp.symbols("x w", **R)
    # (atan, not tanh: since h-focal18 a sum holding tanh counts as having both signs, and that derivative is one
    # widened body whose only temporary outside is cos_w)
    long = describe(symnet.derive(sp.exp(sp.sin(x) * sp.cos(w) + sp.atan(x) ** 2) * sp.sin(x) * sp.cos(w), [x]))
    names = temporary_names(long, set()).values()
    assert all(len(t) <= 20 for t in names)
    assert any(re.fullmatch(r"(fn|prod|sum|value)_\d+", t) for t in names), names  # some description was too long


# ------------------------------------------------------------------ (c) user names equal to the temporaries'

TEMPORARY_LIKE = ["exp_neg_abs_z", "sig_abs_z", "sig_neg_abs_z", "sig_z", "z_nonneg", "y_minus_sig_z", "inv_sig_abs_z",
                  "dsig_abs_z"]


def _formula():
    z, y = sp.symbols("z y", **R)
    extra = sp.symbols(TEMPORARY_LIKE, **R)
    f = (y - sigmoid(z)) ** 2 + sum((k + 1) * v * sigmoid(z) for k, v in enumerate(extra))
    return symnet.derive(f, [z, y, *extra], output="L"), (z, y, *extra)


def _exact(values: dict) -> dict:
    """L and each ∂L/∂v at 50 digits, from the formula written out here (not the kernel's)."""
    with mpmath.workdps(50):
        v = {k: mpmath.mpf(float(x)) for k, x in values.items()}

        def L(**w):
            s = 1 / (1 + mpmath.exp(-w["z"]))
            return (w["y"] - s) ** 2 + sum((k + 1) * w[n] * s for k, n in enumerate(TEMPORARY_LIKE))
        out = {"L": L(**v)}
        for name in v:
            out[f"dL_d{name}"] = mpmath.diff(lambda t: L(**{**v, name: t}), v[name])
        return {k: float(x) for k, x in out.items()}


def _points(n=5, seed=7):
    rng = np.random.default_rng(seed)
    names = ["z", "y", *TEMPORARY_LIKE]
    values = {k: rng.uniform(-3, 3, n) for k in names}
    values["z"][:3] = [-30.0, 0.0, 25.0]
    return values


def test_user_variables_named_like_the_temporaries_numpy():
    d, _ = _formula()
    k = symnet.compile(d)
    assert set(TEMPORARY_LIKE) <= set(k.inputs)
    # the temporaries stepped aside: the user's names are the code's, the temporaries are exp_neg_abs_z_2, …
    assert "exp_neg_abs_z_2 = np.exp(" in k.source and "inv_sig_abs_z_2 = 1 + exp_neg_abs_z_2" in k.source
    assert "def k(" not in k.source
    values = _points()
    outs = dict(zip(k.outputs, k(**values)))
    for i in range(len(values["z"])):
        want = _exact({n: v[i] for n, v in values.items()})
        for name, w in want.items():
            assert outs[name][i] == pytest.approx(w, rel=1e-13, abs=1e-15), (name, i)


def test_user_variables_named_like_the_temporaries_triton():
    from conftest import triton_torch
    torch = triton_torch()
    d, _ = _formula()
    k = symnet.compile(d, backend="triton")
    values = _points(n=4, seed=3)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    outs = k(**{n: torch.tensor(v, dtype=torch.float64, device=device) for n, v in values.items()})
    outs = dict(zip(k.outputs, outs))
    for i in range(len(values["z"])):
        want = _exact({n: v[i] for n, v in values.items()})
        for name, w in want.items():
            assert float(outs[name][i]) == pytest.approx(w, rel=1e-12, abs=1e-14), (name, i)


# ------------------------------------------------------------------ dtypes through the one printer

def test_the_numpy_printer_keeps_float32():
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    x = sp.Symbol("x", **R)
    from symnet.registry import NUMPY_HELPERS
    helpers: set = set()
    printer = NumpyExpressionPrinter(helpers, dtype="_dtype")
    a = np.linspace(-2, 2, 9, dtype=np.float32)
    scope = {"np": np, "x": a, "_dtype": a.dtype}
    for e in (sp.sqrt(2) * x, sp.log(2) + x, sp.exp(3) * x, 2 * sp.pi * x, x / 3,
              sp.Piecewise((1, x > 0), (0, True)), sp.Piecewise((x, x > 0), (sp.Rational(1, 3), True)),
              sp.Heaviside(x, 0), sp.Max(x, 0), sp.Abs(x) ** sp.Rational(3, 2) + 1):
        code = printer.doprint(e)
        for name in helpers:  # the registry's helpers the code calls (H: _heaviside, session 19)
            exec(NUMPY_HELPERS[name], scope)  # noqa: S102 - the generator's own helper text
        got = eval(code, scope)  # noqa: S307 - the printer's own output, on a test array
        assert np.asarray(got).dtype == np.float32, (e, code, np.asarray(got).dtype)
        want = sp.lambdify(x, e, "numpy")(a.astype(np.float64))
        np.testing.assert_allclose(np.broadcast_to(got, a.shape), np.broadcast_to(want, a.shape), rtol=1e-6, atol=1e-7)


def test_a_float32_kernel_computes_in_float32():
    """The elementwise kernel's statements stay float32: every float array the function holds
    at its end (inputs, outputs, the last block's temporaries) is float32."""
    x = sp.Symbol("x", **R)
    d = symnet.derive(sp.sqrt(2) * x * sp.Piecewise((1, x > 0), (sp.Rational(1, 3), True))
                      + sp.log(3) * sp.exp(x) + sp.Heaviside(x) * x, [x])
    source = emit_module([describe(d, name="k")], "a test", "-")
    assert "    return _" in source
    probe = source.replace("    return _", "    _seen.extend(v.dtype for v in locals().values() "
                                        "if isinstance(v, np.ndarray) and v.dtype != bool)\n    return _")
    seen: list = []
    scope = {"_seen": seen}
    exec(compile(probe, "k", "exec"), scope)  # noqa: S102 - generated code of a test formula
    a = np.linspace(-3, 3, 20, dtype=np.float32)
    f, df = scope["k"](a)
    assert f.dtype == df.dtype == np.float32
    assert len(seen) > 3 and set(seen) == {np.dtype(np.float32)}, seen


def test_row_temporaries_never_take_a_name_of_the_row_skeletons():
    """Every identifier of the committed row-wise modules (both backends) is a temporary, a name
    the row skeletons reserve (ROW_SKELETON_NAMES), a row sum s0, s1 …, or the module's own (a
    builtin, an import, a def, a _name): a new skeleton name must be reserved, or a temporary
    named by its math could take it."""
    import builtins

    from symnet.codegen.blocks import registry_row_modules
    from symnet.codegen.families.rowwise import ROW_SKELETON_NAMES, row_modules, rowmax, scaled_loss
    from symnet.errors import SymnetError
    kernels = [k for ks in (*row_modules().values(), *registry_row_modules().values()) for k in ks]
    temps = {str(t) for k in kernels for t, _ in k.assignments + k.class_assignments}
    assert not temps & ROW_SKELETON_NAMES
    assert not {t for t in temps if NUMBERED.fullmatch(t)}
    # and the scaled-gaps fallback's own (m_minus_z_down: named by its math, as the block's are; x_down, x·2^−k, reserved)
    for k in kernels:
        for n, o in enumerate(k.outputs):
            if o.per_row and any(isinstance(e, rowmax) for _, e in k.assignments):
                with contextlib.suppress(SymnetError):  # (a row loss without one: the backends print none either)
                    temps |= {str(t) for t, _ in scaled_loss(k, n)[0]}
    modules = {"cross_entropy", "nll_loss", "logsumexp", "softmax", "log_softmax", "softmax_cross_entropy"}
    left = {}
    for path in sorted(p for p in (ROOT / "kernels").glob("*/*.py") if p.stem in modules):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ids = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
            {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        own |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        rest = {i for i in ids - set(dir(builtins)) - own - temps - ROW_SKELETON_NAMES
                if not i.startswith("_") and not re.fullmatch(r"s\d+", i)}
        if rest:
            left[str(path.relative_to(ROOT))] = sorted(rest)
    assert not left, f"names of the row skeletons not in ROW_SKELETON_NAMES: {left}"


def test_a_kept_sum_over_a_whole_number_is_one_true_division_on_both_backends():
    """The affine-root rule's (x + 3)/6 (a Grouped sum, hardsigmoid): printed as the sum divided
    by 6, one rounding as torch, not x·(1/6) + 1/2 (the NumPy _Lowering's two special cases,
    now the printers' ordinary output)."""
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.backends.triton.printer import TritonPrinter
    from symnet.codegen.rewrite import Grouped
    x = sp.Symbol("x", **R)
    e = Grouped(x + 3) / 6
    assert NumpyExpressionPrinter(set()).doprint(e) == "(3 + x)/6"
    assert TritonPrinter({}, set()).doprint(e) == "(3.0 + x)/6.0"
    a = np.float32(np.linspace(-3, 3, 10001, dtype=np.float32))
    got = eval(NumpyExpressionPrinter(set()).doprint(e), {"x": a, "np": np})  # noqa: S307
    assert got.dtype == np.float32
    # within an ulp of the exact value (the sum rounds once, the division once)
    np.testing.assert_allclose(got, (a.astype(np.float64) + 3) / 6, rtol=1.2e-7, atol=1e-45)
