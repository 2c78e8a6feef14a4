"""User names never collide with the names inside generated code.

Every identifier the generators emit is gathered from generated source with ``ast``
(the committed kernels of both backends and a few kernels compiled here; names, parameters,
keyword arguments, function names, imports), together with Python's builtins and the usual
module names. Each becomes a variable of a small formula,

    f = σ(x)·Σ_j (j + 1)·v_j + e^x·Σ_j v_j² + b1·b2,

compiled for NumPy and (under TRITON_INTERPRET=1) for Triton (each backend every name its own code, builtins,
modules or the issue could clash with, and a group's worth of the names only the other backend uses, which
its code keeps as it keeps any free name: see meets()); its value and gradients are
compared with the closed forms written out by hand here, and the caller's arrays must come
back unchanged. Names are tried twelve to a kernel (the formula is derived once with
placeholders, which are then renamed), so they meet each other as well as the skeleton.
The names the issue reports go through the whole public path one by one, in
(v − σ(x))² + v·e^x + b1·b2, against torch.autograd for Triton. Names that cannot be a
keyword argument are refused with one line naming them.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import keyword
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import SymnetError
from symnet.codegen.ir import describe, local_names
from symnet.errors import ParseError
from symnet.functions import relu, sigmoid
from conftest import triton_torch

ROOT = Path(__file__).resolve().parents[1]
R = dict(real=True)
x, b1, b2 = sp.symbols("x b1 b2", **R)
GROUP = 12
PLACEHOLDERS = sp.symbols(f"p0:{GROUP}", **R)
MODULES = {"np", "numpy", "tl", "triton", "torch", "math", "os", "sp", "sympy", "mpmath"}
# the names the issue reports, and names torch and Python treat specially
ISSUE_NAMES = ["b1", "b2", "WRITE_VALUE", "REDUCE", "mask", "n", "count", "tl", "torch", "np", "range", "min",
               "int", "out", "grad_output", "self", "cls"]
TORCH_SCHEMA_NAMES = ["NoneType", "Tensor", "Scalar", "SymInt", "Device", "Dimname"]  # torch.library's parser
UNICODE_NAMES = ["λ", "lamda", "θ_1", "Θ", "é", "σ"]


def identifiers(source, keywords: bool = True) -> set:
    """Every identifier a module's source (or syntax tree) uses: names, parameters, keyword
    arguments (unless ``keywords`` is false), function and class names, imported names."""
    names = set()
    for node in ast.walk(ast.parse(source) if isinstance(source, str) else source):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.keyword) and node.arg and keywords:
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


REPRESENTATIVE = [  # between them every helper of both elementwise emitters
    ((sp.Symbol("y", **R) - sigmoid(sp.Symbol("z", **R))) ** 2, "L"),
    (sp.log(1 + sp.exp(x)) * sp.tanh(x) + sp.log(sigmoid(x)) + sp.exp(x) - 1, "f"),
    (relu(x) * x + sp.sin(x) * sp.cos(x) + sp.sqrt(1 + x ** 2), "f"),
]


@functools.cache
def representative_kernels() -> tuple:
    """The representative formulas described, once a run (the gathering and the reserved-names test both read
    them: each derived and described them again, 2 × 3 derivations)."""
    return tuple(describe(symnet.derive(formula, sorted(formula.free_symbols, key=str), output=output))
                 for formula, output in REPRESENTATIVE)


@functools.cache
def generated_sources(backend: str | None = None) -> tuple:
    """The committed kernels and the representative kernels' modules of one backend ("numpy", "triton"), or of both."""
    if backend is None:
        return generated_sources("numpy") + generated_sources("triton")
    from symnet.codegen.backends.numpy.elementwise import emit_module
    from symnet.codegen.backends.triton.elementwise import emit_triton_module
    emit = emit_module if backend == "numpy" else emit_triton_module
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "kernels" / backend).glob("*.py"))]
    return tuple(sources + [emit([kernel], "a test", "-") for kernel in representative_kernels()])


@functools.cache
def all_names() -> list:
    """Every name the generated code uses (built when a test first asks: deriving the representative formulas
    took 19–30 s of CPU at collection, paid by every xdist worker, whichever files it then ran)."""
    names = set().union(*map(identifiers, generated_sources()))
    names |= MODULES | set(dir(builtins)) | set(ISSUE_NAMES) | set(UNICODE_NAMES) | set(TORCH_SCHEMA_NAMES)
    return sorted(names)


def usable(name: str) -> bool:
    return name.isidentifier() and not name.startswith("_") and not keyword.iskeyword(name)


def usable_names() -> list:
    return [n for n in all_names() if usable(n) and n not in ("x", "b1", "b2")]


# Names every backend must meet: the modules and builtins a generated module can see, the issue's names, and the
# names torch's schema parser and Unicode normalisation treat specially.
EVERY_BACKEND = MODULES | set(dir(builtins)) | set(ISSUE_NAMES) | set(UNICODE_NAMES) | set(TORCH_SCHEMA_NAMES)


@functools.cache
def meets(backend: str) -> frozenset:
    """The usable names that can meet something in ``backend``'s generated code: its own identifiers, the names
    of EVERY_BACKEND, and (Triton) names of the form ``{}_ptr`` its local names derive from the user's. Any other
    name (one only the other backend's code uses) is, to this backend, a name like the padding ``pad3``: its
    local_names keeps it as it is (test_local_names_… and test_the_reserved_names_cover_… check that every
    other identifier of the skeleton is reserved), so its kernels need only a few such names, not all."""
    own = set().union(*map(identifiers, generated_sources(backend))) | EVERY_BACKEND
    derived = ("_ptr",) if backend == "triton" else ()
    return frozenset(n for n in usable_names() if n in own or n.endswith(derived))


def ordered_names() -> list:
    """The usable names, those both backends meet first, then those only NumPy meets, then those only Triton meets:
    so the groups of 12 a backend runs (those holding a name it meets) are mostly the groups the other runs too
    (a Triton kernel's description then comes from the disk cache where the NumPy test stored it), and the
    boundary groups try names of the other backend's code in each backend."""
    numpy_, triton_ = meets("numpy"), meets("triton")
    assert numpy_ | triton_ == set(usable_names())
    return sorted(usable_names(), key=lambda n: (0 if n in numpy_ and n in triton_ else 1 if n in numpy_ else 2, n))


PADDING = [f"pad{k}" for k in range(GROUP)]


def groups(names):
    return [(names[k:k + GROUP] + PADDING)[:GROUP] for k in range(0, len(names), GROUP)]


def backend_groups(backend: str) -> list:
    """The groups of ordered_names() that hold a name ``backend`` meets (each of those names in one of them); the
    boundary group holds names only the other backend's code uses as well (checked: each class is still tried).
    Where the boundary falls on a group's edge (session 41: the names both backends meet and those only NumPy meets
    came to a multiple of 12, and every NumPy part failed "no name of the other backend's code is tried"), the first
    group of names this backend does not meet is tried too."""
    own = meets(backend)
    every = groups(ordered_names())
    out = [g for g in every if set(g) & own]
    if not set().union(*out) - own - set(PADDING):
        out.append(next(g for g in every if not set(g) & own))
    tried = set().union(*out)
    assert own <= tried and tried - own - set(PADDING), f"{backend}: no name of the other backend's code is tried"
    return out


# the names' groups are known only once the sources are generated: each test takes every PARTS-th group
# (when this was written: 1,088 names, 91 groups, of which NumPy runs 55 and Triton 82, where both ran all 91: 45
# kernels less, 120 names only NumPy's code uses, 438 only Triton's); a part never runs empty
PARTS = 26


def part_of(all_groups: list, part: int) -> list:
    assert len(all_groups) >= PARTS, f"{len(all_groups)} groups of names: fewer than PARTS = {PARTS}"
    return all_groups[part::PARTS]


@functools.cache
def placeholder_derivation(output: str = "f"):
    f = sigmoid(x) * sum((j + 1) * p for j, p in enumerate(PLACEHOLDERS)) \
        + sp.exp(x) * sum(p ** 2 for p in PLACEHOLDERS) + b1 * b2
    return symnet.derive(f, [x, *PLACEHOLDERS, b1, b2], output=output)


def renamed(d, names, output=None):
    """The placeholder derivation with its placeholders renamed: the derivation symnet.derive
    would make for the renamed formula (less its printed steps), without deriving it again."""
    sub = {p: sp.Symbol(n, **R) for p, n in zip(PLACEHOLDERS, names, strict=True)}
    # derive names its intermediates apart from the inputs: one the renamed placeholders would take (u2, session 48:
    # new generated names moved "u2" onto a placeholder the intermediate u2 depends on, a cycle no derive makes) is
    # renamed too, as derive would have named it
    taken = set(names) | {str(v) for v in d.inputs}
    for a, _ in d.definitions:
        if isinstance(a, sp.Symbol) and a not in d.outputs and str(a) in set(names):
            fresh = next(f"{a}_{k}" for k in range(1, 100) if f"{a}_{k}" not in taken)
            taken.add(fresh)
            sub[a] = sp.Symbol(fresh, **a.assumptions0)
    if output is not None:
        sub[d.outputs[0]] = sp.Symbol(output, **d.outputs[0].assumptions0)  # as derive(output=...) makes it

    def r(e):
        return e.xreplace(sub)

    return dataclasses.replace(
        d, inputs=tuple(map(r, d.inputs)), wrt=tuple(map(r, d.wrt)), outputs=tuple(map(r, d.outputs)),
        definitions=tuple((r(a), r(b)) for a, b in d.definitions),
        gradients={r(k): r(v) for k, v in d.gradients.items()}, jacobian=r(d.jacobian), sections=())


def closed_forms(values: dict, names: list) -> tuple:
    """The value and gradients of σ(x)·Σ_j (j + 1)·v_j + e^x·Σ_j v_j² + b1·b2, written out by
    hand in float64 (for one name: of (v − σ(x))² + v·e^x + b1·b2)."""
    xs = values["x"]
    s, e = 1 / (1 + np.exp(-xs)), np.exp(xs)
    f = values["b1"] * values["b2"]
    grads = {"b1": values["b2"], "b2": values["b1"]}
    if len(names) == 1:
        v = values[names[0]]
        grads["x"] = -2 * (v - s) * s * (1 - s) + v * e
        grads[names[0]] = grads.get(names[0], 0) + 2 * (v - s) + e  # v may be b1 or b2
        return f + (v - s) ** 2 + v * e, grads
    s1 = sum((j + 1) * values[n] for j, n in enumerate(names))
    s2 = sum(values[n] ** 2 for n in names)
    grads.update({n: (j + 1) * s + 2 * values[n] * e for j, n in enumerate(names)})
    grads["x"] = s * (1 - s) * s1 + e * s2
    return f + s * s1 + e * s2, grads


def point(names, shape=(7,), seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(-2, 2, shape) for n in ["x", "b1", "b2", *names]}


def check(kernel, values: dict, names: list, outs, rel=1e-12):
    """Each output of ``kernel`` (called at ``values``) against the closed forms: the value,
    then the gradients in the order of the derivation's wrt list, x, names…, b1, b2."""
    want_f, want_grads = closed_forms(values, names)
    wants = [want_f] + [want_grads[n] for n in ["x", *names, "b1", "b2"]]
    assert len(outs) == len(wants) == len(kernel.outputs)
    for name, got, want in zip(kernel.outputs, outs, wants):
        got = np.asarray(got.cpu() if hasattr(got, "cpu") else got)
        assert got.shape == want.shape, (name, got.shape)
        bad = ~np.isclose(got, want, rtol=rel, atol=rel)
        assert not bad.any(), (f"output {name} with inputs {kernel.inputs}: {bad.sum()} of {bad.size} "
                               f"differ, worst {np.max(np.abs(got - want))}")


# ------------------------------------------------------------------ the names gathered

def test_the_gathered_names_include_the_issues_and_every_kind():
    gathered = set(all_names())
    assert set(ISSUE_NAMES) <= set(usable_names()) | {"b1", "b2"}
    # module names, builtins, constexprs, masks, pointers, program ids, temporaries (named by their math), helpers
    assert {"np", "tl", "triton", "torch", "range", "min", "len", "BLOCK", "F64", "mask", "offs", "pid",
            "x_ptr", "partial_ptr", "b1", "sig_z", "_sigmoid", "_log1p", "_BLOCK", "_shape"} <= gathered
    assert len(usable_names()) > 300


# ------------------------------------------------------------------ NumPy, every name

@pytest.mark.parametrize("part", range(PARTS))
def test_numpy_kernel_with_generated_names(part):
    for names in part_of(backend_groups("numpy"), part):
        numpy_kernel_with_names(names)


def numpy_kernel_with_names(names):
    k = symnet.compile(renamed(placeholder_derivation(), names))
    assert set(names) <= set(k.inputs)  # the user's names are the call's names
    values = point(names)
    before = {n: v.copy() for n, v in values.items()}
    outs = k(**values)
    check(k, values, names, outs)
    for n, v in values.items():
        np.testing.assert_array_equal(v, before[n], err_msg=f"the caller's {n!r} was modified")
    # positionally too, in the order of k.inputs
    check(k, values, names, k(*[values[n] for n in k.inputs]))


# b1 and b2 are in the formula already (and wrt may name a variable only once)
NAMES_BESIDE_B1_B2 = [n for n in ISSUE_NAMES + UNICODE_NAMES if n not in ("b1", "b2")]


@pytest.mark.parametrize("name", NAMES_BESIDE_B1_B2 + ["reduction"])
def test_numpy_issue_names_through_derive(name):
    """The names of the issue through the whole public path, one formula each."""
    v = sp.Symbol(name, **R)
    d = symnet.derive((v - sigmoid(x)) ** 2 + v * sp.exp(x) + b1 * b2, [x, v, b1, b2])
    k = symnet.compile(d)
    values = point([name], shape=(3, 5), seed=1)
    before = {n: a.copy() for n, a in values.items()}
    check(k, values, [name], k(**values))
    for n, a in values.items():
        np.testing.assert_array_equal(a, before[n])


OUTPUT_NAMES = ["np", "mask", "out", "b1", "t0", "range", "x_ptr", "f_ptr", "WRITE_VALUE", "x", "df_dx"]


@pytest.mark.parametrize("output", OUTPUT_NAMES)
def test_numpy_outputs_named_like_generated_names(output):
    names = (["mask", "np", "df_dx"] + PADDING)[:GROUP]
    k = symnet.compile(renamed(placeholder_derivation(), names, output=output))
    assert k.outputs[0] == (f"{output}_2" if output in names + ["x", "b1", "b2"] else output)  # never an input's name
    values = point(names, seed=2)
    check(k, values, names, k(**values))


# ------------------------------------------------------------------ refused names

def test_names_the_generated_code_keeps_for_itself_are_refused():
    underscored = [n for n in all_names() if n.startswith("_") and n.isidentifier()]
    assert len(underscored) > 20  # _inputs, _flat, _BLOCK, _sum_when_last, …
    for name in underscored:
        with pytest.raises(ParseError) as info:
            symnet.compile(renamed(placeholder_derivation(), ([name] + PADDING)[:GROUP]))
        message = str(info.value)
        assert repr(name) in message and "\n" not in message and "reserved" in message


@pytest.mark.parametrize("name, reason", [
    ("x y", "not an identifier"), ("1x", "not an identifier"), ("", "empty"), ("_tmp", "reserved"),
    ("class", "keyword"), ("None", "keyword"), ("a-b", "not an identifier"), ("x\n", "not an identifier"),
    ("ﬁ", "not an identifier"),  # NFKC turns it into 'fi': not the name Python would see
    ("x" * 101, "longer than"),
])
def test_symbols_that_cannot_be_names_are_refused_naming_them(name, reason):
    v = sp.Symbol(name, **R)
    d = symnet.derive(v * sp.exp(x), [x, v])
    for backend in ("numpy", "triton"):
        with pytest.raises(ParseError, match=reason) as info:
            symnet.compile(d, backend=backend)
        shown = name if len(name) <= 100 else name[:20] + "…"
        assert repr(shown) in str(info.value) and "\n" not in str(info.value)


def test_two_inputs_with_one_name_are_refused():
    d = symnet.derive(x * sp.Symbol("x", positive=True), [x])
    with pytest.raises(ParseError, match="both named 'x'"):
        symnet.compile(d)


@pytest.mark.parametrize("name", ["np", "range", "min", "tl", "torch", "os", "len", "BLOCK"])
def test_kernel_names_that_hide_a_module_or_builtin_are_refused(name):
    d = symnet.derive(x * sp.exp(x), [x])
    if name != "BLOCK":  # the NumPy module's is _BLOCK
        with pytest.raises(SymnetError, match=f"kernel name '{name}'"):
            symnet.compile(d, name=name)
    _torch()
    with pytest.raises(SymnetError, match=f"kernel name '{name}'"):
        symnet.compile(d, backend="triton", name=name)


@pytest.mark.parametrize("name", ["mask", "count", "x", "f", "kernel", "t0"])
def test_kernel_names_like_the_skeletons_locals_work(name):
    torch = _torch()
    d = symnet.derive(x * sp.exp(x) + sp.Symbol("kernel", **R), [x])  # an input named like the default kernel
    xs, ks = np.linspace(-2, 2, 9), np.full(9, 0.25)
    for backend, convert in (("numpy", np.asarray), ("triton", torch.tensor)):
        k = symnet.compile(d, backend=backend, name=name)
        f, df = k(x=convert(xs), kernel=convert(ks))
        np.testing.assert_allclose(np.asarray(f), xs * np.exp(xs) + ks, rtol=1e-13)
        np.testing.assert_allclose(np.asarray(df), (1 + xs) * np.exp(xs), rtol=1e-13)


@pytest.mark.parametrize("title, name", [("my loss", "my_loss"), ("range", "range_kernel"), ("1x", "kernel_1x"),
                                         ("λ", "kernel"), ("mse-sigmoid", "mse_sigmoid")])
def test_a_derivations_display_name_becomes_a_safe_kernel_name(title, name):
    c = len(title)  # one formula per case: symnet.compile caches by formula, not by the derivation's name
    d = symnet.derive(x * sp.exp(x) + c, [x], name=title)
    k = symnet.compile(d)
    assert k.__name__ == name and f"def {name}(" in k.source
    xs = np.linspace(-2, 2, 9)
    f, df = k(x=xs)
    np.testing.assert_allclose(f, xs * np.exp(xs) + c, rtol=1e-13)
    np.testing.assert_allclose(df, (1 + xs) * np.exp(xs), rtol=1e-13)


@pytest.mark.parametrize("name", ["x y", "1x", "_k", "class", "a;b"])
def test_a_kernel_name_given_is_checked(name):
    with pytest.raises(SymnetError, match="kernel name"):
        symnet.compile(symnet.derive(x * sp.exp(x), [x]), name=name)


def test_reduction_is_the_triton_launchers_own_argument():
    _torch()
    v = sp.Symbol("reduction", **R)
    d = symnet.derive(v * sp.exp(x), [x, v])
    with pytest.raises(SymnetError, match="'reduction'"):
        symnet.compile(d, backend="triton")


# ------------------------------------------------------------------ the local names themselves

def test_local_names_keep_free_names_and_avoid_reserved_and_derived_ones():
    local = local_names(["x", "x_ptr", "mask", "λ", "lamda", "range"], {"mask", "range", "lamda_ptr"},
                        ("{}", "{}_ptr"))
    assert local["x"] == "x" and local["mask"] == "mask_" and local["range"] == "range_"
    assert local["λ"] == "lamda_" and local["lamda"] == "lamda__"  # lamda_ptr is reserved
    assert local["x_ptr"] == "x_ptr_"  # x_ptr is x's pointer
    derived = [f.format(v) for v in local.values() for f in ("{}", "{}_ptr")]
    assert len(set(derived)) == len(derived) and not set(derived) & {"mask", "range", "lamda_ptr"}
    assert all(v.isascii() and v.isidentifier() and not keyword.iskeyword(v) for v in local.values())


def _user_scopes(tree, functions):
    """The variables used at module level and in the module-level functions named ``functions``
    (keyword arguments of calls bind nothing, so they are left out)."""
    found = set()
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name not in functions):
            found |= identifiers(node, keywords=False)
    return found


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_the_reserved_names_cover_every_name_of_the_skeleton(backend):
    """Every identifier in the scopes where user names live is either the user's (or derived
    from it) or one the backend reserves: a new name in the skeleton must be reserved too."""
    from symnet.codegen.backends.numpy import elementwise as numpy_backend
    from symnet.codegen.backends.triton import elementwise as triton_backend
    module = numpy_backend if backend == "numpy" else triton_backend
    d = renamed(placeholder_derivation(), (["alpha", "beta"] + PADDING)[:GROUP])
    for kernel in representative_kernels() + (describe(d),):
        if backend == "numpy":
            source = module.emit_module([kernel], "a test", "-")
            scopes = {kernel.name}
        else:
            source = module.emit_triton_module([kernel], "a test", "-")
            n = kernel.name
            scopes = {n, f"_{n}_kernel", f"_{n}_all", f"{n}_value"}
        publics = [i.name for i in kernel.inputs] + [o.name for o in kernel.outputs]
        local = local_names(publics, module.reserved_names(kernel), module.LOCAL_FORMS)
        users = {f.format(v) for v in local.values() for f in module.LOCAL_FORMS} | set(publics)
        reserved = module.reserved_names(kernel)
        for name in _user_scopes(ast.parse(source), scopes):
            assert name in users or name.startswith("_") or reserved(name), \
                f"{backend}: {name!r} is used by the generated code but not reserved"


# ------------------------------------------------------------------ Triton, under the interpreter

_torch = triton_torch


def triton_groups() -> list:
    """The NumPy test's groups, the launcher's keyword 'reduction' (refused above) replaced by a name of its own:
    the same derivations, so each kernel's description (0.35 s of a 0.6 s compile) comes from symnet's disk
    cache where the NumPy test of the same part stored it (dropping the name shifted every later group)."""
    out = [["pad_reduction" if n == "reduction" else n for n in g] for g in backend_groups("triton")]
    assert all(len(set(g)) == GROUP for g in out) and not any("reduction" in g for g in out)
    return out


@pytest.mark.parametrize("part", range(PARTS))
def test_triton_kernel_with_generated_names(part):
    _torch()
    for names in part_of(triton_groups(), part):
        triton_kernel_with_names(names)


def triton_kernel_with_names(names):
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    k = symnet.compile(renamed(placeholder_derivation(), names), backend="triton")
    values = point(names, shape=(5,), seed=3)
    tensors = {n: torch.tensor(v, dtype=torch.float64, device=device) for n, v in values.items()}
    before = {n: t.clone() for n, t in tensors.items()}
    check(k, values, names, k(**tensors))
    total = k(**tensors, reduction="sum")[0]
    want_f, _ = closed_forms(values, names)
    assert float(total) == pytest.approx(float(want_f.sum()), rel=1e-12)
    for n, t in tensors.items():
        assert torch.equal(t, before[n]), f"the caller's {n!r} was modified"


@pytest.mark.parametrize("name", [n for n in ISSUE_NAMES if n not in ("b1", "b2")]
                         + ["λ", "θ_1", "x_ptr", "t0", "pid", "BLOCK", "kernel"])
def test_triton_issue_names_against_torch_autograd(name):
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    v = sp.Symbol(name, **R)
    k = symnet.compile(symnet.derive((v - sigmoid(x)) ** 2 + v * sp.exp(x) + b1 * b2, [x, v, b1, b2]),
                       backend="triton")
    rng = np.random.default_rng(4)
    tensors = {n: torch.tensor(rng.uniform(-2, 2, 6), dtype=torch.float64, device=device) for n in k.inputs}
    before = {n: t.clone() for n, t in tensors.items()}
    leaves = {n: t.clone().requires_grad_(True) for n, t in tensors.items()}
    ref = (leaves[name] - torch.sigmoid(leaves["x"])) ** 2 + leaves[name] * torch.exp(leaves["x"]) \
        + leaves["b1"] * leaves["b2"]
    grads = dict(zip(leaves, torch.autograd.grad(ref.sum(), list(leaves.values()))))
    outs = dict(zip(k.outputs, k(**tensors)))
    torch.testing.assert_close(outs["f"], ref.detach(), rtol=1e-12, atol=1e-12)
    for n in k.inputs:
        torch.testing.assert_close(outs[f"df_d{n}"], grads[n], rtol=1e-12, atol=1e-12)
    mean = k(**tensors, reduction="mean")[0]
    torch.testing.assert_close(mean, ref.detach().mean(), rtol=1e-12, atol=1e-12)
    value = k.value(**leaves)  # the differentiable custom op, called by the user's names
    back = torch.autograd.grad(value.sum(), list(leaves.values()))
    for n, g in zip(leaves, back):
        torch.testing.assert_close(g, grads[n], rtol=1e-12, atol=1e-12)
    for n, t in tensors.items():
        assert torch.equal(t, before[n]), f"the caller's {n!r} was modified"


@pytest.mark.parametrize("output", ["tl", "mask", "out", "f_ptr", "WRITE_VALUE", "t0"])
def test_triton_outputs_named_like_generated_names(output):
    torch = _torch()
    names = (["mask", "tl"] + PADDING)[:GROUP]
    k = symnet.compile(renamed(placeholder_derivation(), names, output=output), backend="triton")
    assert k.outputs[0] == (f"{output}_2" if output in names else output)
    values = point(names, shape=(4,), seed=5)
    check(k, values, names, k(**{n: torch.tensor(v, dtype=torch.float64) for n, v in values.items()}))


def test_a_misspelt_argument_is_named_with_the_inputs():
    k = symnet.compile(symnet.derive((sp.Symbol("t", real=True) - symnet.sigmoid(x)) ** 2, [x]))
    with pytest.raises(TypeError, match=r"missing a required argument: 't'; unexpected 'y' \(the inputs are "):
        k(x=np.zeros(2), y=np.zeros(2))
