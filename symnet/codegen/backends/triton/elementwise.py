"""The Triton elementwise kernel skeleton; its expressions are printed by the Triton printer
(:class:`~symnet.codegen.backends.triton.printer.TritonPrinter`, re-exported here), which
every Triton kernel family uses.

The elementwise skeleton loads every input once, computes all outputs of the kernel's
CSE'd assignment list in registers (float32, or float64 for float64 inputs; bfloat16 and
float16 inputs are upcast), and stores each output once. A loss reduction, when asked
for, is a per-block partial sum written beside the outputs, and the last program to
finish (an atomic counter) adds the partial sums up in a fixed order: no second pass
over memory, no second launch, and the same bits every run.

Names: the launcher is called with the user's names (``symnet.compile`` binds them to its
parameters in order); inside the kernel, the launcher and the custom op, each input and
output is a local identifier from :func:`~symnet.codegen.ir.local_names` that avoids
every name this skeleton uses (``tl``, ``torch``, ``mask``, ``n``, ``WRITE_VALUE``, the
temporaries, named by their math (``sig_z``), the helpers), and whose pointer ``x_ptr`` is free too. An
input may not be named ``reduction``, the launcher's own keyword argument.
"""
from __future__ import annotations

import re

import sympy as sp

from ....errors import InvalidNameError, SymnetError, domain_bound
from ....registry import GENERATED_HELPERS, TRITON_DEVICE_HELPERS
from ....render import text
from ...ir import COMMON_NAMES, CodeName, Kernel, local_names, output_comment, temporary_comment, temporary_names
from ...doubleword import REPAIR_BITS, double_word_block, generated_last
from ...rewrite import WidenedBase, is_compensated_sum
from ..numpy.elementwise import FarBranches, _sigmoid_float64, far_branches
from .printer import TRITON_HELPERS, TritonPrinter

__all__ = ["TritonPrinter", "emit_elementwise", "emit_triton_module", "assemble", "reserved_names",
           "TRITON_HELPERS", "HOST_HELPERS"]

# Host helpers: argument checks, shared by every launcher of a module.
HOST_HELPERS = {
    "_tensors": '''\
_FLOATS = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def _tensors(**named):
    """The arguments as contiguous tensors of one float dtype, shape and device, checked by name."""
    first = None
    out = []
    for name, x in named.items():
        if not isinstance(x, torch.Tensor):
            hint = ""
            if isinstance(x, (int, float)) and not isinstance(x, bool):  # b=0.5: the NumPy function takes it
                hint = (f"; for the number {x!r} pass torch.full_like(t, {float(x)!r}), t another argument "
                        "(tensors of one shape and dtype), or use symnet.torch.from_formula, which takes numbers")
            raise TypeError(f"argument {name!r} must be a torch.Tensor, not {type(x).__name__}{hint}")
        if x.dtype not in _FLOATS:
            raise TypeError(f"argument {name!r} has dtype {x.dtype}; the kernel takes float32, float64, "
                            "bfloat16 or float16")
        if first is None:
            first = (name, x)
            if not x.is_meta:  # a meta tensor (no data): the launcher returns outputs of its shape and dtype alone
                _device_ok(name, x)
        else:
            fname, f = first
            if x.shape != f.shape:
                raise ValueError(f"argument {name!r} has shape {tuple(x.shape)} but {fname!r} has shape "
                                 f"{tuple(f.shape)}; pass tensors of one shape (symnet does not broadcast)")
            if x.dtype != f.dtype:
                raise TypeError(f"argument {name!r} is {x.dtype} but {fname!r} is {f.dtype}; pass one dtype")
            if x.device != f.device:
                raise ValueError(f"argument {name!r} is on {x.device} but {fname!r} is on {f.device}")
        out.append(x.contiguous())  # a strided view is copied once: the kernel reads flat memory
    return out
''',
    "_device_ok": '''\
def _device_ok(name, x):
    if x.is_meta:  # (the interpreter reached torch's "Cannot copy out of meta tensor"; symnet.torch's fake kernels)
        raise ValueError(f"argument {name!r} is on the meta device, which holds no data; the Triton kernels run on "
                         "a CUDA device (symnet.torch's ops take meta tensors: they return outputs of the right shapes)")
    if x.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(f"argument {name!r} is on {x.device}; the Triton kernels run on a CUDA device "
                         "(or on the CPU: set TRITON_INTERPRET=1 before triton is imported)")
''',
    "_registered": '''\
def _registered(name):
    namespace, op = name.split("::")
    return hasattr(getattr(torch.ops, namespace), op)
''',
    "_no_gradient": '''\
def _no_gradient(ctx, i, name):
    """No generated gradient for input i: an error where it is asked for, never a silent None."""
    if ctx.needs_input_grad[i]:
        raise RuntimeError(f"symnet generated no gradient for argument {name!r} of this op (leave it out of "
                           "autograd with .detach(), or use symnet.torch, which differentiates every input)")
''',
    "_refuse_outside": '''\
def _refuse_outside(values, low, high, message):
    """Refuse data outside [low, high] that a function of the formula takes (gaussian_nll's variance ≥ 0,
    bce's p in [0, 1]), as torch refuses them (reading the answer back to the host, as torch's own check
    does): a DomainError (a ValueError) whose line is ``message`` with the first such entry for {value}.
    NaN passes: it propagates, as torch's checks let it; a meta tensor holds no data to refuse."""
    if values.is_meta:
        return
    bad = (values < low) | (values > high)
    if bool(bad.any()):
        raise _domain_error(message.replace("{value}", f"{float(values[bad].reshape(-1)[0]):g}"))
''',
    "_refuse_flagged": '''\
def _refuse_flagged(flags, messages):
    """Refuse the data where the kernel flagged an argument outside its domain (flags[j] = 1: the
    argument of messages[j], an expression of the inputs the kernel computed), in that message's line."""
    if bool(flags.any()):
        raise _domain_error(messages[int(flags.nonzero()[0, 0])].replace(" ({value})", ""))
''',
    "_domain_error": '''\
def _domain_error(message):
    """symnet's DomainError (a ValueError) of ``message``, where symnet is installed (the module stands alone)."""
    try:
        from symnet.errors import DomainError
    except ImportError:
        DomainError = ValueError
    return DomainError(message)
''',
    "_flagged_blocks": '''\
_REPAIRS = {}  # kernel name → how many times its repair kernel was launched (this process)


def _flagged_blocks(tier, every):
    """The blocks the main kernel flagged for its repair kernel (tier[b] ≠ 0; its bits the tiers:
    symnet.codegen.doubleword.REPAIR_BITS), grouped by their bits: a list of (bits, int32 block ids on the device),
    one for each value of the flags present, so that each launch of the repair kernel (its specialisation REPAIR =
    bits) compiles those tiers alone; [] where it flagged none. One read back to the host (the count of blocks of
    each value): the launch waits for the main kernel there. While torch.compile traces the launcher (the
    triton_op path: a data-dependent value cannot be traced) or a CUDA graph is captured (reduce-overhead,
    torch.cuda.graphs), nothing can be read back: every block is returned with ``every`` (the kernel's every
    tier), so the repair kernel recomputes all of them (as accurate, slower) instead of failing; likewise for a
    fake tensor (torch.library.opcheck's and the tracers' FakeTensorMode: no data to read)."""
    from torch._subclasses.fake_tensor import is_fake
    if torch.compiler.is_compiling() or is_fake(tier) or tier.is_cuda and torch.cuda.is_current_stream_capturing():
        return [(every, torch.arange(tier.numel(), dtype=torch.int32, device=tier.device))]
    counts = torch.bincount(tier, minlength=every + 1).tolist()
    if counts[0] == tier.numel():
        return []
    order = torch.argsort(tier, stable=True).to(torch.int32)  # the block ids by their flags, each value's in order
    out, first = [], counts[0]
    for bits in range(1, len(counts)):
        if counts[bits]:
            out.append((bits, order[first:first + counts[bits]]))
        first += counts[bits]
    return out
''',
    "_repair_programs": '''\
_SMS = {}  # CUDA device index → its streaming multiprocessors


def _repair_programs(x, blocks):
    """The programs of a float32 repair kernel (REPAIR_BITS["float32"]): four a streaming multiprocessor (two under
    Triton's interpreter), at most one a block. They take the blocks the main kernel listed in turn, the list's
    length read on the device: nothing is read back to the host, so torch.compile and CUDA graphs take it as it is,
    and where no block is listed they return at once."""
    if not x.is_cuda:
        return max(1, min(blocks, 2))
    index = x.device.index if x.device.index is not None else torch.cuda.current_device()
    if index not in _SMS:
        _SMS[index] = torch.cuda.get_device_properties(index).multi_processor_count
    return max(1, min(blocks, 4 * _SMS[index]))
''',
    "_reduction": '''\
def _reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    return reduction
''',
}


# The names the elementwise kernel, its launcher and its custom op use besides COMMON_NAMES
# and the helpers' names; user names get local identifiers that avoid them, the temporaries
# (named by their math: sig_z, one_minus_y) and, with each local x, its pointer x_ptr.
SKELETON_NAMES = frozenset({
    "pid", "offs", "mask", "n", "divisor", "partial_ptr", "count_ptr", "domain_ptr",  # the @triton.jit kernel
    "tier_ptr", "ids_ptr", "listed", "slot",  # its repair kernel's
    "WRITE_VALUE", "REDUCE", "F64", "BLOCK", "WARPS", "REPAIR",  # its constexprs, and the module's tuning
    "reduction", "f64", "block", "blocks", "reduce", "partial", "count", "domain", "tier", "flagged", "bits",  # the launcher
    "ctx", "inputs", "output", "grads", "saved", "g", "parts", "partials",  # the custom op's autograd
    "NoneType",  # a keyword of torch's schema parser, which reads the custom op's parameter names
})
LOCAL_FORMS = ("{}", "{}_ptr")


def _static_names(kernel: Kernel) -> frozenset:
    return COMMON_NAMES | SKELETON_NAMES | set(TRITON_HELPERS) | set(TRITON_DEVICE_HELPERS) | set(HOST_HELPERS) \
        | set(GENERATED_HELPERS["triton"]) | {kernel.name, f"{kernel.name}_value"}


def temporaries(kernel: Kernel) -> dict:
    """Each CSE temporary of ``kernel`` → its identifier, named by its math (sig_z, one_minus_y):
    :func:`~symnet.codegen.ir.temporary_names`, avoiding the skeleton's names and the inputs'
    and outputs' names with their pointers (``x_ptr``)."""
    publics = [i.name for i in kernel.inputs] + [o.name for o in kernel.outputs]
    users = {f.format(n) for n in publics for f in LOCAL_FORMS}
    static = _static_names(kernel)
    return temporary_names(kernel, lambda name: name in static or name in users)


def reserved_names(kernel: Kernel):
    """Whether a name is one the generated kernel, launcher or custom op of ``kernel`` uses:
    the skeleton's, the helpers', and its temporaries' (:func:`temporaries`)."""
    names = _static_names(kernel) | set(temporaries(kernel).values())
    return names.__contains__


def _local_names(kernel: Kernel) -> dict:
    """The user's name of each input and output → its identifier in the generated code."""
    if kernel.name in COMMON_NAMES | {"BLOCK", "WARPS"}:  # a module-level def would hide it from the code
        raise InvalidNameError(f"the kernel name {kernel.name!r} is used by the generated module itself "
                               "(a Python builtin or module name); choose another")
    if any(i.name == "reduction" for i in kernel.inputs):
        raise SymnetError("an input is named 'reduction', the Triton launcher's own keyword argument; "
                          "rename the variable")
    return local_names([i.name for i in kernel.inputs] + [o.name for o in kernel.outputs],
                       reserved_names(kernel), LOCAL_FORMS)


def _widened(kernel: Kernel) -> bool:
    """Whether the kernel holds a widened sum (symnet.codegen.doubleword), where NumPy's float32 block is float64."""
    return any(e.has(WidenedBase) for e in [e for _, e in kernel.assignments] + list(kernel.results))


# why a kernel computes in float64 for every input dtype, each output rounded once as stored (:func:`_float64_reason`)
FLOAT64_REASONS = {
    "compensated": ("a compensated sum", "S², the quotient and the product in float32 gave a 24-term softmax's gradient "
                                         "2.39 ULP, 0.49 so"),
    # session 39 (h-triton39), as NumPy's since h-sig37: the sigmoid kernel's float32 σ 3.69 ULP at z = −1.9717, σ′
    # 5.18 at −4.1391 under the interpreter (E = e^−|z|, 1 + E, r = 1/(1 + E), E·r and σ·(1 − σ) rounded each), 0.50 in
    # float64 (tests/test_triton39.py). GPU cost unmeasured (no device): float64 for exp, a quotient and two products a
    # value, on an H100 half float32's rate, where the kernel reads 4 bytes and writes 8 a value
    "sigmoid": ("σ", "float32's e^−|u|, 1 + E, 1/(1 + E) and E·r rounded each gave σ 3.69 ULP and σ′ 5.18, 0.50 so"),
}


def _float64_reason(kernel: Kernel) -> str | None:
    """The key of FLOAT64_REASONS where the kernel computes in float64 for every input dtype: a compensated sum, or σ
    (the sigmoid pair's e^−|u|; NumPy's _sigmoid_float64) in a kernel without a widened sum (one with keeps float32,
    its float32 repair kernel taking a block whose outputs are past their bounds in float64); None elsewhere."""
    if _compensated(kernel):
        return "compensated"
    parts = [e for _, e in kernel.assignments] + list(kernel.results)
    if not _widened(kernel) and _sigmoid_float64(parts):
        return "sigmoid"
    return None


def _compensated(kernel: Kernel) -> bool:
    """Whether the kernel has a sum the compensated-sum rule widened: it then computes in float64 for every input
    dtype (:func:`~symnet.codegen.rewrite.is_compensated_sum`)."""
    return any(is_compensated_sum(n) for e in [e for _, e in kernel.assignments] + list(kernel.results)
               for n in e.atoms(WidenedBase))


def _double_word_outputs(kernel: Kernel, printer, local: dict, temps: dict, outputs: list) -> list:
    """The statements that compute every output again in double-word arithmetic where the inputs are float64 (a
    branch resolved when Triton compiles; :func:`~symnet.codegen.doubleword.double_word_block`: e^(a_i − m), S, S²
    and the quotients), each rounded once, kept where it and the float64 output are finite: as the NumPy backend
    (numpy/elementwise.py ``_double_word_outputs``; a written 24-term softmax in float64: 2.92 → 0.50 ULP over 60
    random points, tests/test_sm18.py)."""
    names = {i.symbol: local[i.name] for i in kernel.inputs}
    taken = set(temps.values()) | set(local.values()) | {f"{v}_ptr" for v in local.values()} | {
        "pid", "offs", "mask", "n", "divisor", "tl", "triton", "torch", "WRITE_VALUE", "REDUCE", "F64", "BLOCK",
        "partial_ptr", "count_ptr", "domain_ptr"}
    lines, his, needs = double_word_block(list(kernel.assignments), kernel.results, "triton", printer, names, taken)
    for helper in needs:
        printer._need(helper)
    inf = 'float("inf")'
    out = ["if F64:  # every output again in double-word arithmetic from the inputs (a compensated sum: a written "
           "softmax's terms e^(a_i − m), S² and the quotient each rounded in float64 gave 2.92 ULP), rounded once"]
    out += ["    " + line for line in lines]
    out += [f"    {o} = tl.where((tl.abs({hi}) < {inf}) & (tl.abs({o}) < {inf}), {hi}, {o})" for o, hi in zip(outputs, his)]
    return out


def _far_block(far: FarBranches, kernel: Kernel, outputs: list, printer, temps: dict, named: dict) -> list:
    """The lines computing the far branches of ``far.outputs`` (selects whose every branch but the last is taken
    only beyond a far condition: the square-sum-power rule's |x| ≥ 2⁶⁰, the focal loss's |z| > 1000) in a block
    holding an element where a far condition holds, a scalar branch on the block: the temporaries only they need,
    then each output's whole select over the one it holds (its last branch, computed above on every element; the
    same dtype). A block of ordinary data computes the last branch alone, where tl.where computed every branch on
    every element (as NumPy's elementwise.far_branches)."""
    definitions = dict(kernel.assignments)
    conditions = [printer.doprint(c) for c in far.conditions]
    conditions = conditions[0] if len(conditions) == 1 else " | ".join(f"({c})" for c in conditions)
    lines = [f"# far out ({', '.join(text(definitions.get(c, c).xreplace(named)) for c in far.conditions)}): the far "
             "branches, in a block holding an element that takes one (rarely any)",
             f"if tl.max(tl.where(mask & ({conditions}), 1, 0), axis=0) > 0:"]
    for temp, expr in kernel.assignments:
        if temp in far.only:
            lines.append(f"    # {temporary_comment(temps[temp], expr, named)}")
            lines.append(f"    {temps[temp]} = {printer.doprint(expr)}")
    for index in far.outputs:
        v, result = outputs[index], kernel.results[index]
        lines.append(f"    # {output_comment(v, kernel.outputs[index])}")
        code = v  # the select's first true branch, its near ones the value above
        for value, c in reversed(far.far(index, result)):
            code = f"tl.where({printer.doprint(c)}, {printer.doprint(value)}, {code})"
        lines.append(f"    {v} = ({code}).to({v}.dtype)")
    return lines


def emit_elementwise(kernel: Kernel, helpers: set) -> str:
    """The @triton.jit kernel, its launcher, and (in emit_autograd) the torch interface."""
    helpers.update({"_tensors", "_device_ok", "_reduction"})
    local = _local_names(kernel)
    inputs = [local[i.name] for i in kernel.inputs]
    outputs = [local[o.name] for o in kernel.outputs]
    n_values = sum(1 for o in kernel.outputs if not o.meaning.startswith("∂"))
    temps = temporaries(kernel)
    printer = TritonPrinter({**{i.symbol: local[i.name] for i in kernel.inputs}, **temps}, helpers,
                            constant_dtype=f"{local[kernel.inputs[0].name]}.dtype")
    # a widened sum's third tier past doubleword.TRITON_TIER_INLINE, and its scaled tier, go to the repair kernel (the
    # same kernel at REPAIR = their bits, doubleword.REPAIR_BITS): printer.repaired names the functions that took one
    printer.repair = ("REPAIR", "tier_ptr + pid", "mask")
    printer.definitions = dict(kernel.assignments)  # (c·b^u with b^u a temporary: _exp_overflow)
    named = {t: CodeName(name) for t, name in temps.items()}  # the comments use the code's names
    k = f"_{kernel.name}_kernel"
    ptrs = [f"{v}_ptr" for v in inputs + outputs]
    reducible = n_values == 1
    # the arguments with a domain (Kernel.domains): an input is checked by the launcher, an expression of
    # the inputs (gaussian_nll(x, t, v − 1)) by the kernel, which flags it in domain_ptr[j]
    host_checks = [c for c in kernel.domains if c.expr.is_Symbol]
    flagged = [c for c in kernel.domains if not c.expr.is_Symbol]
    if flagged:
        ptrs.append("domain_ptr")
    body = ["pid = tl.program_id(0)",
            "offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # int64: no overflow past 2³¹ elements",
            "mask = offs < n"]
    for v in inputs:
        body.append(f"{v} = tl.load({v}_ptr + offs, mask=mask, other=1.0)")
    reason = _float64_reason(kernel)
    wide, compensated = reason is not None, reason == "compensated"
    # a float32 kernel's double words go to the repair kernel too (doubleword.REPAIR_BITS["float32"]), except where
    # every dtype computes in float64 (wide: the float32 branch is never compiled)
    printer.repair_float32 = not wide
    printer.float32_products = not wide  # a long product in float64 (TritonPrinter._wide_product)
    if wide:  # as the NumPy backend computes a float32 block with a widened sum: rounded once, at the store
        what, why = FLOAT64_REASONS[reason]
        body.append(f"# every dtype computes in float64 ({what}: {why}); each output rounded once, as stored")
        body += [f"{v} = _upcast({v}, tl.float64)" for v in inputs]
    else:
        body.append("if F64:  # float64 stays float64 (gradcheck); everything else computes in float32")
        body += [f"    {v} = {v}.to(tl.float64)" for v in inputs]
        body.append("else:")
        body += [f"    {v} = _upcast({v}, tl.float32)" for v in inputs]
    helpers.add("_upcast")
    for j, check in enumerate(flagged):
        body.append(f"# {check.function}'s {check.argument} = {text(check.expr)} must be "
                    f"{domain_bound(check.low, check.high)}, as torch requires: flagged in domain_ptr[{j}]")
        argument = printer.doprint(check.expr)  # inline: a name of its own could be a user's input's
        outside = " | ".join(f"({argument} {op} {bound!r})" for op, bound in (("<", check.low), (">", check.high))
                             if abs(bound) != float("inf"))
        body.append(f"if tl.max(tl.where(mask & ({outside}), 1, 0), axis=0) > 0:")
        body.append(f"    tl.store(domain_ptr + {j}, 1)")
    codes = {}  # each temporary and output → its printed code (what the repair kernel recomputes is read from it)
    hazards = []  # float32: where a block is not within its bound outside the widened sums (_float32_hazards)
    far = FarBranches() if compensated else far_branches(list(kernel.assignments), kernel.results)
    # the temporaries printed so far: a product is taken again by exponents where one of them holding a product of its
    # factors is not normal (ConditionalPrinting._held_subproducts; printer.definitions holds every temporary at once)
    printer.preceding = set()
    for temp, expr in kernel.assignments:
        if temp in far.only:
            continue  # computed in a block where a far branch is taken, below
        body.append(f"# {temporary_comment(temps[temp], expr, named)}")
        codes[temps[temp]] = printer.doprint(expr)
        printer.preceding.add(temp)
        body.append(f"{temps[temp]} = {codes[temps[temp]]}")
        hazard = None if wide else _subnormal_exponential(temps[temp], expr, printer)
        if hazard:
            hazards.append(hazard)
    for index, (o, v, result) in enumerate(zip(kernel.outputs, outputs, kernel.results)):
        body.append(f"# {output_comment(v, o)}")
        if index in far.outputs:  # its near branches on every element, the far ones below in a block that takes one
            body.append(f"# (here its {far.near_words(index, result)}; its far branches below)")
            result = far.near(index, result)
        code = printer.doprint(result)
        if not result.free_symbols:  # a constant output: a full block of it
            code = f"tl.zeros([BLOCK], tl.float32) + {code}"
        codes[v] = code
        body.append(f"{v} = {code}")
        hazard = None if wide or index in far.outputs else _cancelling_sum(v, result, printer)
        if hazard:
            hazards.append(hazard)
        if not wide:  # (after the far block below too: the flags are or-ed at the block's end)
            hazards.append(_overflowed(v))
        if not wide and _widened(kernel) and _rational(o.expr, kernel):
            hazards.append(_underflowed(v))
    if far.outputs:
        far_lines = _far_block(far, kernel, outputs, printer, temps, named)
        for line in far_lines:  # (a far branch, or a temporary only they take, may call a function whose tier is
            # in the repair kernel): each output's far select beside its last branch, each such temporary
            assigned = re.match(r"\s*(\w+) = (.*)$", line)
            if assigned:
                codes[assigned[1]] = codes.get(assigned[1], "") + "\n" + assigned[2]
        body += far_lines
    if compensated:
        body += _double_word_outputs(kernel, printer, local, temps, outputs)
    # each output → the tiers (REPAIR_BITS) of the functions its code reaches: the repair kernel's specialisations that
    # store (and so compute) it
    every = 0
    for bits in printer.repaired.values():
        every |= bits
    tiers = {v: 0 for v in outputs}
    for bit in (b for b in (1, 2, 4, 8) if every & b):
        for v in _repaired(codes, {f for f, bits in printer.repaired.items() if bits & bit}, outputs):
            tiers[v] |= bit
    bit32 = REPAIR_BITS["float32"]
    if hazards and not wide and _widened(kernel):  # a widened sum: NumPy's float32 block is float64 (_float32_hazards)
        every |= bit32
    if hazards and every & bit32:  # the float32 repair kernel takes such a block whole, in float64 (_float32_hazards)
        body = _float32_hazards(body, hazards, bit32)
        for v in outputs:
            tiers[v] |= bit32
    repaired = {v for v in outputs if tiers[v]}
    for index, v in enumerate(outputs):
        store = f"tl.store({v}_ptr + offs, _stored({v}, {v}_ptr), mask=mask)"  # bfloat16 rounded in the bits
        if index < n_values:  # (the launcher's WRITE_VALUE is False in a repair kernel where the value is not repaired)
            body.append("if WRITE_VALUE:")
            body.append("    " + store)
        elif repaired and not tiers[v]:  # the repair kernel stores (and so computes) what its tiers change only
            body.append("if not REPAIR:")
            body.append("    " + store)
        elif repaired and tiers[v] != every:  # (a specialisation of the other tiers alone: not)
            body.append(f"if not REPAIR or REPAIR & {tiers[v]}:")
            body.append("    " + store)
        else:
            body.append(store)
    helpers.add("_stored")
    repaired32 = bool(every & bit32)  # a float32 kernel's double words in the repair kernel: it takes a list
    sum_last = []
    if reducible:
        v = outputs[0]
        helpers.add("_sum_when_last")
        # (the partial sums' count is the blocks', not the programs': the repair kernel's are the flagged blocks)
        programs = "tl.cdiv(n, BLOCK)" if repaired else "tl.num_programs(0)"
        body += ["if REDUCE:  # this block's partial sum; the last program to finish adds the partial sums up",
                 f"    tl.store(partial_ptr + pid, tl.sum(tl.where(mask, {v}, 0.0), axis=0)"
                 + (".to(partial_ptr.dtype.element_ty))" if wide or hazards and repaired32 else ")")]
        sum_last = [f"_sum_when_last(partial_ptr, {programs}, count_ptr, {v}_ptr, divisor, BLOCK)  # Σ, or Σ/n"]
        if not repaired32:
            body += ["    " + sum_last[0]]
    if repaired:  # the repair kernel's programs take the flagged blocks, by their ids
        body[0] = (f"pid = {_LISTED_BLOCK.format('tl.load(ids_ptr + tl.program_id(0))')} if REPAIR else tl.program_id(0)"
                   "  # the repair kernel: a flagged block")
    parameters = ptrs + (["tier_ptr", "ids_ptr"] if repaired else []) + [
        "partial_ptr", "count_ptr", "n", "divisor", "WRITE_VALUE: tl.constexpr", "REDUCE: tl.constexpr",
        "F64: tl.constexpr"] + (["REPAIR: tl.constexpr"] if repaired else []) + ["BLOCK: tl.constexpr"]
    sig = ", ".join(parameters)
    jit = ["@triton.jit", f"def {k}({sig}):", f'    """{kernel.formula}: one block of elements per program.'
           + (_REPAIR_DOC if repaired else "") + '"""']
    if repaired32:  # the block's work a function of its own: the main kernel's one block, the repair kernel's list
        block_fn = f"_{kernel.name}_block"
        passed = ", ".join(a.split(":")[0] for a in parameters)
        jit += _float32_repair_kernel(block_fn, passed, sum_last)
        jit += ["", "", "@triton.jit", f"def {block_fn}(pid, {sig}):",
                '    """The block pid: its outputs (those of the tiers REPAIR computes) and its partial sum stored."""']
        jit += ["    " + b for b in body[1:]]
    else:
        jit += ["    " + b for b in body]

    # the launcher
    value_doc = [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    launcher = [f"def {kernel.name}({', '.join(inputs)}, *, reduction=\"none\"):",
                f'    """{kernel.formula}, and its gradients, in one pass over memory.',
                "",
                "    Arguments: tensors of one shape, dtype (float32, float64, bfloat16, float16) and device;",
                "    a view (sliced, offset, transposed, expanded) is copied to contiguous memory first, and",
                "    the outputs are new contiguous tensors.",
                "    reduction: 'none' (the value entry by entry), or 'sum'/'mean' of it (accumulated in",
                "    float32, or float64 for float64 inputs, without a second pass over memory: each",
                "    program sums its block, the last to finish adds those up: no second kernel over the",
                "    partial sums, only the zeroing of its counter before, and no host sync).",
                *(["    float64: one read of a bool back to the host, whether a block needs the repair kernel",
                   "    (a tier the main kernel does not compile, doubleword.TRITON_TIER_INLINE), which then",
                   "    runs on those blocks alone."] if repaired else []),
                "",
                f"    Returns ({', '.join(o.name for o in kernel.outputs)}):", *value_doc, '    """',
                f"    {', '.join(inputs)}{',' if len(inputs) == 1 else ''} = "
                f"_tensors({', '.join(f'{i.name}={v}' for i, v in zip(kernel.inputs, inputs))})",
                "    _reduction(reduction)"]
    for check in host_checks:
        helpers.add("_refuse_outside")
        launcher.append(f"    # {check.function}'s {check.argument} = {text(check.expr)} must be "
                        f"{domain_bound(check.low, check.high)}, as torch requires (symnet.registry.ArgumentDomain)")
        launcher.append(f"    _refuse_outside({ {i.symbol: local[i.name] for i in kernel.inputs}[check.expr]}, "
                        f"{_bound(check.low)}, {_bound(check.high)}, {check.message('{value}')!r})")
    if host_checks:
        helpers.add("_domain_error")
    if not reducible:
        launcher.append('    if reduction != "none":')
        launcher.append(f'        raise ValueError("{kernel.name} has {n_values} value outputs; reduction needs one")')
    first = inputs[0]
    # a widened sum goes double-word in float32 too where float64 is not enough (doubleword.widened_function): half
    # the block, as float64, whose entries a thread compile without spilling (bce_logits' float32 kernel at the full
    # block spilled 4,168 bytes a thread for sm_90 and took 29 CPU s to compile, 12 at half; session 20)
    widened = _widened(kernel)
    launcher += [f"    n = {first}.numel()",
                 f"    f64 = {first}.dtype == torch.float64",
                 # float64 inputs add the double-word block (_double_word_outputs): two entries a thread, where eight
                 # made the written 24-term softmax's kernel 129 s of CPU to compile for sm_90 (ptxas spilling 28 KB)
                 "    block = BLOCK // 8 if f64 else BLOCK // 2  # float64 arithmetic for every dtype: half the block; "
                 "an eighth with the double words" if compensated else
                 "    block = BLOCK // 2  # float64 arithmetic for every dtype: half the block" if wide else
                 "    block = BLOCK // 8 if f64 else BLOCK // 2  # the widened sums' double words (float32: where float64 "
                 "is not enough) at the entries a thread of float64; float64: two, with their triple words" if widened else
                 # a quotient taken again by exponents (_taken_far: float64 for float32 too, frexp's integers in
                 # float64): 0.001/(x·y)'s float32 kernel took 178 registers a thread for sm_90 at the full block, 120
                 # at half; float64 193 at half, 120 at a quarter (48 and 106 without it); x·y/(z·w) 215 and 189 so
                 # (104, 157), none spilled (session 35, benchmarks/sm90_compile.py's compiler)
                 "    block = BLOCK // 4 if f64 else BLOCK // 2  # a quotient taken again in float64 (_taken_far): "
                 "half the block's entries a thread" if any("_taken_far(" in line for line in body) else
                 "    block = BLOCK // 2 if f64 else BLOCK",
                 "    blocks = triton.cdiv(n, block)"]
    launcher.append("    reduce = reduction != \"none\"")
    for index, v in enumerate(outputs):
        if index < n_values:
            launcher.append(f"    {v} = torch.empty((), dtype={first}.dtype, device={first}.device) if reduce "
                            f"else torch.empty_like({first})")
        else:
            launcher.append(f"    {v} = torch.empty_like({first})")
    launcher += ["    if reduce:  # the blocks' partial sums, and the count of programs finished",
                 "        partial = torch.empty(blocks, dtype=torch.float64 if f64 else torch.float32, "
                 f"device={first}.device)",
                 f"        count = torch.zeros({2 if repaired32 else 1}, dtype=torch.int32, device={first}.device)"
                 + ("  # (the float32 repair kernel's the second)" if repaired32 else ""),
                 "    else:",
                 f"        partial = count = {first}  # not read"]
    args = inputs + outputs
    # a widened sum is computed in double-word arithmetic (symnet.codegen.doubleword) in a float64 kernel, and in a
    # float32 one where its float64 body's error bound is not within 2⁻³⁰ of it (session 20; before, a float32
    # kernel took the float64 body): Dekker's splitting and products are exact only if no a·b + c is contracted
    # to one FMA, so no dtype fuses
    if repaired:
        helpers.add("_flagged_blocks")
        if repaired32:
            launcher.append(f"    tier = torch.zeros(blocks if f64 else 2 * blocks + 1, dtype=torch.int32, "
                            f"device={first}.device)  # each block's flags (float32: then the list of the flagged "
                            "blocks and its length)")
        else:
            launcher.append(f"    tier = torch.zeros(blocks if f64 else 1, dtype=torch.int32, device={first}.device)  "
                            "# the blocks flagged for the repair kernel (its tiers: float64)")
    exact = widened
    fusion = ", enable_fp_fusion=False" if exact else ""
    if exact:
        launcher.append("    # the widened sums in double-word arithmetic (float32: where float64 is not enough), whose "
                        "products need a·b + c rounded twice")
    if flagged:
        helpers.update({"_refuse_flagged", "_domain_error"})
        launcher.append(f"    domain = torch.zeros({len(flagged)}, dtype=torch.int32, device={first}.device)  "
                        "# an argument outside its domain, flagged by the kernel")
        args = args + ["domain"]
    if repaired:
        args = args + ["tier"]
    flags = ", REPAIR=0" if repaired else ""
    # a meta tensor holds no data: the outputs' shapes and dtypes alone, as the op's fake kernel (session 35: the
    # interpreter's launch reached torch's "Cannot copy out of meta tensor")
    launcher += [f"    if n and not {first}.is_meta:  # (meta: no data, the outputs' shapes and dtypes alone)",
                 f"        {k}[(blocks,)]({', '.join(args + (['tier if f64 else tier[blocks:]'] if repaired32 else ['tier'] if repaired else []))}, partial, count, n, "
                 "n if reduction == \"mean\" else 1,",
                 f"            WRITE_VALUE=not reduce, REDUCE=reduce, F64=f64{flags}, BLOCK=block, num_warps=WARPS{fusion})"]
    if repaired:
        value = tiers[outputs[0]] if n_values else 0  # the tiers whose repair kernel stores the value (and its sum) too
        # each value of the flags present: the repair kernel's specialisation of those tiers (compiled at its first
        # launch; doubleword.REPAIR_BITS) on those blocks
        if repaired32:  # float32: nothing read back, a few programs take the listed blocks (none: they return)
            helpers.add("_repair_programs")
            stores32 = bool(value & bit32)
            launcher += ["        if not f64:  # the float32 double words: the repair kernel on the blocks the main kernel "
                         "listed",
                         f"            {k}[(_repair_programs({first}, blocks),)]({', '.join(args)}, tier[blocks:], partial, "
                         "count[1:] if reduce else count, n, n if reduction == \"mean\" else 1,",
                         "                WRITE_VALUE=" + ("not reduce" if stores32 else "False") + ", REDUCE="
                         + ("reduce" if stores32 else "False")
                         + f", F64=False, REPAIR={bit32}, BLOCK=block, num_warps=WARPS{fusion})"]
        every &= ~bit32  # float64's tiers: the host reads which blocks need which
        value &= ~bit32
    if repaired and every:
        launcher += [f"        for bits, flagged in _flagged_blocks(tier, {every}) if f64 else ():",
                     f"            _REPAIRS[{kernel.name!r}] = _REPAIRS.get({kernel.name!r}, 0) + 1"]
        stores = "True" if value == every else f"bits & {value} != 0"
        if value:
            launcher.append(f"            if reduce{'' if value == every else f' and {stores}'}:  # the flagged blocks' "
                            "partial sums again, and their sum")
            launcher.append("                count.zero_()")
        launcher += [f"            {k}[(flagged.numel(),)]({', '.join(args)}, flagged, partial, count, n, "
                     "n if reduction == \"mean\" else 1,",
                     "                WRITE_VALUE=" + ("False" if not value else "not reduce" if value == every
                                                       else f"not reduce and {stores}")
                     + ", REDUCE=" + ("False" if not value else "reduce" if value == every else f"reduce and {stores}")
                     + f", F64=f64, REPAIR=bits, BLOCK=block, num_warps=WARPS{fusion})"]
    if flagged:
        launcher.append(f"        _refuse_flagged(domain, {tuple(c.message('{value}') for c in flagged)!r})")
    if n_values:
        v = outputs[0]
        launcher += ["    elif reduce:  # nothing to add up: the sum is 0, the mean undefined",
                     f"        {v}.fill_(0.0 if reduction == \"sum\" else float(\"nan\"))"]
    launcher.append(f"    return {', '.join(outputs)}" + ("," if len(outputs) == 1 else ""))
    return "\n".join(jit) + "\n\n\n" + "\n".join(launcher) + "\n"


_REPAIR_DOC = """

    REPAIR (the repair kernel: a specialisation for each value of the flags): the programs take the
    blocks whose ids ids_ptr holds (those the main kernel, REPAIR 0, flagged in tier_ptr with these bits:
    a widened sum's tier it does not compile, doubleword.REPAIR_BITS: 1 the triple words past
    TRITON_TIER_INLINE, 2 the scaled double words below 2⁻⁹⁶⁸) and store the outputs those tiers change,
    compiling those tiers alone.
    """


# a block id the repair kernel reads from its list (data, not the launch: clamped to the blocks, 0 … cdiv(n, BLOCK) − 1,
# as every index read from memory; a valid id is unchanged, a block taken twice stores the same values)
_LISTED_BLOCK = "tl.minimum(tl.maximum({}, 0), tl.cdiv(n, BLOCK) - 1)"


def _float32_repair_kernel(block_fn: str, passed: str, sum_last: list) -> list[str]:
    """The body of an elementwise kernel whose float32 double words are in its repair kernel
    (doubleword.REPAIR_BITS["float32"]), the block's work in ``block_fn``: the main kernel (REPAIR 0) does its block
    and, in float32, puts it on the list of flagged blocks (ids_ptr, the list's length after it) where a widened sum
    flagged it; float32's repair kernel is a few programs (_repair_programs) that take the listed blocks in turn and,
    where there were any, add the partial sums up again; float64's takes one flagged block a program, by its id."""
    bit = REPAIR_BITS["float32"]
    lines = [f"    if REPAIR == {bit}:  # float32's double words: these few programs take the listed blocks in turn "
             "(the list's length on the device)",
             "        # (the list is data: its length and each id clamped to the blocks, so that no listed value reads or "
             "writes outside the tensors; before, an id of −3 crashed the interpreter)",
             "        listed = tl.minimum(tl.maximum(tl.load(ids_ptr + tl.cdiv(n, BLOCK)), 0), tl.cdiv(n, BLOCK))",
             "        for slot in range(tl.program_id(0), listed, tl.num_programs(0)):",
             f"            {block_fn}({_LISTED_BLOCK.format('tl.load(ids_ptr + slot)')}, {passed})"]
    if sum_last:
        lines += ["        if REDUCE:", "            if listed > 0:  # their partial sums changed: added up again",
                  f"                {sum_last[0]}"]
    lines += ["    else:",
              f"        pid = {_LISTED_BLOCK.format('tl.load(ids_ptr + tl.program_id(0))')} if REPAIR else tl.program_id(0)"
              "  # float64's repair kernel: a flagged block",
              f"        {block_fn}(pid, {passed})",
              "        if not REPAIR and not F64:  # float32: a block flagged for its double words goes on the list",
              "            tl.debug_barrier()  # (its flag was set by one thread of the program)",
              "            if tl.atomic_or(tier_ptr + pid, 0) != 0:",
              "                # (its slot the count before it, read from memory: clamped to the list, as the repair kernel's ids)",
              f"                tl.store(ids_ptr + {_LISTED_BLOCK.format('tl.atomic_add(ids_ptr + tl.cdiv(n, BLOCK), 1)')}, pid)"]
    if sum_last:
        lines += ["        if REDUCE:", f"            {sum_last[0]}"]
    return lines


# session 28 (h-tail28): a float32 kernel computes outside its widened sums in float32, where NumPy's float32 computes
# the block in float64 and rounds once. Two places where float32 is not within its bound: an exponential gone
# subnormal (sigmoid_mse's ∂z, −2·(y − σ)·E/s² with E = e^−|z|: 60.1 ULP at z = −95, y = 1e4; 1.48e7 at z = −103.97,
# y = 3e38) and a sum that cancels (bce_logits' C = y·softplus(−z) + (1 − y)·softplus(z) for a target outside
# [0, 1]: 4,630 ULP at z = 0, y = 1e4; torch's BCEWithLogits takes any y). The main kernel flags such a block
# (REPAIR_BITS["float32"], the bit of its double words) and the float32 repair kernel computes it whole in float64,
# every output rounded once as stored; the common case pays a test per element and one maximum per block.
_FLOAT32_TINY = 1.1754943508222875e-38  # 2⁻¹²⁶: below it a float32 exponential is subnormal (or 0)
_FLOAT64_EXP_BELOW = 745.2  # e^−745.2 is 0 in float64 too: a block there computes the same in float64
_CANCELLING = 2.0  # a sum whose terms' magnitudes add to more than twice its own: it lost a bit or more


def _subnormal_exponential(name: str, expr, printer) -> str | None:
    """The condition where the temporary ``name`` = e^u (or e^−u, nexp) is below float32's normal range while its
    float64 value is not 0; None for any other temporary."""
    if isinstance(expr, sp.exp):
        exponent = printer.doprint(expr.args[0])
        return f"({name} < {_FLOAT32_TINY!r}) & ({exponent} > -{_FLOAT64_EXP_BELOW!r})"
    if type(expr).__name__ == "nexp":
        exponent = printer.doprint(expr.args[0])
        return f"({name} < {_FLOAT32_TINY!r}) & ({exponent} < {_FLOAT64_EXP_BELOW!r})"
    return None


def _cancelling_sum(name: str, result, printer) -> str | None:
    """The condition where the output ``name`` = t₁ + t₂ + … (a sum at its top) lost a bit or more to cancellation:
    |t₁| + |t₂| + … > 2·|name|; None for any other output."""
    if not isinstance(result, sp.Add) or result.is_number:
        return None
    terms = [t for t in result.args if not t.is_number]
    if len(terms) < 2:
        return None
    magnitudes = " + ".join(f"tl.abs({printer.doprint(t)})" for t in result.args)
    return f"({magnitudes} > {_CANCELLING!r} * tl.abs({name}))"


def _overflowed(name: str) -> str:
    """The condition where the output ``name`` is ±inf or NaN: in float32, an intermediate may have overflowed where
    the float64 block is finite (session 30, h-hypot30: gaussian_nll's ∂t and ∂x, (x − t)/v, were inf at t = −3.19e32,
    v = 3.9, x = 3.4028235e38, where x − t overflows float32; true ∓8.719e37, NumPy's float32 block in float64 right),
    or two such terms met (session 39, h-triton39: 1/x + 1/y at x = −1e−45, y = +0 was inf − inf = NaN for +inf; ∂y of
    (x + y)/(x·y²) at (−1.7e33, −4.2e−29) NaN for the truth 2.6e85 past the range, inf in float64). A result that is
    ±inf or NaN in float64 too (the loss there, 1.5e76; a NaN input) sends its block to the repair kernel for nothing
    but time."""
    return f"~(tl.abs({name}) <= {_FLOAT32_MAX!r})"


_FLOAT32_MAX = 3.4028234663852886e38


def _rational(expr, kernel: Kernel) -> bool:
    """Whether ``expr`` (an output as derived) is a rational function of the kernel's inputs, not a number: 0 or
    subnormal only at its roots or where the float64 value is as small (a select or a function may be 0 on a range)."""
    return bool(expr.free_symbols) and expr.is_rational_function(*[i.symbol for i in kernel.inputs])


def _underflowed(name: str) -> str:
    """The condition where the output ``name`` is 0 or subnormal in float32: a partial product or quotient may have
    gone below the range where the whole is normal (session 39, h-triton39: ∂y of (x + y)/(x·y²), (y⁻² − 2(x + y)/y³)/x,
    at (3.7e−34, 4.3e35) was −0 for −1.41e−38: y⁻² is 0 in float32; NumPy's float32 block in float64 right). Taken
    for a rational output of a kernel holding a widened sum alone (where NumPy's float32 block is float64): its
    roots, and outputs as small in float64, send their block to the repair kernel for nothing but time."""
    return f"(tl.abs({name}) < {_FLOAT32_TINY!r})"


def _float32_hazards(body: list, hazards: list, bit: int) -> list:
    """The block's lines (its outputs computed, not yet stored) with the hazards flagged after them (main kernel,
    float32: the block's flag or-ed with ``bit``, which puts it on the float32 repair kernel's list) and the repair
    kernel's (REPAIR == bit) inputs in float64."""
    out = []
    for line in body:
        if line == "else:" and out and out[-1].startswith("    ") and ".to(tl.float64)" in out[-1]:
            out.append(f"elif REPAIR == {bit}:  # float32's repair kernel: the whole block in float64, as NumPy's "
                       "float32, each output rounded once as stored (_float32_hazards)")
            out += [f"    {v} = _upcast({v}, tl.float64)" for v in re.findall(r"^\s+(\w+) = \1\.to\(tl\.float64\)$",
                                                                              "\n".join(out), re.M)]
            out.append(line)
            continue
        out.append(line)
    out.append("if not REPAIR and not F64:  # float32: a block with an exponential gone subnormal, a sum that cancels "
               "or an output that overflowed goes to the repair kernel (float64)")
    out.append(f"    tl.atomic_or(tier_ptr + pid, tl.max(tl.where(mask & ({' | '.join(hazards)}), {bit}, 0)))")
    return out


def _repaired(codes: dict, functions: set, outputs: list) -> set:
    """The outputs (and temporaries) whose printed code calls one of ``functions`` (the widened sums whose tier is in
    the repair kernel), or a temporary that does: what the repair kernel recomputes and stores."""
    words = {name: set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", code)) for name, code in codes.items()}
    out: set = set()
    while True:  # (until nothing is added: a far branch's temporary comes after the outputs in ``codes``)
        more = {name for name, used in words.items() if name not in out and used & (functions | out)}
        if not more:
            return {v for v in outputs if v in out}
        out |= more


def _bound(value: float) -> str:
    """A domain's end as the launcher writes it (float("inf") for ∞)."""
    return repr(value) if abs(value) != float("inf") else ('float("inf")' if value > 0 else '-float("inf")')


def emit_autograd(kernel: Kernel, op_name: str) -> str:
    """A torch custom op over the launcher (so torch.compile keeps it whole) with an autograd
    formula: the gradients the kernel already computed, times the upstream gradient."""
    inputs = [i for i in kernel.inputs]
    values = [o for o in kernel.outputs if not o.meaning.startswith("∂")]
    grads = [o for o in kernel.outputs if o.meaning.startswith("∂")]
    if len(values) != 1:
        return ""
    local = _local_names(kernel)
    wrt = {}  # input name → its gradient output
    for o in grads:
        for i in inputs:
            if o.wrt == i.symbol:
                wrt[local[i.name]] = o.name
    names = [local[i.name] for i in inputs]
    v = values[0].name
    ann = ", ".join(f"{n}: torch.Tensor" for n in names)
    lines = [
        f'_OP = "{op_name}"',
        "",
        "",
        f"def _{kernel.name}_all({', '.join(names)}):",
        f"    return {kernel.name}({', '.join(names)})",
        "",
        "",
        "if not _registered(_OP):  # loading this file twice must not register the op twice",
        "    @torch.library.custom_op(_OP, mutates_args=())",
        f"    def _{kernel.name}_op({ann}) -> list[torch.Tensor]:",
        f"        return list(_{kernel.name}_all({', '.join(names)}))",
        "",
        f"    @_{kernel.name}_op.register_fake",
        f"    def _({', '.join(names)}):",
        f"        return [torch.empty_like({names[0]}) for _ in range({len(kernel.outputs)})]",
        "",
        "    # the backward is a custom op too: torch.compile traces it through its fake kernel, and a",
        "    # second derivative through it is a one-line error (it has no derivative of its own)",
        "    @torch.library.custom_op(_OP + \"_backward\", mutates_args=())",
        "    def _backward_op(g: torch.Tensor, partials: list[torch.Tensor], inputs: list[torch.Tensor]) -> list[torch.Tensor]:",
        "        return [(g * _part).to(_part.dtype) for _part in partials]",
        "",
        "    @_backward_op.register_fake",
        "    def _(g, partials, inputs):",
        "        return [torch.empty_like(_part) for _part in partials]",
        "",
        "    def _twice(ctx, grads):",
        "        raise RuntimeError(f\"{_OP} is differentiable once: its backward has no derivative \"",
        "                           \"(create_graph=True then backward again is not supported)\")",
        "",
        "    _backward_op.register_autograd(_twice, setup_context=lambda ctx, inputs, output: None)",
        "",
        "    def _setup(ctx, inputs, output):",
        "        ctx.save_for_backward(*inputs, *output[1:])  # the gradients, computed in the same pass",
        "        ctx.mark_non_differentiable(*output[1:])",
        "",
        "    def _backward(ctx, grads):",
        f"        saved = ctx.saved_tensors  # the inputs ({len(names)}), then the gradients",
        f"        parts = torch.ops.{op_name.replace('::', '.')}_backward(grads[0], list(saved[{len(names)}:]), "
        f"list(saved[:{len(names)}]))  # grads[0]: ∂(loss)/∂{v}",
    ]
    ret = []
    for i, n in enumerate(names):
        if n in wrt:
            idx = [o.name for o in grads].index(wrt[n])
            ret.append(f"parts[{idx}]")
        else:
            ret.append(f"_no_gradient(ctx, {i}, {n!r})")
    lines += [f"        return {', '.join(ret)}" + ("," if len(ret) == 1 else ""),
              "",
              f"    _{kernel.name}_op.register_autograd(_backward, setup_context=_setup)",
              "",
              "",
              f"def {kernel.name}_value({', '.join(names)}):",
              f'    """{text(values[0].expr)} entry by entry, differentiable: torch.autograd uses the gradients',
              '    the kernel computed with it (a torch custom op: torch.compile keeps it whole)."""',
              f"    return torch.ops.{op_name.replace('::', '.')}({', '.join(names)})[0]"]
    return "\n".join(lines) + "\n"


def emit_triton_module(kernels: list, source: str, regenerate: str, op_namespace: str = "symnet",
                       op_suffix: str = "") -> str:
    """A standalone module (imports torch and triton only): per kernel, the @triton.jit
    kernel, its launcher, and a torch custom op ``op_namespace::name{op_suffix}`` with autograd."""
    used: set = set()
    parts = []
    for kernel in kernels:
        parts.append(emit_elementwise(kernel, used))
        auto = emit_autograd(kernel, f"{op_namespace}::{kernel.name}{op_suffix}")
        if auto:
            parts.append(auto)
    device = generated_last(TRITON_HELPERS, used, "triton")
    host = [HOST_HELPERS[h] for h in HOST_HELPERS if h in used]
    notes = ["Arithmetic in float32 (float64 for float64 inputs); bfloat16/float16 inputs are upcast."]
    for reason, (what, _) in FLOAT64_REASONS.items():
        wide = [k.name for k in kernels if _float64_reason(k) == reason]
        if wide:
            notes.append(f"{', '.join(wide)}: in float64 for every input dtype ({what}), each output rounded once.")
    return assemble(kernels, source, regenerate, notes,
                    device + host + [HOST_HELPERS["_registered"], HOST_HELPERS["_no_gradient"]] + parts,
                    preamble="# elements and warps a program takes: at copy bandwidth on an H100 for sigmoid+MSE over 64M\n"
                             "# float32 (benchmarks/results/gpu-sweep-h100-2026-11-27.txt); 16,384 partial sums at that size\n"
                             "# (float64 takes half the block: 8 entries a thread, where 16 spilled registers on sm_90)\n"
                             "BLOCK, WARPS = 4096, 8\n\n\n")


def assemble(kernels: list, source: str, regenerate: str, notes: list[str], sections: list[str],
             preamble: str = "\n", imports: list[str] = ()) -> str:
    """A Triton module: the header (formulas, stability rules, notes), the imports (torch and
    triton only, with ``imports`` from triton's own modules), the sections."""
    header = ['"""Generated by symnet from {} — do not edit.'.format(source), ""]
    header += [f"{k.name}: {k.formula}" for k in kernels]
    rules = {r.name: r.why for k in kernels for r in getattr(k, "rules", ())}
    if rules:
        header += ["", "Stability rules applied:"] + [f"  {name}: {why}" for name, why in rules.items()]
    header += [""] + notes + [f"Regenerate with: {regenerate}", '"""']
    lines = "import os\n\nimport torch\nimport triton\nimport triton.language as tl\n" + "".join(f"{i}\n" for i in imports)
    return "\n".join(header) + "\n" + lines + "\n" + preamble + "\n\n".join(sections)
