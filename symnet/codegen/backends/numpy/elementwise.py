"""The NumPy elementwise emitter.

Every statement is printed by the NumPy backend's one printer,
:class:`~symnet.codegen.backends.numpy.printer.NumpyExpressionPrinter` (which takes each
function's lowering from the function registry), inside a loop over blocks of ``_BLOCK``
elements, so each temporary holds one block at most and memory sees each input read once and
each output written once. The emitter writes a standalone module (it imports only NumPy): a
header naming the formula, the checks of its inputs, then the CSE'd assignments, each
temporary named by its math (``sig_z = np.maximum(sig_neg_abs_z, np.minimum(sig_abs_z,
z_nonneg))``, σ(z) selected without a branch per element, :func:`~symnet.codegen.ir.temporary_names`)
under a comment of its formula in those names.

Speed (the printer's selects, and here): a select whose values the printer knows is arithmetic,
any other ``_select`` (np.where's bits by integer masks: np.where branches per element); the
emitter adds a temporary where both signs of an argument occur, softplus(−|u|) for softplus(±u)
(one np.logaddexp for two) and e^−|u| for σ(±u) in widened sums, and moves a widened sum that
has σ(u) below the kernel's e^−|u| (``_sharing_order``). Every output keeps the bits of the
np.where printing (``NumpyExpressionPrinter.ARITHMETIC_SELECTS = False``; tests/test_numpy_speed7.py).
An output that is a select whose every branch but the last is taken only far out (a condition beyond ±``FAR``: the
focal loss's z > 1000, z < −1000; since session 24 its first branches, the rest a near select) gets its last (near)
branch on every element and its far branches only on the elements where they are taken (``_far = np.nonzero(...)``, none on ordinary data): NumPy computes every branch of a select on
every element, and the focal loss with γ an input spent a third or more of its float32 time on branches that normal
data never takes (float64's is the double-word's: about even there; :func:`far_branches`; benchmarks/focal16.py,
tests/test_far16.py).

Names: the function is called with the user's names; inside, each input and output is a
local identifier from :func:`~symnet.codegen.ir.local_names` that avoids every name the
skeleton uses (``np``, builtins, the helpers, ``_shape``, ``_n``, the temporaries, and the
whole-length array ``_x`` behind each block view ``x``); the temporaries in turn avoid the
inputs' and outputs' names. ``symnet.compile`` binds the user's names to the parameters in
order, so an input named ``range`` is called as ``k(range=...)`` although the code reads
``range_``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import sympy as sp

from ....errors import InvalidNameError, domain_bound
from ....functions import sigmoid
from ....special import exp_shift, softplus
from ....render import text
from ....registry import GENERATED_HELPERS, NUMPY_HELPER_NEEDS, NUMPY_HELPERS, numpy_helper_closure
from ...doubleword import double_word_block, generated_last
from ...ir import COMMON_NAMES, CodeName, Kernel, local_names, output_comment, temporary_comment, temporary_names
from ...rewrite import WidenedBase, is_compensated_sum, nexp, unwiden
from .printer import PRINTER_HELPERS, NumpyExpressionPrinter

__all__ = ["emit_module", "emit_function", "reserved_names", "temporaries", "HELPERS"]

# Helper functions a printed expression may call, emitted into the module when used.
HELPERS = {
    **PRINTER_HELPERS,  # _sigmoid: the helpers the printer's expressions call
    "_unmasked": '''\
def _unmasked(value, name):
    """``value``, refused where it is a numpy.ma masked array: np.asarray keeps its data and drops its mask,
    so the masked entries would count as if they were there. What a mask should mean differs by function
    (an entry left out of a sum, a row left out of a mean, a logit of −∞), so the caller says it.
    An array in the other byte order ('>f8' read from a file on a little-endian machine) holds the same
    numbers: it is copied into the machine's order (exact), not refused as "not float64". Returns an array:
    what np.asarray cannot read (a tensor that requires grad, a bfloat16 tensor, a ragged list) is one
    TypeError naming the argument, not NumPy's or torch's own error without it."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"argument {name!r} is a numpy.ma masked array, whose mask would be ignored; pass "
                        f"{name}.filled(...) with the value that masked entries stand for, or the unmasked "
                        "entries only")
    try:
        value = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"argument {name!r} ({type(value).__name__}) cannot be read as a NumPy array: "
                        + " ".join(str(exc).split())) from None
    if not value.dtype.isnative:
        value = value.astype(value.dtype.newbyteorder("="))
    return value
''',
    "_inputs": '''\
def _inputs(**named):
    """The arguments as arrays of one floating dtype and one shape (0-d values broadcast).

    Refuses what NumPy would silently accept: integer or complex data, float16, masked arrays
    (_unmasked), and shapes that differ (NumPy would broadcast (n, 1) against (n,) into (n, n))."""
    arrays = {}
    for name, value in named.items():
        if value is None:
            raise TypeError(f"argument {name!r} is missing (got None)")
        array = np.asarray(_unmasked(value, name))
        if array.dtype not in (np.float32, np.float64):
            if isinstance(value, int) and not isinstance(value, bool):  # b=1 where b=1.0 was meant
                raise TypeError(f"argument {name!r} must hold float32 or float64 values, not {array.dtype} (the "
                                f"Python int {value}): write {value}.0")
            raise TypeError(f"argument {name!r} must hold float32 or float64 values, not {array.dtype}")
        arrays[name] = array
    shaped = {name: a for name, a in arrays.items() if a.ndim > 0}
    shape = ()
    for name, a in shaped.items():
        if shape == ():
            shape, first = a.shape, name
        elif a.shape != shape:
            raise ValueError(f"argument {name!r} has shape {a.shape} but {first!r} has shape {shape}; "
                             "pass arrays of one shape (symnet does not broadcast)")
    dtype = np.result_type(*(shaped or arrays).values())
    return [a.astype(dtype, copy=False) for a in arrays.values()], shape, dtype
''',
    "_refuse_outside": '''\
def _refuse_outside(values, low, high, message):
    """Refuse data outside [low, high] that a function of the formula takes (gaussian_nll's variance ≥ 0,
    bce's p in [0, 1]), as torch refuses them: a DomainError (a ValueError) whose line is ``message`` with
    the first such entry for {value}. NaN passes: it propagates, as torch's checks let it."""
    values = np.asarray(values)
    bad = (values < low) | (values > high)
    if bad.any():
        try:  # symnet's own error class, where symnet is installed (the module stands alone)
            from symnet.errors import DomainError
        except ImportError:
            DomainError = ValueError
        raise DomainError(message.replace("{value}", f"{float(values[bad].reshape(-1)[0]):g}"))
''',
    "_flat": '''\
def _flat(a, n):
    """``a`` as n values in a row: a contiguous array's own memory, a 0-d value repeated."""
    return np.broadcast_to(a, (n,)) if a.ndim == 0 else np.ascontiguousarray(a).reshape(-1)
''',
}
NUMPY_HELPER_NEEDS["_inputs"] = ("_unmasked",)  # a masked array refused

# The names the elementwise function's own code uses besides COMMON_NAMES and the helpers'
# names; user names get local identifiers that avoid them and the kernel's temporaries, and
# for each local x its whole array _x.
SKELETON_NAMES = frozenset({"_BLOCK", "_shape", "_dtype", "_n", "_i", "_far"})
LOCAL_FORMS = ("{}", "_{}")


def _static_names(kernel: Kernel) -> frozenset:
    return COMMON_NAMES | SKELETON_NAMES | set(HELPERS) | set(NUMPY_HELPERS) | set(GENERATED_HELPERS["numpy"]) | {kernel.name}


def reserved_names(kernel: Kernel):
    """Whether a name is one the generated function of ``kernel`` uses for itself: the
    skeleton's, the helpers', and its temporaries' (:func:`temporaries`)."""
    names = _static_names(kernel) | set(temporaries(kernel).values())
    return names.__contains__


# Elements per block: every operation runs over one block at a time, so the temporaries
# stay in the CPU cache and memory sees each input read once and each output written once.
BLOCK = 16384


def temporaries(kernel: Kernel) -> dict:
    """Each CSE temporary of ``kernel`` → its identifier, named by its math (sig_z, one_minus_y):
    :func:`~symnet.codegen.ir.temporary_names`, avoiding the skeleton's names and the inputs'
    and outputs' names with their whole arrays (``_x``)."""
    publics = [i.name for i in kernel.inputs] + [o.name for o in kernel.outputs]
    users = {f.format(n) for n in publics for f in LOCAL_FORMS}
    static = _static_names(kernel)
    kernel = _with_shared_terms(kernel, _wide(kernel))  # the temporaries the emitter adds, named too
    return temporary_names(kernel, lambda name: name in static or name in users)


def _wide(kernel: Kernel) -> bool:
    """Whether the kernel's block is computed in float64 (emit_function): it has a widened sum, softplus
    (:func:`_softplus_float64`) or σ (:func:`_sigmoid_float64`)."""
    return _wide_reason(kernel) is not None


def _wide_reason(kernel: Kernel) -> str | None:
    """Why the kernel's block is computed in float64, as its comment says it; None where it is not."""
    parts = [e for _, e in kernel.assignments] + list(kernel.results)
    if any(expr.has(WidenedBase) for expr in parts):
        return "a widened sum"
    if _softplus_float64(parts):
        return "softplus: NumPy's float32 exp is not correctly rounded"
    if _sigmoid_float64(parts):
        return "σ: NumPy's float32 exp is not correctly rounded"
    return None


# session 28 (h-sig28): softplus and log-sigmoid in a float32 block took NumPy's float32 exp (np.logaddexp's own, and
# σ's e^−|x| in the gradient): softplus′ 3.31 ULP at −2.7341, log-sigmoid′ 3.35 at 2.7528 (torch 1.31, 1.35;
# tests/test_cells27.py, tests/test_sig28.py). Every value that reads e^−|u| shares it (the sigmoid-pair selects,
# _sigmoid(u, e=E), softplus(±u)'s log(1 + e^−|u|)), so the exponential is not changed alone: the block is float64, as
# a widened sum's, each output rounded once (0.50 ULP). Only where the kernel has softplus: NumPy's float32
# np.logaddexp is no faster than its float64 one (30 against 34 ms per 10⁶ values here), so the block costs little more
# (softplus 1.2×, log-sigmoid 1.3×), where a kernel of σ alone spends its time in the float32 SIMD exp (2.4 against
# 6.6 ms): sigmoid's kernel took 2.9× in float64, silu's 1.7× (benchmarks/sig28.py).
def _softplus_float64(parts: list) -> bool:
    """Whether ``parts`` hold softplus, whose float32 block is then computed in float64."""
    return any(expr.has(softplus) for expr in parts)


# session 37 (h-sig37): σ in a float32 block took NumPy's float32 SIMD exp too, and the sigmoid pair's roundings after
# it (E = e^−|u|, r = 1/(1 + E), E·r, r·E·r): the sigmoid kernel's σ 3.69 ULP at −1.9717 (torch 0.31), σ′ 5.18 at
# −4.1391 (torch 0.18; tests/test_sig28.py). In float64 every output is rounded once (0.50 ULP). NumPy 2.4 finds
# AVX-512 here and its float64 exp is SIMD as well (1.7× the float32 one, not the 2.9× of session 28's libm), so the
# block costs what benchmarks/sig37.py measures beside the committed kernel.
def _sigmoid_float64(parts: list) -> bool:
    """Whether ``parts`` hold σ or the sigmoid pair's e^−|u|, whose float32 block is then computed in float64."""
    return any(expr.has(sigmoid) or any(isinstance(n.args[0], sp.Abs) for n in expr.atoms(nexp)) for expr in parts)


def _compensated(kernel: Kernel) -> bool:
    """Whether the kernel has a sum the compensated-sum rule widened (a written softmax): its float64 block is then
    computed again in double words (:func:`_double_word_outputs`)."""
    return any(is_compensated_sum(n) for e in [e for _, e in kernel.assignments] + list(kernel.results)
               for n in e.atoms(WidenedBase))


def _double_word_outputs(kernel: Kernel, order: list, printer, local: dict, temps: dict, helpers: set):
    """The statements that compute every output of a float64 block again in double-word arithmetic
    (:func:`~symnet.codegen.doubleword.double_word_block`: e^(a_i − m), S, S² and the quotients), each rounded
    once, kept where it and the float64 output are finite (an input ±inf or NaN: the float64 output, the
    infinite-shift rule's limits): (the statements before the float64 body, those after it). Where the double
    words read none of the float64 body's temporaries they come first, and a block whose outputs are all finite
    skips the float64 body (``continue``); the rest is kept after it (every statement there where they read one).
    A written 24-term softmax in float64: 2.92 → 0.50 ULP over 60 random points, no worse than torch.softmax's
    autograd at any of them (tests/test_sm18.py); 3.0× the float64 block's CPU time before, 10⁶ rows (e^x by a
    table, _dw_exp_table; benchmarks/sm18.py, benchmarks/results/sm18-cost.md)."""
    names = {i.symbol: local[i.name] for i in kernel.inputs}
    outputs = [local[o.name] for o in kernel.outputs]
    taken = set(_static_names(kernel)) | set(temps.values()) | set(local.values()) | {f"_{v}" for v in local.values()}
    lines, his, needs = double_word_block(order, kernel.results, "numpy", printer, names, taken)
    helpers.update(needs)
    words = ["# float64: every output again in double-word arithmetic from the inputs (a compensated sum: a written",
             "# softmax's terms e^(a_i − m), S² and the quotient each rounded in float64 gave 2.92 ULP), rounded once",
             "if _dtype == np.float64:",
             "    with np.errstate(all=\"ignore\"):  # inf and NaN are selected away below"]
    words += ["        " + line for line in lines]
    keep = [f"    np.copyto({o}, {hi}, where=np.isfinite({hi}) & np.isfinite({o}))" for o, hi in zip(outputs, his)]
    read = {w for line in lines if not line.lstrip().startswith("#") for w in re.findall(r"[A-Za-z_]\w*", line)}
    if read & set(temps.values()):
        return [], words + keep
    finite = "_finite"
    while finite in taken:
        finite += "_"
    words += [f"    {finite} = " + " & ".join(f"np.isfinite({hi})" for hi in his),
              f"    if {finite}.all():  # the float64 body only where a value is not finite (an input ±inf or NaN)"]
    words += [f"        {o}[...] = {hi}" for o, hi in zip(outputs, his)]
    words += ["        continue"]
    return words, ["# float64, a value not finite in the block: the double words where both are finite",
                   "if _dtype == np.float64:"] + keep


def _sharing_order(assignments: list) -> list:
    """The assignments, each widened sum that has σ(u) in its body moved down to just after the
    temporary e^−|u| (the sigmoid-pair rule's E) where nothing in between reads it: in a kernel
    computed in float64 the printer then gives σ(u) that exponential (``_sigmoid(u, e=E)``, the
    same bits) instead of computing it again; CSE does not look inside the widened node."""
    order = list(assignments)
    for temp, expr in assignments:
        if not isinstance(expr, WidenedBase):
            continue
        for s in expr.expanded.atoms(sigmoid):
            want = nexp(sp.Abs(s.args[0]))
            at = order.index((temp, expr))
            later = [k for k in range(at + 1, len(order)) if order[k][1] == want]
            if later and not any(order[k][1].has(temp) for k in range(at + 1, later[0] + 1)):
                order.insert(later[0], order.pop(at))  # after the pop, index later[0] is just past E
                break
    return order


def _printed_parts(kernel: Kernel, wide: bool) -> list:
    """What the kernel's own printer prints: every assignment and result, a widened sum's body
    too where the block is float64 (elsewhere it is printed over float64 copies of its own)."""
    parts = [e for _, e in kernel.assignments] + list(kernel.results)
    if wide:
        return [e.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded) for e in parts]
    return [e.replace(lambda n: isinstance(n, WidenedBase), lambda n: sp.S.Zero) for e in parts]


def _with_shared_terms(kernel: Kernel, wide: bool) -> Kernel:
    """``kernel`` with temporaries first that the printer shares where both signs of an argument
    occur in what it prints (binary cross-entropy on logits: σ(z) and σ(−z) in widened sums,
    softplus(z) and softplus(−z) in the loss):

    * log(1 + e^−|u|) = softplus(−|u|) for softplus(u) and softplus(−u): each is then
      max(±u, 0) + that temporary, the bits np.logaddexp(0, ±u) gives (it computes
      ±u + log1p(exp(−|u|)) for ±u > 0, log1p(exp(−|u|)) below, and log 2 = log1p(exp(0)) at 0),
      one np.logaddexp instead of two (25 ns a float64 value here: NumPy calls libm's exp and
      log1p one value at a time);
    * e^−|u| for σ(u) and σ(−u) where the kernel has no such temporary: ``_sigmoid(±u, e=E)``
      (the exponential each call computes, bit for bit: |−u| = |u|)."""
    if not NumpyExpressionPrinter.ARITHMETIC_SELECTS:
        return kernel
    parts = _printed_parts(kernel, wide)
    new = []
    found = set().union(*[e.atoms(softplus) for e in parts])
    have = {e for _, e in kernel.assignments}  # a kernel that has them already (this function's own) gets none
    for a in sorted({sp.Abs(f.args[0]) for f in found if softplus(-f.args[0]) in found}, key=sp.default_sort_key):
        if softplus(-a) not in have:
            new.append((sp.Dummy("log1p_exp_neg_abs"), softplus(-a)))
    found = set().union(*[e.atoms(sigmoid) for e in parts])
    # |u| over the kernel's temporaries where it holds them (e^−|x_times_y|, not x·y again)
    held = {e: t for t, e in kernel.assignments if not isinstance(e, (sp.Number, sp.Symbol))}
    for a in sorted({sp.Abs(f.args[0]).xreplace(held) for f in found if sigmoid(-f.args[0]) in found},
                    key=sp.default_sort_key):
        if nexp(a) not in have:
            new.append((sp.Dummy("exp_neg_abs"), nexp(a)))
    if not new:
        return kernel
    # each after the temporaries it reads (first where it reads inputs only): e^−|u| of a temporary u went first and
    # read it before it was assigned (UnboundLocalError at sigmoid(tanhshrink(log2(x))), h-ite26's random compositions)
    assignments, first = list(kernel.assignments), 0
    for t, e in new:
        after = [k for k, (s, _) in enumerate(assignments) if s in e.free_symbols]
        if after:
            assignments.insert(max(after) + 1, (t, e))
        else:
            assignments.insert(first, (t, e))
            first += 1
    return replace(kernel, assignments=tuple(assignments))


def emit_function(kernel: Kernel, helpers: set | None = None) -> str:
    """One function; the names of the helpers it calls are added to ``helpers``."""
    helpers = set() if helpers is None else helpers
    wide = _wide(kernel)
    kernel = _with_shared_terms(kernel, wide)
    helpers.update({"_inputs", "_flat"})
    if kernel.name in COMMON_NAMES:  # a module-level def would hide the module or builtin from the code
        raise InvalidNameError(f"the kernel name {kernel.name!r} is used by the generated module itself "
                               "(a Python builtin or module name); choose another")
    local = local_names([i.name for i in kernel.inputs] + [o.name for o in kernel.outputs],
                        reserved_names(kernel), LOCAL_FORMS)
    inputs = [local[i.name] for i in kernel.inputs]
    outputs = [local[o.name] for o in kernel.outputs]
    doc = [f'    """{kernel.formula}', "", "    Arguments (float32 or float64 arrays of one shape):"]
    doc += [f"      {i.name}: {text(i.symbol)} ({i.role})" for i in kernel.inputs]
    doc += ["", f"    Returns ({', '.join(o.name for o in kernel.outputs)}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ['    """']

    # the body, over one block: inputs and outputs are block views, each temporary an array of
    # the block's size at most, named by its math; every statement printed by the one printer
    temps = temporaries(kernel)
    printer = NumpyExpressionPrinter(helpers, {**{i.symbol: local[i.name] for i in kernel.inputs}, **temps},
                                     dtype="_dtype")
    # a widened sum (the widen rule) in a float32 kernel: the whole block is computed in float64 and
    # each output rounded once as it is written (np.square(d, out=L) casts), which costs about what
    # the float32 kernel did (sigmoid_mse, 10M values: 105 ms against 95, where float64 copies of
    # the widened sum's leaves beside the float32 pair took 260); a float64 kernel copies nothing
    printer.wide = wide
    printer.float32_products = not wide  # a long product in float64 (ConditionalPrinting._long_product)
    printer.select_without_branches()  # conditions on data: np.where would branch per element
    named = {t: CodeName(name) for t, name in temps.items()}  # the comments use the code's names
    # the checks first, over the whole arrays before the loop: printed after the body, the printer knew the
    # block's temporaries and gave σ(x) its e^−|x| (bce(sigmoid(x), t): UnboundLocalError on exp_neg_abs_x)
    checks = domain_checks(kernel, printer, helpers)
    body: list[str] = []
    order = _sharing_order(kernel.assignments) if wide else list(kernel.assignments)
    far = far_branches(order, kernel.results)
    for temp, expr in order:
        if temp in far.only:
            continue  # computed where a far branch is taken, below
        body.append(f"# {temporary_comment(temps[temp], expr, named)}")
        body.append(f"{temps[temp]} = {printer.doprint(expr)}")
        printer.definitions[temp] = expr  # what the statements below may use (printer: arithmetic selects)
    for k, (out, result, ident) in enumerate(zip(kernel.outputs, kernel.results, outputs)):
        body.append(f"# {output_comment(ident, out)}")
        if k in far.outputs:  # its near branches on every element, the far ones below where they are taken
            # a widened sum in it needs its double-word where no far condition holds only (where one holds, the far
            # values would fail its error bound: 1 % of z beyond ±1000 made float64 focal 1.5× slower)
            printer.selected = " & ".join(f"~({printer.doprint(c)})" for _, c in far.far(k, result))
            body.append(f"# (here its {far.near_words(k, result)}, on every element; its far branches below)")
            # printed as the select prints it (doprint), not through assign_into's out=: that splits a product
            # otherwise (np.multiply(−y/s², E − …) against −y·(E − …)/s²), other bits than the select's, 1.9 ULP
            # float32 (tests/test_breakage16.py)
            body.append(f"{ident}[...] = {printer.doprint(far.near(k, result))}")
        else:
            body.append(printer.assign_into(ident, result))  # the last operation writes the output
        printer.selected = None
    first = []  # statements before the float64 body (the double words, where they need none of its temporaries)
    if _compensated(kernel) and not far.only:  # (a temporary computed only in the far block: not in scope here)
        first, last = _double_word_outputs(kernel, order, printer, local, temps, helpers)
        body += last
    if far.outputs:  # last: it takes the inputs on the far elements alone (T, a, b = T[_far], …), and the double
        # words above read them and the body's temporaries on the whole block (T·log(e^(a/T) + e^(b/T)) at T = 0:
        # "operands could not be broadcast together", session 42)
        body += _far_block(far, order, kernel, outputs, printer, temps, named)

    views = inputs + outputs
    lines = [f"def {kernel.name}({', '.join(inputs)}):", *doc,
             f"    ({', '.join(inputs)}{',' if len(inputs) == 1 else ''}), _shape, _dtype = "
             f"_inputs({', '.join(f'{i.name}={n}' for i, n in zip(kernel.inputs, inputs))})"]
    lines += checks
    lines += [f"    {o} = np.empty(_shape, _dtype)" for o in outputs]
    lines += ["    _n = int(np.prod(_shape))"]
    lines += [f"    _{v} = _flat({v}, _n)" for v in inputs]
    lines += [f"    _{v} = {v}.reshape(-1)  # a view: written block by block" for v in outputs]
    loop = ["for _i in range(0, _n, _BLOCK):",
            f"    {', '.join(views)} = {', '.join(f'_{v}[_i:_i + _BLOCK]' for v in views)}"]
    if wide:
        loop += [f"    # the block in float64 ({_wide_reason(kernel)}): each output rounded once, as it is written",
                 f"    {', '.join(inputs)} = "  # one input: x = np.asarray(x), not x, = (that unpacks the block)
                 f"{', '.join(f'np.asarray({v}, np.float64)' for v in inputs)}"]
    loop += ["    " + line for line in first + body]
    # An overflow rounds to ±inf and a division by zero gives ±inf: the float answer (e^1000, cosh(1000), x² at 1e200;
    # σ's e^−x → ∞ and 1/e^−x → ∞ give its limits 0 and 1), which NumPy's RuntimeWarning made look like a fault
    # (session 23). An invalid operation (NaN: ∞ − ∞, 0·∞) still warns where no select drops it.
    silence = {"over", "divide"}
    why = "±inf from an overflow or a division by zero is the float answer: no warning (NaN warns)"
    # (a widened sum's body too: the float32 block prints it inline, selects included)
    if any(unwiden(e).has(sp.Piecewise) for e in [e for _, e in kernel.assignments] + list(kernel.results)) \
            or any("np.where(" in line for line in body if not line.startswith("#")):
        silence |= {"over", "divide", "invalid"}
        why = "a select computes every branch: one not taken may overflow or be NaN, and is dropped"
    args = ", ".join(f'{w}="ignore"' for w in sorted(silence, reverse=True))
    lines.append(f"    with np.errstate({args}):  # {why}")
    lines += ["        " + line for line in loop]
    # the loop rebinds the output names to block views: return the whole arrays, in the inputs' shape
    lines.append(f"    return {', '.join(f'_{o}.reshape(_shape)' for o in outputs)}" + ("," if len(outputs) == 1 else ""))
    return "\n".join(lines) + "\n"


# A select's condition is far when it compares a value with a constant at least this far out (z > 1000 in the focal
# loss, |x − t| > 1.8e19, the exp-dominant rule's u > 64 where e^u is 6e27, u > 45 for a product with a 7/4 power):
# on data in any ordinary range such a branch is rarely taken, if ever. (100 until session 24, 64 until session 25;
# no committed kernel has a bound in [32, 100).)
FAR = 32

# A select's condition is far too when it compares a value that is never negative (|x|, max(|x|, |y|)) with a positive
# constant at most this small (the hypot rule's by-exponents branch where max(|x|, |y|) < 2⁻¹⁶, beside its > 2¹⁶): on
# data in any ordinary range such a value is rarely that small (cost45, session 45: z/√(x² + y²) computed that branch
# on every element, 1.8× the code before the rule).
FAR_BELOW = 2.0 ** -16


@dataclass(frozen=True)
class FarBranches:
    """The outputs (their indices) that are a select whose every branch but the last is taken where a far condition
    holds (:data:`FAR`), ``conditions`` those conditions (in the kernel's terms), ``only`` the temporaries nothing else
    needs (computed only where a far condition holds)."""
    outputs: tuple = ()
    conditions: tuple = ()
    only: frozenset = frozenset()
    leading: tuple = ()  # for each output, how many of its first branches are far (the rest: its near select)

    def near(self, k: int, result):
        """Output ``k``'s select less its far branches: its last branch, or a select of its near ones (the
        exp-dominant rule's x > 1024, x > 64 before the vanishing-series rule's |x| < 1.16, session 24)."""
        rest = _branches(result)[self.leading[self.outputs.index(k)]:]
        return rest[0].expr if len(rest) == 1 else sp.Piecewise(*rest)

    def far(self, k: int, result) -> tuple:
        """Output ``k``'s far branches."""
        return _branches(result)[:self.leading[self.outputs.index(k)]]

    def near_words(self, k: int, result) -> str:
        """How the comment over output ``k``'s near value calls it: "last branch", or "near branches"."""
        return "last branch" if len(self.far(k, result)) == len(_branches(result)) - 1 else "near branches"


def _branches(select) -> tuple:
    """The branches of ``select``, a select in its last branch taken as its own (the same values, in order)."""
    pairs = []
    while isinstance(select, sp.Piecewise) and select.args[-1].cond == sp.true:
        pairs += select.args[:-1]
        select = select.args[-1].expr
    return (*pairs, sp.functions.elementary.piecewise.ExprCondPair(select, sp.true))


def _is_far(cond, definitions: dict) -> bool:
    """Whether ``cond`` (a temporary or a relational, an Or of them, an And holding one) compares a value with a
    constant beyond ±FAR on the side away from 0 (x > 1000, x < −1000, 1000 < x, (x > 1000) & (t < 1)), or a value
    that is never negative (``_never_negative``) as below a positive constant at most FAR_BELOW (|x| < 2⁻¹⁶)."""
    cond = definitions.get(cond, cond)
    if isinstance(cond, sp.Or):
        return all(_is_far(c, definitions) for c in cond.args)
    if isinstance(cond, sp.And):  # (z > 1000) & (t < 1): within a far condition's elements
        return any(_is_far(c, definitions) for c in cond.args)
    if not isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)):
        return False
    lhs, rhs, big = cond.lhs, cond.rhs, isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan))
    if lhs.is_number and not rhs.is_number:  # 1000 < x: x > 1000
        lhs, rhs, big = rhs, lhs, not big
    if not rhs.is_number or lhs.is_number or not rhs.is_extended_real:
        return False
    if not big and 0 < rhs <= FAR_BELOW:  # |x| < 2⁻¹⁶: far where |x| is never negative
        return _never_negative(lhs, definitions)
    return bool(rhs >= FAR) if big else bool(rhs <= -FAR)


def _never_negative(value, definitions: dict, depth: int = 8) -> bool:
    """Whether ``value`` (a temporary or an expression of them) is |·|, an even power, or a max, sum or product of
    such values and non-negative numbers, once its temporaries are read through ``definitions`` (at most ``depth``
    deep): never negative."""
    value = definitions.get(value, value)
    if isinstance(value, (sp.Abs, sp.exp, nexp, exp_shift, sigmoid)) or (value.is_Pow and value.exp.is_even):
        return True  # (e^x and σ(u): the sigmoid-weighted-exps rule's terms σ(u)·e^x below 2⁻¹⁰⁰⁰, session 49)
    if depth <= 0:
        return False
    if value.is_Pow:  # a power of a value never negative (1/(1 + e^−|u|), σ as printed)
        return _never_negative(value.base, definitions, depth - 1)
    if isinstance(value, sp.Piecewise):
        return all(_never_negative(p.expr, definitions, depth - 1) for p in value.args)
    if isinstance(value, (sp.Max, sp.Min, sp.Add, sp.Mul)):
        return all(a.is_number and a >= 0 or _never_negative(a, definitions, depth - 1) for a in value.args)
    return False


def far_branches(assignments: list, results) -> FarBranches:
    """The outputs whose select takes every branch but its last only where a far condition holds (the focal loss's
    branches beyond |z| = 1000): NumPy computes each branch of a select on every element, so the emitter computes
    the last branch on every element and the far ones only on the elements where their conditions hold
    (:func:`_far_block`); the temporaries only those far branches need go there with them."""
    definitions = dict(assignments)
    outputs, conditions, leading = [], [], []
    for k, r in enumerate(results):
        if not (isinstance(r, sp.Piecewise) and r.args[-1].cond == sp.true and len(r.args) > 1):
            continue
        branches = _branches(r)
        n = 0  # the leading far branches: before any near one (a near condition first decides its elements)
        while n < len(branches) - 1 and _is_far(branches[n].cond, definitions):
            n += 1
        if n:
            outputs.append(k)
            leading.append(n)
            conditions += [c for _, c in branches[:n] if c not in conditions]
    if not outputs:
        return FarBranches()

    def needed(roots) -> set:  # the temporaries the expressions ``roots`` read, directly or through others
        seen, todo = set(), [s for e in roots for s in e.free_symbols if s in definitions]
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo += [u for u in definitions[s].free_symbols if u in definitions]
        return seen

    split = FarBranches(tuple(outputs), leading=tuple(leading))
    everywhere = [split.near(k, r) if k in outputs else r for k, r in enumerate(results)] + conditions
    # e^−|u| stays with the last branches even where only a far one reads it: the printer gives it to their σ(±u)
    # (``_sigmoid(u, e=E)``; the focal far ∂z's σ(z)·… alone made it far-only, and float32 focal computed e^−|z|
    # in each σ again: 0.100 → 0.111 s for 10⁶, session 19)
    shared = {t for t, e in assignments if isinstance(e, nexp)}
    kept = needed(everywhere + [definitions[t] for t in shared]) | shared  # e^−|u| and what it reads
    only = needed(results) - kept
    # a temporary no output reads that reads a far-only one goes with it (log(1 + focal(z, t)): CSE's t·pow_1, which
    # no output kept, was computed before the far block that defines pow_1: UnboundLocalError on every call, h-meas31)
    for t, e in assignments:
        if t not in kept and t not in only and any(s in only for s in e.free_symbols):
            only.add(t)
    return FarBranches(tuple(outputs), tuple(conditions), frozenset(only), tuple(leading))


def _far_block(far: FarBranches, order: list, kernel: Kernel, outputs: list, printer, temps: dict, named: dict) -> list:
    """The lines computing the far branches of ``far.outputs`` over the elements where a far condition holds: their
    indices ``_far`` (np.nonzero), nothing more where there are none (the ordinary data's case); else each array the
    branches read taken at those indices (the block's inputs and temporaries rebound: the block is done with them),
    the temporaries only they need, and each output's whole select written at those indices. Bit for bit the
    values of the select computed everywhere (every operation is elementwise)."""
    conditions = [printer.doprint(c) for c in far.conditions]
    definitions = dict(order)
    lines = [f"# far out ({', '.join(text(definitions.get(c, c).xreplace(named)) for c in far.conditions)}): each far "
             "branch computed "
             "on those elements alone (rarely any)",
             f"_far = np.nonzero({' | '.join(conditions) if len(conditions) > 1 else conditions[0]})[0]",
             "if _far.size:"]
    inner = []
    for temp, expr in order:
        if temp in far.only:
            inner.append(f"# {temporary_comment(temps[temp], expr, named)}")
            inner.append(f"{temps[temp]} = {printer.doprint(expr)}")
            printer.definitions[temp] = expr
    for k in far.outputs:
        inner.append(f"# {output_comment(outputs[k], kernel.outputs[k])}")
        inner.append(f"{outputs[k]}[_far] = {printer.doprint(kernel.results[k])}")
    # the arrays the lines read that the block computed before: its inputs and the temporaries outside far.only
    # (a constant temporary, log 3, is a Python float: not indexed)
    arrays = [printer.names[i.symbol] for i in kernel.inputs]
    arrays += [temps[t] for t, e in order if t not in far.only and e.free_symbols]
    code = "\n".join(line for line in inner if not line.startswith("#"))
    read = [a for a in arrays if re.search(rf"(?<![\w.]){re.escape(a)}(?!\w)", code)]
    if read:
        lines.append(f"    {', '.join(read)} = "
                     f"{', '.join(f'{a}[_far]' for a in read)}")
    return lines + ["    " + line for line in inner]


def domain_checks(kernel: Kernel, printer, helpers: set) -> list[str]:
    """The lines refusing data outside the domains of the functions the formula calls (Kernel.domains:
    gaussian_nll(x, t, v) at a negative v), each argument printed by ``printer`` over the whole arrays."""
    lines = []
    for check in kernel.domains:
        helpers.add("_refuse_outside")
        with_errors = "    with np.errstate(all=\"ignore\"):  # an argument that is NaN passes\n    " \
            if not check.expr.is_Symbol else ""
        lines.append(f"    # {check.function}'s {check.argument} = {text(check.expr)} must be "
                     f"{domain_bound(check.low, check.high)}, as torch requires (symnet.registry.ArgumentDomain)")
        lines.append(f"{with_errors}    _refuse_outside({printer.doprint(check.expr)}, {check.low!r}, {check.high!r}, "
                     f"{check.message('{value}')!r})".replace("inf,", "np.inf,"))
    return lines


def emit_module(kernels: list[Kernel], source: str, regenerate: str) -> str:
    """A standalone module: header, helpers, then one function per kernel."""
    from ...families.dense import LAYER_HELPERS, LayerKernel, emit_layer_function
    from .rowwise import HELPER_IMPORTS, ROW_HELPERS, emit_row_function
    from ...families.rowwise import RowKernel
    used: set = set()
    functions = [emit_row_function(k, used) if isinstance(k, RowKernel) else
                 emit_layer_function(k, used) if isinstance(k, LayerKernel) else emit_function(k, used)
                 for k in kernels]
    rules = {r.name: r.why for k in kernels for r in getattr(k, "rules", ())}
    header = ['"""Generated by symnet from {} — do not edit.'.format(source), ""]
    for k in kernels:
        header.append(f"{k.name}: {k.formula}")
    if rules:
        header += ["", "Stability rules applied:"] + [f"  {name}: {why}" for name, why in rules.items()]
    header += ["", f"Regenerate with: {regenerate}", '"""']
    used |= numpy_helper_closure(used)  # what a used helper calls
    every = {**HELPERS, **ROW_HELPERS, **LAYER_HELPERS, **NUMPY_HELPERS}
    helpers = generated_last(every, used, "numpy")
    body = "\n\n".join(helpers + functions)
    block = f"_BLOCK = {BLOCK}  # elements per block: the temporaries of a block stay in cache\n" \
        + ("\n" if body.startswith("_") else "\n\n") if "_BLOCK" in body else "\n"
    imports = sorted({i for h in used for i in HELPER_IMPORTS.get(h, ())}, key=lambda i: (i.startswith("from"), i))
    imports = "\n".join(imports + ["", "import numpy as np"] if imports else ["import numpy as np"])
    return "\n".join(header) + "\n" + imports + "\n\n" + block + body
