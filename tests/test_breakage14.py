"""Faults found by h-left14 (session 14), each with the test that failed before its fix.

a. A formula built with SymPy calling a registry function with an argument domain (bce, kl_div,
   poisson_nll, gaussian_nll) carried no domain checks, while the same formula as text did.
b. The fused training step took targets outside its loss's domain silently (bce's t = 2 gave a loss of
   1.0335 and a step; kl_div's t = −1 a loss of −0.3654): refused with check=True, from the registry's domains.
   (Classes out of range were refused already, and never read with check=False: tests/test_triton_views.py;
   a NaN target gives a NaN loss, reported and not applied: tests/test_optim.py.)
c. Names Python reads as one (NFKC: ℓ is l, ﬁ is fi): a SymPy formula in two distinct symbols ℓ and l,
   differentiated with ``wrt=["ℓ"]``, was differentiated with respect to l (a silent wrong answer), and
   ``at={"ℓ": 2, "l": 0}`` was refused as "l is given twice". A name now means the symbol of exactly that
   name first; only failing that, the one symbol it names after NFKC (two: refused, naming both).
d. ``symnet.get``'s stored pickle of a derivation differed with what ran before in the process
   (tests/test_startup.py's garbled-file test failed after tests/test_security_cache.py): pickle's memo
   is by object identity, and which equal SymPy parts are one object depends on SymPy's global cache.
   symnet.pickling now writes each SymPy object as the first equal one met.
e. symnet.torch's elementwise ops (activations, losses with reduction="none", formulas) returned contiguous
   outputs for channels_last or transposed inputs, where torch keeps the input's layout (and the ops' fake
   kernels, torch.empty_like, promised it to torch.compile): now computed in memory order, no copy.
f. ``import symnet.torch`` imported torch._dynamo (torch.compiler.assume_constant_result on fused_dense):
   10.4 s → 7.0 s of import time on the CPU (TRITON_INTERPRET=1, ``python -X importtime``). Where the ops
   are triton_ops (a GPU), torch.library.triton_op still imports torch._inductor and with it Dynamo.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import DomainError
from symnet.registry import REGISTRY


# ---------------------------------------------------------------- a. domains of a formula built with SymPy

def _checks(d):
    return [(c.function, c.argument, str(c.expr)) for c in d.domains]


@pytest.mark.parametrize("text, build", [
    ("gaussian_nll(x, t, v)", lambda x, t, v, p, q: REGISTRY["gaussian_nll"](x, t, v)),
    ("gaussian_nll(x, t, v - 1) + bce(p, q)",
     lambda x, t, v, p, q: REGISTRY["gaussian_nll"](x, t, v - 1) + REGISTRY["bce"](p, q)),
    ("kl_div(x, t)", lambda x, t, v, p, q: REGISTRY["kl_div"](x, t)),
    ("poisson_nll(x, t, 0)", lambda x, t, v, p, q: REGISTRY["poisson_nll"](x, t, 0)),
    ("3*bce(p, q)/2 + mse(x, t)", lambda x, t, v, p, q: 3 * REGISTRY["bce"](p, q) / 2 + REGISTRY["mse"](x, t)),
])
def test_a_formula_built_with_sympy_has_the_domains_of_the_same_text(text, build):
    """Fault: ``symnet.derive(REGISTRY["gaussian_nll"](x, t, v))`` had ``domains == ()`` (its compiled function
    gave 4.99993e5 at v = −0.5 where torch raises), while ``derive("gaussian_nll(x, t, v)")`` checked v. The
    entry now marks what it builds (registry.DomainChecked); derive takes the marks off into its domains."""
    plain = sp.symbols("x t v p q")  # not declared real: derive makes them real
    assert _checks(symnet.derive(build(*plain))) == _checks(symnet.derive(text))
    assert _checks(symnet.derive(symnet.parse(text))) == _checks(symnet.derive(text))


def test_a_compiled_sympy_formula_refuses_a_negative_variance():
    """Before: 4.99993e5 at v = −0.5, no error; as text: DomainError naming var."""
    x, t, v = sp.symbols("x t v")
    f = symnet.compile(symnet.derive(REGISTRY["gaussian_nll"](x, t, v)))
    with pytest.raises(DomainError, match=r"^gaussian_nll: var = v has a negative entry \(-0.5\); var must be ≥ 0$"):
        f(t=np.zeros(2), v=np.array([1.0, -0.5]), x=np.ones(2))
    np.testing.assert_allclose(f(t=np.zeros(1), v=np.ones(1), x=np.ones(1))[0], [0.5], rtol=1e-15)


def test_a_number_outside_the_domain_is_refused_when_the_entry_is_called():
    """As the parser refuses gaussian_nll(x, t, -1): the entry called from Python refuses the number too."""
    x, t = sp.symbols("x t")
    with pytest.raises(DomainError, match="var has a negative entry"):
        REGISTRY["gaussian_nll"](x, t, -1)


def test_the_marked_formula_still_reads_and_differentiates_as_the_loss():
    """The mark is transparent: printed, differentiated and substituted as the loss it holds."""
    x, t, v = sp.symbols("x t v", positive=True)
    marked = REGISTRY["gaussian_nll"](x, t, v)
    plain = REGISTRY["gaussian_nll"].build(x, t, v)
    assert str(marked) == str(plain)
    assert sp.simplify(sp.diff(marked, x) - sp.diff(plain, x)) == 0
    assert float(marked.subs({x: 1, t: 0, v: 2})) == pytest.approx(float(plain.subs({x: 1, t: 0, v: 2})))


def test_symnet_torch_formula_built_with_sympy_checks_its_domain():
    pytest.importorskip("torch")
    from symnet.torch import from_formula
    x, t, v = sp.symbols("x t v")
    f = from_formula(REGISTRY["gaussian_nll"](x, t, v), inputs=[x, t, v])
    assert [c.argument for c in f.checks] == ["var"]


# ---------------------------------------------------------------- b. the fused step's targets

# FusedStep names its argument target (session 19: the launcher's t renamed in its messages)
@pytest.mark.parametrize("loss, bad, message", [
    ("bce", 2.0, "bce: target has an entry outside [0, 1] (2); target must be in [0, 1]"),
    ("bce", -0.25, "bce: target has an entry outside [0, 1] (-0.25); target must be in [0, 1]"),
    ("kl_div", -1.0, "kl_div: target has a negative entry (-1); target must be ≥ 0"),
])
@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_the_fused_step_refuses_targets_outside_its_losss_domain(loss, bad, message, optimizer):
    """Before: no error, a step taken on a meaningless loss. The parameters are left as they were."""
    from conftest import torch_and_triton

    torch, _ = torch_and_triton()
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    params = [torch.randn(3, 2), torch.zeros(3), torch.randn(1, 3), torch.zeros(1)]
    before = [p.clone() for p in params]
    opt = FusedStep(params, activations=("tanh", "sigmoid"), loss=loss, lr=0.1,
                    **({"optimizer": optimizer} if optimizer else {}))
    x, t = torch.randn(3, 2), torch.tensor([[0.5], [bad], [0.25]])
    with pytest.raises(DomainError) as info:
        opt.step(x, t)
    assert str(info.value) == message
    assert all(torch.equal(p, q) for p, q in zip(params, before))
    losses = opt.step(x, torch.tensor([[0.5], [1.0], [0.0]]))  # the domain's ends are inside
    assert torch.isfinite(losses).all()


# ---------------------------------------------------------------- c. names that Python reads as one

ELL, L = sp.Symbol("ℓ", real=True), sp.Symbol("l", real=True)


@pytest.mark.parametrize("a, b", [("ℓ", "l"), ("ﬁ", "fi"), ("ｘ", "x")])
def test_wrt_by_name_means_the_symbol_of_that_spelling(a, b):
    """Before: derive(ℓ·e^l, wrt=["ℓ"]).gradients == {l: ℓ·e^l}, the derivative with respect to l."""
    A, B = sp.Symbol(a, real=True), sp.Symbol(b, real=True)
    f = A * sp.exp(B)
    assert dict(symnet.derive(f, wrt=[a]).gradients) == {A: sp.exp(B)}
    assert dict(symnet.derive(f, wrt=[b]).gradients) == {B: A * sp.exp(B)}


def test_a_point_naming_both_spellings_gives_each_its_value():
    """Before: ParseError "l is given twice in the point (2 and 0)"."""
    d = symnet.derive(ELL * sp.exp(L), wrt=[ELL, L], at={"ℓ": 2, "l": 0})
    assert dict(d.point) == {ELL: 2, L: 0}


def test_a_name_that_could_mean_either_spelling_is_refused_naming_both():
    """A formula in ℓ and ｌ (full width), both l to Python: wrt=["l"] could mean either. (With the formula's
    own l among them, "ｌ" would mean that l: its NFKC form is exactly l.)"""
    wide = sp.Symbol("ｌ", real=True)
    with pytest.raises(symnet.ParseError) as info:
        symnet.derive(ELL * sp.exp(wide), wrt=["l"])
    message = str(info.value)
    assert "'ℓ'" in message and "'ｌ'" in message and "\n" not in message
    assert dict(symnet.derive(ELL * sp.exp(L), wrt=["ｌ"]).gradients) == {L: ELL * sp.exp(L)}


def test_one_other_spelling_still_names_the_formulas_variable():
    """As before (tests/test_breakage.py: wrt=["ｘ"] with the formula's x)."""
    assert dict(symnet.derive(ELL ** 2, wrt=["l"]).gradients) == {ELL: 2 * ELL}
    assert dict(symnet.derive("x**3", wrt=["ｘ"]).gradients) == {sp.Symbol("x", real=True): 3 * sp.Symbol("x", real=True) ** 2}


def test_compiling_a_name_python_reads_differently_is_refused_in_one_line():
    """The generated function's keyword ℓ= would be read by Python as l=: refused (as before), for both backends."""
    d = symnet.derive(ELL * sp.exp(L), wrt=[ELL, L])
    for backend in ("numpy", "triton"):
        with pytest.raises(symnet.ParseError, match="'ℓ' is not an identifier"):
            symnet.compile(d, backend=backend)


# ---------------------------------------------------------------- d. a stored derivation's bytes

def test_the_pickled_bytes_do_not_depend_on_which_equal_parts_are_one_object():
    """Before: x in the definitions a distinct (equal) object from x in the gradients changed the bytes
    (3163 vs 3147 bytes for 'sigmoid' after tests/test_security_cache.py emptied SymPy's cache)."""
    import dataclasses

    from sympy.core.cache import clear_cache

    from symnet import pickling

    d = symnet.derive("sigmoid(x)*exp(-x)")
    (x,) = d.inputs
    clear_cache()
    other = sp.Symbol("x", real=True)
    assert other == x and other is not x
    copy = dataclasses.replace(d, definitions=tuple((t, e.xreplace({x: other})) for t, e in d.definitions))
    assert any(s is other for _, e in copy.definitions for s in e.free_symbols)
    assert pickling.dumps(copy) == pickling.dumps(d)
    assert pickling.same(pickling.loads(pickling.dumps(d)), d)


# ---------------------------------------------------------------- f. import symnet.torch without Dynamo

def test_importing_symnet_torch_under_the_interpreter_does_not_import_dynamo():
    pytest.importorskip("torch")
    import os
    import subprocess
    import sys

    env = {**os.environ, "TRITON_INTERPRET": "1"}
    env.pop("SYMNET_TORCH_TRITON_OP", None)
    code = "import sys, symnet.torch; print('torch._dynamo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_the_constant_result_mark_is_the_one_dynamo_sets(monkeypatch):
    """symnet.torch._ops._constant_result marks as torch.compiler.assume_constant_result does (should torch
    change how it marks, this fails rather than torch.compile tracing the kernel file's loading)."""
    torch = pytest.importorskip("torch")
    import sys

    from symnet.torch import _ops

    def theirs():
        return True

    def mine():
        return True

    torch.compiler.assume_constant_result(theirs)  # imports torch._dynamo
    monkeypatch.delitem(sys.modules, "torch._dynamo")  # as at symnet.torch's import
    _ops._constant_result(mine)
    assert vars(mine) == vars(theirs) and vars(mine)
    assert vars(_ops.fused_dense).items() >= vars(theirs).items()


# ---------------------------------------------------------------- e. elementwise ops keep the memory format

@pytest.mark.parametrize("layout", ["channels_last", "transposed"])
def test_elementwise_ops_keep_the_inputs_layout_as_torch_does(layout):
    """Before: silu of a channels_last (2, 3, 4, 5) tensor had strides (60, 20, 5, 1); torch's (60, 1, 15, 3)."""
    from conftest import torch_and_triton

    torch, _ = torch_and_triton()
    import symnet.torch.functional as SF

    torch.manual_seed(0)
    if layout == "channels_last":
        x = torch.randn(2, 3, 4, 5, dtype=torch.float64).to(memory_format=torch.channels_last)
        t = torch.rand(2, 3, 4, 5, dtype=torch.float64).to(memory_format=torch.channels_last)
    else:
        x, t = torch.randn(5, 3, dtype=torch.float64).t(), torch.rand(5, 3, dtype=torch.float64).t()
    F = torch.nn.functional
    for mine, theirs in [(SF.silu(x), F.silu(x)), (SF.activation("gelu", x), F.gelu(x)),
                         (SF.loss("mse", x, t, reduction="none"), F.mse_loss(x, t, reduction="none"))]:
        assert mine.stride() == theirs.stride()
        torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=1e-14)
    x.requires_grad_()
    (g,) = torch.autograd.grad(SF.silu(x).sum(), x)
    (want,) = torch.autograd.grad(F.silu(x).sum(), x)
    torch.testing.assert_close(g, want, rtol=1e-12, atol=1e-14)
