"""The row-wise functions: softmax, log-softmax, logsumexp, cross-entropy, NLL — one entry each.

The row-wise counterpart of :mod:`symnet.registry`. A row-wise function maps one row of
logits ``z_0 … z_{V−1}`` (with, for a loss, the row's class ``r`` or its soft target
``t_j``) to a row of values or to one value per row. Each entry holds, in one place:

* its **formula** of one row in index form (``Indexed`` entries, ``Σ_k`` row sums, the
  class ``r``, class weights ``w_j``, the scalar options ``ε`` = ``label_smoothing``,
  ``λ`` = ``z_loss_scale`` and ``s`` = ``softcap``);
* its **derivation**: the index-form engine (:func:`symnet.indexed.derive_indexed`)
  differentiates the formula entry by entry, checks every step at small sizes, and the
  result prints like any derivation (``print(entry.derivation())``); the gradients are
  never typed in;
* the **row kernels** built from that derivation (:class:`~symnet.codegen.families.rowwise.RowKernel`,
  the typed description both backends print: arguments, outputs — a value, or the
  gradient with respect to ``z`` — and options), in the committed module ``module``;
* the **torch function** computing the same thing (``torch.nn.functional.*``), for the tests.

Cross-entropy has torch's semantics (``F.cross_entropy``): per row
``C = w_r(1 − ε)(lse − c_r) + (ε/V) Σ_k w_k (lse − c_k) + λ·lse²`` with
``lse = log Σ_k e^{c_k}``, ``c_j = s·tanh(z_j/s)`` when a ``softcap`` s is given (Gemma)
and ``c_j = z_j`` otherwise, and the z-loss ``λ·lse²`` of PaLM/Liger. ``reduction="mean"``
divides by Σ w_r over the rows not ignored (the number of those rows without weights), as
torch does; the z-loss term is divided by that same divisor (Liger divides it by the row
count even with weights: the two agree without class weights). A row whose class is
``ignore_index`` counts for nothing. With soft targets (a probability per entry, no
``ignore_index``) ``C = Σ_k w_k ((1 − ε) t_k + ε/V)(lse − c_k) + λ·lse²`` and the mean
divides by the number of rows, as torch does.

Where the kernels differ from torch on purpose: a soft target 0 at a logit −∞ contributes the limit 0 of
t·(lse − z) as t → 0 (torch: 0·∞ = NaN, the whole loss NaN); a weighted mean is taken with every weight (and λ)
scaled by 2^k, so subnormal weights give the mean and its gradient (torch: +∞ through 1/Σ w_r), and rows whose
own losses overflow give the finite mean where it is finite.

This module imports neither torch nor the curriculum; the torch references receive the
``torch`` module as an argument.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp

from .derivation import Derivation, Section, Step
from .errors import DerivationError
from .indexed import derive_indexed

__all__ = ["RowFunction", "ROW_REGISTRY", "row_entry", "row_kernels", "ROW_MODULES"]

# the names the row kernels are written in (those of symnet.codegen.families.rowwise)
V = sp.Symbol("V", integer=True, positive=True)
i, j, k, q = sp.symbols("i j k q", integer=True)
r = sp.Symbol("r", integer=True, nonnegative=True)
z, c, w, t, g = (sp.IndexedBase(n) for n in ("z", "c", "w", "t", "g"))
p, l_, L, C = (sp.IndexedBase(n) for n in ("p", "l", "L", "C"))
EPS, LAM, S = sp.symbols("ε λ s", positive=True)
ROW = (0, V - 1)
RANGES = {i: ROW, j: ROW, k: ROW, q: (0, 0)}
SIZES = {V: 3}
COST = sp.Symbol("C")


def _lse(x, idx=k):
    return sp.log(sp.Sum(sp.exp(x[idx]), (idx, *ROW)))


def _ce_hard(x):
    """One row's cross-entropy with class r, in the entries x (the capped logits c, or z)."""
    return (w[r] * (1 - EPS) * (_lse(x) - x[r])
            + EPS / V * sp.Sum(w[k] * (_lse(x, i) - x[k]), (k, *ROW)) + LAM * _lse(x) ** 2)


def _ce_soft(x):
    """One row's cross-entropy with soft targets t_k (probabilities), in the entries x."""
    return sp.Sum(w[k] * ((1 - EPS) * t[k] + EPS / V) * (_lse(x, i) - x[k]), (k, *ROW)) + LAM * _lse(x) ** 2


def _nll(x):
    """The negative log-likelihood of class r, x the log-probabilities of the row."""
    return -w[r] * x[r]


def _derive_loss(loss: Callable, capped: bool):
    """∂C/∂z_j of one row's loss, by the index-form engine: C as a family of one entry
    (C_q, q = 0) seeded with ∂C/∂C = 1; with ``capped``, through c_i = s·tanh(z_i/s)."""
    program = ([(c[i], S * sp.tanh(z[i] / S))] if capped else []) + [(L[q], loss(c if capped else z))]
    return derive_indexed(program, ranges=RANGES, seed=(L[q], sp.S.One), wrt=[z[j]], sizes=SIZES, cost=COST)


def _vjp(entry: Callable, out):
    """∂/∂z_j of Σ_i g_i·out_i for a per-entry function (the vector-Jacobian product)."""
    return derive_indexed([(out[i], entry(i))], ranges=RANGES, seed=(out[i], g[i]), wrt=[z[j]],
                          sizes=SIZES, cost=COST)


def _as_derivation(title: str, forward: tuple, res, wrt, gradient, extra: tuple = ()) -> Derivation:
    sections = (Section("Forward pass", tuple(Step(a, (b,), "definition") for a, b in forward),
                        "One row of logits z_0 … z_{V−1}; the rows of a batch are independent."),) \
        + tuple(res.sections) + tuple(extra)
    return Derivation(name="", title=title, summary="", inputs=(z,), wrt=(wrt,), outputs=(COST,),
                      definitions=tuple(forward), gradients={wrt: gradient}, sections=sections)


def _softcap_chain(res_capped, res_plain) -> tuple[sp.Expr, Step]:
    """∂c_j/∂z_j = 1 − tanh²(z_j/s) (= 1 − c_j²/s², checked: the capped gradient is the chain
    factor times the gradient in c), returned in the raw z_j in its stable form 4σ(2z_j/s)σ(−2z_j/s)
    (the sech² rule): 1 − c_j²/s² is 0 once tanh(z_j/s) rounds to 1, where the true factor is
    e.g. sech²(20) ≈ 1.7e−17. The kernels evaluate it before the cap overwrites z."""
    (_, _, local) = res_capped.local_partials[(c, z)]
    local = local.xreplace({i: j}) if local.has(i) else local
    chain_c = sp.expand(local.replace(lambda n: isinstance(n, sp.tanh), lambda n: c[j] / S))
    plain_in_c = res_plain.gradients[z[j]].replace(lambda n: isinstance(n, sp.Indexed) and n.base == z,
                                                   lambda n: c[n.indices[0]])
    capped = res_capped.gradients[z[j]].replace(lambda n: isinstance(n, sp.tanh), lambda n: c[j] / S)
    # compare at small size: every sum written out, c and w at random values
    import random
    rng = random.Random(1)
    for _ in range(3):
        at = {V: 3, j: rng.randrange(3), r: rng.randrange(3)}
        values = {b[m]: sp.Rational(rng.randint(-9, 9), 7) for b in (c, w, t) for m in range(3)}
        values.update({EPS: sp.Rational(1, 10), LAM: sp.Rational(1, 3), S: sp.Rational(5, 2)})
        a, b = (e.subs(at).doit().xreplace(values) for e in (capped, chain_c * plain_in_c))
        if abs(sp.N(a - b, 40)) > 1e-30:
            raise DerivationError("the softcap chain rule does not factor the capped gradient")
    step = Step(sp.Symbol("∂c_j/∂z_j"), (local, chain_c), "the softcap c_j = s·tanh(z_j/s), differentiated; "
                "tanh(z_j/s) = c_j/s. The gradient with a softcap is this factor times the one in c "
                "(checked at V = 3)", "numeric")
    from .codegen.rewrite import stabilise
    raw = local.xreplace({i: j}).replace(lambda n: isinstance(n, sp.KroneckerDelta), lambda n: sp.S.One)
    stable, _ = stabilise(raw)  # the sech² rule: 4σ(2z_j/s)σ(−2z_j/s)
    return stable, step


@dataclass(frozen=True)
class RowFunction:
    """One row-wise function (see the module docstring)."""

    name: str
    formula: str  # one row, in words the printout uses
    module: str  # the committed kernel module (kernels/<backend>/<module>.py)
    derivation: Callable[[], Derivation]
    kernels: Callable[[], list]  # → [RowKernel, …] of the module
    torch: Callable  # (torch, …) → the same values as the kernels' first output
    arguments: str = ""  # the kernels' signature, for the docs


def _entry_values(d: Derivation):
    return d.gradients[d.wrt[0]]


# ---------------------------------------------------------------- derivations

@lru_cache(maxsize=None)
def _softmax_derivation() -> Derivation:
    def entry(x):
        return sp.exp(z[x]) / sp.Sum(sp.exp(z[k]), (k, *ROW))
    res = _vjp(entry, p)
    return _as_derivation("Softmax over a row: the vector-Jacobian product", ((p[i], entry(i)),), res, z[j],
                          res.gradients[z[j]])


@lru_cache(maxsize=None)
def _log_softmax_derivation() -> Derivation:
    def entry(x):
        return z[x] - sp.log(sp.Sum(sp.exp(z[k]), (k, *ROW)))
    res = _vjp(entry, l_)
    return _as_derivation("Log-softmax over a row: the vector-Jacobian product", ((l_[i], entry(i)),), res, z[j],
                          res.gradients[z[j]])


@lru_cache(maxsize=None)
def _logsumexp_derivation() -> Derivation:
    res = _derive_loss(lambda x: _lse(x), capped=False)
    return _as_derivation("Logsumexp of a row: L = log Σ_k e^{z_k}", ((L[q], _lse(z)),), res, z[j],
                          res.gradients[z[j]])


@lru_cache(maxsize=None)
def _ce_derivations(soft: bool):
    loss = _ce_soft if soft else _ce_hard
    plain, capped = _derive_loss(loss, capped=False), _derive_loss(loss, capped=True)
    chain, step = _softcap_chain(capped, plain)
    return plain, capped, chain, step


@lru_cache(maxsize=None)
def _ce_derivation(soft: bool = False) -> Derivation:
    plain, capped, chain, step = _ce_derivations(soft)
    loss = _ce_soft if soft else _ce_hard
    what = "soft targets t_k" if soft else "class r"
    return _as_derivation(
        f"Softmax cross-entropy ({what}) with class weights w, label smoothing ε, z-loss λ·lse² "
        "and softcap s", ((c[i], S * sp.tanh(z[i] / S)), (L[q], loss(c))), capped, z[j], capped.gradients[z[j]],
        (Section("Without a softcap (c = z)", tuple(plain.sections[-1].steps),
                 "The same derivation with the logits used as they are."),
         Section("The softcap as a factor", (step,),
                 "So a kernel computes the gradient in c and multiplies it by ∂c_j/∂z_j where a softcap "
                 "is given, evaluated from the raw z_j as 4σ(2z_j/s)σ(−2z_j/s) (the sech² rule: 1 − c_j²/s² "
                 "is 0 once tanh(z_j/s) rounds to 1).")))


@lru_cache(maxsize=None)
def _nll_derivation() -> Derivation:
    res = _derive_loss(_nll, capped=False)
    return _as_derivation("Negative log-likelihood of class r, on log-probabilities l = z",
                          ((L[q], _nll(z)),), res, z[j], res.gradients[z[j]])


# ---------------------------------------------------------------- kernels

def _to_kernel_names(e: sp.Expr) -> sp.Expr:
    """The registry's names → those of the row kernels (the same symbols, by construction)."""
    from .codegen.families import rowwise as rw
    mapping = {V: rw.V, j: rw.j, k: rw.k, r: rw.r, EPS: rw.LABEL_SMOOTHING, LAM: rw.Z_LOSS_SCALE, S: rw.SOFTCAP}
    e = e.xreplace(mapping)
    bases = {z: rw.z, w: rw.w, t: rw.t, g: rw.g, c: rw.z}
    return e.replace(lambda n: isinstance(n, sp.Indexed) and n.base in bases,
                     lambda n: bases[n.base][n.indices[0]])


def _softmax_kernels():
    from .codegen.families.rowwise import row_kernel
    d = _softmax_derivation()
    value = _to_kernel_names(sp.exp(z[j]) / sp.Sum(sp.exp(z[k]), (k, *ROW)))
    grad = _to_kernel_names(_entry_values(d))
    return [row_kernel("softmax", "p_j = e^{z_j}/Σ_k e^{z_k}", [("p", value, "p_j", False)]),
            row_kernel("softmax_grad", "p_j = e^{z_j}/Σ_k e^{z_k}; dz_j = Σ_i g_i ∂p_i/∂z_j",
                       [("p", value, "p_j", False), ("dz", grad, "Σ_i g_i ∂p_i/∂z_j", False)])]


def _logsumexp_kernels():
    from .codegen.families.rowwise import row_kernel
    d = _logsumexp_derivation()
    value = _to_kernel_names(_lse(z))
    grad = _to_kernel_names(_entry_values(d))
    return [row_kernel("logsumexp", "L = log Σ_k e^{z_k}", [("lse", value, "L", True)]),
            row_kernel("logsumexp_grad", "L = log Σ_k e^{z_k}; ∂L/∂z_j",
                       [("lse", value, "L", True), ("dz", grad, "∂L/∂z_j", False)])]


def _ce_kernels(soft: bool):
    from .codegen.families.rowwise import row_kernel
    plain, _, chain, _ = _ce_derivations(soft)
    loss = _to_kernel_names((_ce_soft if soft else _ce_hard)(z))
    grad = _to_kernel_names(plain.gradients[z[j]])
    chain = _to_kernel_names(chain)
    cap = _to_kernel_names(S * sp.tanh(z[j] / S))
    name = "cross_entropy_soft" if soft else "cross_entropy"
    what = "Σ_k w_k((1 − ε)t_k + ε/V)(lse − c_k)" if soft else "w_r(1 − ε)(lse − c_r) + (ε/V)Σ_k w_k(lse − c_k)"
    formula = f"C = {what} + λ·lse², lse = log Σ_k e^{{c_k}}, c = s·tanh(z/s) with a softcap s, else z"
    divisor = "rows" if soft else "weight"
    return [row_kernel(name, formula, [("loss", loss, "C", True)], cap=cap, chain=chain, divisor=divisor),
            row_kernel(name + "_grad", formula + "; ∂C/∂z_j",
                       [("loss", loss, "C", True), ("dz", grad, "∂C/∂z_j", False)], cap=cap, chain=chain,
                       divisor=divisor)]


def _nll_kernels():
    from .codegen.families.rowwise import row_kernel
    d = _nll_derivation()
    loss = _to_kernel_names(_nll(z))
    grad = _to_kernel_names(_entry_values(d))
    return [row_kernel("nll_loss", "C = −w_r l_r, l the log-probabilities", [("loss", loss, "C", True)],
                       divisor="weight"),
            row_kernel("nll_loss_grad", "C = −w_r l_r; ∂C/∂l_j = −w_r δ_jr",
                       [("loss", loss, "C", True), ("dz", grad, "∂C/∂l_j", False)], divisor="weight")]


# ---------------------------------------------------------------- torch references

def _torch_ce(torch, z, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
              softcap=None, z_loss_scale=0.0):
    """torch's cross_entropy, with Gemma's softcap before it and the z-loss λ·lse² after it
    (reduced with the same divisor)."""
    F = torch.nn.functional
    if softcap is not None:
        z = softcap * torch.tanh(z / softcap)
    ce = F.cross_entropy(z, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)
    if not z_loss_scale:
        return ce
    zl = z_loss_scale * torch.logsumexp(z, -1) ** 2
    if target.dtype.is_floating_point:
        return ce + (zl if reduction == "none" else zl.sum() / (zl.numel() if reduction == "mean" else 1))
    keep = target != ignore_index
    zl = torch.where(keep, zl, 0.0)
    if reduction == "none":
        return ce + zl
    if reduction == "sum":
        return ce + zl.sum()
    divisor = keep.sum() if weight is None else torch.where(keep, weight[target.clamp(0, z.shape[-1] - 1)], 0.0).sum()
    return ce + zl.sum() / divisor


ROW_REGISTRY: dict[str, RowFunction] = {}


def _register(entry: RowFunction) -> None:
    ROW_REGISTRY[entry.name] = entry


_register(RowFunction("softmax", "p_j = e^{z_j}/Σ_k e^{z_k}", "softmax", _softmax_derivation,
                      lambda: _row_module_kernels("softmax"),
                      lambda torch, z: torch.nn.functional.softmax(z, -1), "softmax(z), softmax_grad(z, g)"))
_register(RowFunction("log_softmax", "l_j = z_j − log Σ_k e^{z_k}", "log_softmax", _log_softmax_derivation,
                      lambda: _row_module_kernels("log_softmax"),
                      lambda torch, z: torch.nn.functional.log_softmax(z, -1),
                      "log_softmax(z), log_softmax_grad(z, g)"))
_register(RowFunction("logsumexp", "L = log Σ_k e^{z_k}", "logsumexp", _logsumexp_derivation, _logsumexp_kernels,
                      lambda torch, z: torch.logsumexp(z, -1), "logsumexp(z), logsumexp_grad(z) → (lse, ∂L/∂z)"))
_register(RowFunction("cross_entropy", "C = w_r(1 − ε)(lse − c_r) + (ε/V)Σ_k w_k(lse − c_k) + λ·lse²",
                      "cross_entropy", lambda: _ce_derivation(False), lambda: _ce_kernels(False) + _ce_kernels(True),
                      _torch_ce,
                      "cross_entropy(z, r, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0, "
                      "softcap=None, z_loss_scale=0.0); cross_entropy_soft(z, t, weight=None, reduction='mean', "
                      "label_smoothing=0.0, softcap=None, z_loss_scale=0.0); each with _grad → (loss, dz)"))
_register(RowFunction("cross_entropy_soft", "C = Σ_k w_k((1 − ε)t_k + ε/V)(lse − c_k) + λ·lse²", "cross_entropy",
                      lambda: _ce_derivation(True), lambda: _ce_kernels(True), _torch_ce))
_register(RowFunction("nll_loss", "C = −w_r l_r", "nll_loss", _nll_derivation, _nll_kernels,
                      lambda torch, l, r, weight=None, ignore_index=-100, reduction="mean":
                      torch.nn.functional.nll_loss(l, r, weight=weight, ignore_index=ignore_index,
                                                   reduction=reduction),
                      "nll_loss(z, r, weight=None, ignore_index=-100, reduction='mean'), nll_loss_grad(…)"))


def _row_module_kernels(module: str):
    from .codegen.families.rowwise import row_modules
    return row_modules()[module]


ROW_MODULES = ("softmax", "log_softmax", "logsumexp", "cross_entropy", "nll_loss")


def row_entry(name: str) -> RowFunction:
    """The entry of a row-wise function; raises SymnetError for an unknown name."""
    from .errors import SymnetError
    try:
        return ROW_REGISTRY[name]
    except KeyError:
        raise SymnetError(f"unknown row-wise function {name!r}; known: {', '.join(ROW_REGISTRY)}") from None


def row_kernels(module: str) -> list:
    """The row kernels of a committed module, from the entries that live there (in order)."""
    entry = next(e for e in ROW_REGISTRY.values() if e.module == module)
    return entry.kernels()


def compile_row(name: str, backend: str = "numpy"):
    """The module of a row-wise function generated now from its entry (what ``symnet codegen``
    commits as ``kernels/<backend>/<module>.py``, emitted and loaded from memory):
    ``compile_row("cross_entropy", "triton").cross_entropy_op(z, r, label_smoothing=0.1)``.
    ``symnet.compile(name, backend)`` with a row-wise function's name comes here.

    Raises:
        SymnetError: an unknown name or backend; backend="triton" without torch and triton.
    """
    from .codegen.compiler import _exec_module, _load_module
    from .errors import SymnetError
    entry = row_entry(name)
    kernels = row_kernels(entry.module)
    what = f"the row registry's {entry.module}"
    if backend == "numpy":
        from .codegen.backends.numpy.elementwise import emit_module
        source = emit_module(kernels, what, f"symnet.compile({name!r}, backend='numpy')")
        return _exec_module(f"symnet_generated_row_{entry.module}", source, f"<symnet:row_{entry.module}>")
    if backend == "triton":
        try:
            import torch  # noqa: F401
            import triton  # noqa: F401
        except ImportError:
            raise SymnetError("backend='triton' needs torch and triton: pip install torch triton") from None
        from .codegen.backends.triton.rowwise import emit_triton_row_module
        source = emit_triton_row_module(kernels, what, f"symnet.compile({name!r}, backend='triton')")
        return _load_module(f"row_{entry.module}", source)
    raise SymnetError(f"unknown backend {backend!r}; available: numpy, triton")
