"""``from_formula``: a user's formula as a differentiable module (see :func:`from_formula`)."""
from __future__ import annotations

from collections.abc import Iterable

import sympy as sp
import torch

from .. import TIME_LIMIT, _budget
from ..errors import DerivationError
from ..parsing import read_name
from . import _ops
from .functional import _broadcast, _floating, _number


MAX_INPUTS = 63  # the op's schema: one Tensor an input and the float[] of options, at most 64 arguments


class Formula(torch.nn.Module):
    """A formula applied entry by entry: ``f(*inputs)`` with the inputs in the order declared
    (or by name, ``f(x=..., w=...)``).

    Arguments are tensors or Python numbers, broadcast together as torch does; the tensors
    are floating-point (float32, float64, bfloat16, float16) of one dtype, on one CUDA device or
    on the CPU under ``TRITON_INTERPRET=1``. Returns one tensor of the broadcast shape and that
    dtype. Every floating-point tensor argument gets its gradient (from the generated kernel,
    which computes the value and every partial derivative in one pass).

    Raises:
        TypeError: a missing, unknown or repeated argument; integer tensors; tensors of
            different dtypes.
        RuntimeError: shapes that do not broadcast (torch's message, the two arguments named).
        DeviceError: CPU tensors without ``TRITON_INTERPRET=1``.

    The op is registered in
    this process under ``symnet_torch::formula_<hash>``: a ``torch.export`` file using it
    reloads in a process that has called ``from_formula`` with the same formula first.

    A module pickles (``torch.save(model)``, ``copy.deepcopy``, DataLoader workers) as its formula,
    inputs, argument checks and time limit; unpickling compiles the op again, from the disk cache where the
    stabilised kernel was stored (a fresh process: about a second, not the first compile's time).
    """

    def __init__(self, expr: sp.Expr, inputs: tuple[sp.Symbol, ...], checks: tuple = (),
                 time_limit: float | None = TIME_LIMIT, text: str | None = None):
        super().__init__()
        self.expr, self.inputs, self.checks, self.time_limit = expr, inputs, checks, time_limit
        self.text = text  # the formula as the user wrote it, for messages (expr is focal's Piecewise, …)
        self._op = _ops.formula_op(expr, inputs, checks, time_limit, text=text)

    def __getstate__(self):
        # the op holds the generated module's functions, which pickle cannot name; rebuilt on load
        state = dict(self.__dict__)
        state.pop("_op", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._op = _ops.formula_op(self.expr, self.inputs, self.checks, state.get("time_limit", TIME_LIMIT),
                                   text=state.get("text"))

    def forward(self, *args, **kwargs):
        """The formula at ``args`` (in the order of ``inputs``) and ``kwargs`` (by name): tensors or
        Python numbers, broadcast together; one tensor of the broadcast shape and the tensors'
        dtype, differentiable in every floating-point tensor argument. Raises as the class says."""
        names = [s.name for s in self.inputs]
        # f(θ=…) names the input the formula reads as theta (was "unexpected argument 'θ' (the inputs are theta, x)")
        read = [k if k in names else read_name(k) for k in kwargs]
        if len(set(read)) < len(read):  # f(θ=…, theta=…): one input twice
            twice = next(k for k, r in zip(kwargs, read) if read.count(r) > 1)
            raise TypeError(f"got multiple values for argument {twice!r}")
        kwargs = dict(zip(read, kwargs.values()))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"unexpected argument {k!r} (the inputs are {', '.join(names)})")
        twice = [k for k in kwargs if k in names[:len(args)]]
        if twice:
            raise TypeError(f"got multiple values for argument {twice[0]!r}")
        args = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        if len(args) != len(names):
            raise TypeError(f"the formula takes {len(names)} arguments ({', '.join(names)}), got {len(args)}")
        # Python numbers take the tensors' dtype: a mismatch is between two tensors, named here (the
        # kernel's own check sees the numbers as tensors already and could name one of them)
        _floating("formula", list(zip(names, args)))  # before broadcasting, whose error names no argument
        floats = [(n, a) for n, a in zip(names, args) if isinstance(a, torch.Tensor) and a.is_floating_point()]
        for n, a in floats[1:]:
            if a.dtype != floats[0][1].dtype:
                raise TypeError(f"argument {n!r} is {a.dtype} but {floats[0][0]!r} is {floats[0][1].dtype}; "
                                "pass tensors of one dtype (Python numbers take theirs)")
        for n, a in zip(names, args):  # a number as text was read with float(), 10**400 failed naming nothing
            if not isinstance(a, torch.Tensor):
                _number("formula", f"argument {n!r}", a, tensor_too=True)
        return _ops.call(self._op.op, *_broadcast(*args, names=names), [])[0]

    def extra_repr(self):
        return f"{self.expr}, inputs=[{', '.join(s.name for s in self.inputs)}]"


def from_formula(expr, inputs, *, time_limit: float | None = TIME_LIMIT) -> Formula:
    """The formula ``expr`` (text or SymPy) as a module ``f(*inputs)``, arguments in the order of ``inputs``:
    ``from_formula("w*sin(x) + b", inputs=["x", "w", "b"])(x, w, 0.5)``.

    ``inputs``: every variable of the formula, once each, as names or SymPy symbols, or one string
    of names (``"x, w, b"`` or ``"x w b"``, as ``sympy.symbols`` reads it). The formula is derived
    with respect to all of them and compiled to a Triton kernel (the value and every partial
    derivative in one pass) when this is called; the module (:class:`Formula`) runs it, with the
    derivatives as the backward.

    ``time_limit``: CPU seconds deriving and generating the kernel may take together, as
    :func:`symnet.derive`'s and :func:`symnet.compile`'s (default 60; None or 0: no limit).

    Raises:
        ParseError: text the parser refuses, among it a name that is not a variable name.
        DerivationError: an input not in the formula, a formula symbol not among ``inputs``,
            an input named twice, or a formula symnet cannot derive; ``expr`` that is not one
            formula (a list of several: one ``from_formula`` each).
        LimitError: deriving and generating took longer than ``time_limit`` CPU seconds, or ``time_limit``
            is not a number of seconds ≥ 0.
    """
    from dataclasses import replace

    from ..parsing import as_symbol, parse_symbols, parse_with_checks

    if not isinstance(expr, (str, sp.Basic)) or isinstance(expr, sp.MatrixBase):
        # from_formula([x*y, x + y], ...) raised "AttributeError: 'list' object has no attribute 'free_symbols'"
        # (session 18's new user); symnet.derive takes a list, the module returns one tensor
        several = isinstance(expr, (list, tuple, sp.MatrixBase))
        raise DerivationError("from_formula takes one formula (text or a SymPy expression), not "
                              + (f"a {type(expr).__name__} of several: make one from_formula for each output"
                                 if several else type(expr).__name__))
    _budget(time_limit, "", "")  # (a bad time_limit refused first, a formula built before too)
    # the formula as written, for messages: parsed, focal(focal(z, t), t) is a Piecewise of 400 characters, which the
    # time limit's LimitError named (session 38, h-tidy38)
    text = " ".join(expr.split()) if isinstance(expr, str) else sp.sstr(expr)
    checks = ()  # gaussian_nll(x, t, v) as text: its kernel refuses a negative v (ArgumentCheck)
    if isinstance(expr, str):
        expr, checks = parse_with_checks(expr)
    else:  # REGISTRY["gaussian_nll"](x, t, v) built in Python: its marks hold the same checks
        from ..registry import take_domain_checks

        expr, checks = take_domain_checks(expr)
    if isinstance(inputs, str):  # "x, w, b": checked by the parser's rules, as wrt= and --wrt are
        inputs = parse_symbols(inputs)
    if isinstance(inputs, sp.Symbol):
        inputs = [inputs]
    if not isinstance(inputs, Iterable):  # inputs=None raised "TypeError: 'NoneType' object is not iterable"
        raise DerivationError(f"inputs must be the formula's variables (names, symbols or one string of names), "
                              f"not {type(inputs).__name__}")
    inputs = list(inputs)  # read twice below (a generator was read once)
    known = tuple(expr.free_symbols)  # inputs=["ℓ", "l"] name the formula's ℓ and l, not l twice
    names = [as_symbol(i, "input", known=known).name if isinstance(i, str) else getattr(i, "name", None) for i in inputs]
    odd = next((i for i, n in zip(inputs, names) if not isinstance(n, str)), None)
    if any(not isinstance(n, str) for n in names):
        # inputs=["x", "y", 3] was told "inputs must be distinct names or symbols", which they were apart from
        # the 3 (session 32's new user): the entry that is not a name is named
        raise DerivationError(f"inputs must be names or symbols; {odd!r} ({type(odd).__name__}) in {inputs!r} is not")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DerivationError(f"inputs must be distinct names or symbols, not {inputs!r}: {', '.join(twice)} "
                              f"{'is' if len(twice) == 1 else 'are'} there twice")
    free = {s.name: s for s in expr.free_symbols}
    missing = sorted(set(free) - set(names))
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise DerivationError(f"the formula uses {', '.join(missing)}, which {verb} not among "
                              f"inputs=[{', '.join(names)}]")
    unused = [n for n in names if n not in free]
    if unused:
        raise DerivationError(f"input {unused[0]!r} does not appear in the formula {expr}")
    if len(names) > MAX_INPUTS:  # checked before deriving: 64 inputs took 27 s to reach torch's "RuntimeError: The
        # function schema has 65 arguments but this PyTorch build only supports 64" (session 26, h-break26)
        raise DerivationError(f"from_formula takes at most {MAX_INPUTS} inputs (its op is a torch custom op of the "
                              f"inputs and a list of options, whose schema holds at most 64 arguments); this formula "
                              f"has {len(names)}")
    symbols = tuple(sp.Symbol(n, real=True) for n in names)
    expr = expr.xreplace({free[n]: s for n, s in zip(names, symbols)})
    checks = tuple(replace(c, expr=c.expr.xreplace({free[n]: s for n, s in zip(names, symbols)})) for c in checks)
    return Formula(expr, symbols, checks, time_limit, text=text)
