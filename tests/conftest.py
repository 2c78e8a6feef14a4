"""Shared helpers: independent numeric references for the tests.

Nothing here reuses symnet's own checker: values are computed with mpmath directly
(central differences at 40 digits) or with NumPy forward passes written out by hand.
"""
from __future__ import annotations

import functools
import gc
import itertools
import math
import os
import random
import signal
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from symnet.functions import explicit

# Triton reads TRITON_INTERPRET once, when it is first imported, and symnet.compile(..., "triton") imports
# it: on a machine without an NVIDIA device the interpreter is set before any test can import triton, so
# the order of the tests does not decide the mode ("0 active drivers" where a test compiled before it
# called triton_torch()). A GPU machine keeps its compiled mode.
if not os.path.exists("/dev/nvidiactl"):
    os.environ.setdefault("TRITON_INTERPRET", "1")

# The cyclic garbage collector's youngest generation is collected every 20,000 allocations net instead of 700 (each
# older one every 20 of the younger's instead of 10), in the test processes only: SymPy's derivations allocate
# millions of short-lived objects, and the collector scanned them every 700 (tests/test_codegen.py alone: 2,946
# collections, 2.99 s of its 25.2 s of CPU; with this 42 collections, 0.95 s, 22.95 s in all: session 33). Nothing
# a test checks depends on when a cycle is freed (a test that needs it freed calls gc.collect()); reference counting
# still frees everything else at once.
gc.set_threshold(20000, 20, 20)


def _interpreter_patches_the_language_once():
    """Under TRITON_INTERPRET=1, let a call of a @triton.jit helper inside a running kernel skip re-patching
    triton.language. Triton's interpreter (3.x, ``runtime/interpreter.py``) patches the language's builtins when a
    launch starts and restores them when it ends (``GridExecutor.__call__``), and patches them again at every call of
    a helper (``InterpretedFunction.__call__``), a scan of every member of tl, tl.core, tl.math and tl.tensor (~1.5 ms)
    whose scope it drops: the second patch finds the builtins already replaced and changes nothing. A float64
    cross-entropy calls its double-word helpers ~1,600 times a launch: 2.74 s of CPU a forward and backward of 5×4
    rows, 1.18 s with this (bit-identical results; tests/test_interpreter13.py). A helper that sees a module the
    launch did not patch (tl.core beside tl: triton.language's own helpers) patches it as Triton does, once. Nothing
    changes where Triton is missing, compiled, or its interpreter lacks these names."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    try:
        from triton.runtime import interpreter
    except ImportError:
        return
    real = getattr(interpreter, "_patch_lang", None)
    scope_type = getattr(interpreter, "_LangPatchScope", None)
    if real is None or scope_type is None or getattr(real, "symnet_patches_once", False):
        return
    launch: list = []  # [scope, the language modules patched] of the launch running now, or empty
    seen: dict = {}

    def modules(fn):
        if fn not in seen:
            tl = interpreter.tl
            seen[fn] = frozenset(id(v) for v in fn.__globals__.values() if v is tl or v is tl.core)
        return seen[fn]

    def patch_once(fn):
        if launch:  # a helper called inside the running launch; the caller drops the scope returned
            if modules(fn) <= launch[1]:
                return scope_type()
            launch[1] |= modules(fn)  # triton.language's own helpers see tl.core: patched as Triton does, once
            return patch_once.shipped(fn)
        scope = patch_once.shipped(fn)
        launch[:] = [scope, modules(fn)]
        restore = scope.restore

        def restore_and_end():
            launch.clear()
            restore()
        scope.restore = restore_and_end
        return scope

    patch_once.symnet_patches_once = True
    patch_once.shipped = real  # Triton's own, for tests/test_interpreter13.py
    interpreter._patch_lang = patch_once


_interpreter_patches_the_language_once()


def _interpreter_takes_operands_of_one_type_as_they_are():
    """Under TRITON_INTERPRET=1, two shortcuts in Triton's type checking of a binary operation (every +, −, ·, /,
    comparison of a kernel), each where Triton's own returns its two operands unchanged:

    - ``TritonSemantic.broadcast_impl_value``: two operands of one shape (or two scalars) come back as they are,
      without the walk over their shapes, Triton ``tuple`` objects whose every comparison unwraps constexprs
      (``_normalize_tuple``): a third of the interpreter's CPU in a float64 cross-entropy (profiled: 38.9 s of
      112 s in tests/test_accuracy_rows.py's Triton cells);
    - ``TritonSemantic.binary_op_type_checking_impl``: two tensors of one float32 or float64 type (one shape)
      come back as they are: Triton's promotion gives that same type (``computation_type_impl``: fp64 with fp64
      is fp64, fp32 with fp32 fp32, a division too), its casts to it return their input, and the broadcast the
      same two; a float32 or float64 tensor beside a Python float comes back with the float as a scalar of the
      tensor's type, broadcast (a float is of the float kind, which Triton's promotion lets a tensor's type decide:
      its ``scalar_constant`` of the float in that type, as Triton's ``_cast_to_computation_type`` makes it; beside a
      block, splat here to the array Triton's ``splat`` makes, under the block's type object: session 32).

    Anything else (a scalar splat, a [B, 1] beside a [B, V], integers, pointers, half precision) goes through
    Triton's own. The kernels compute the same bits (tests/test_interpreter13.py, against Triton's own, a float64
    cross-entropy with every option, and each shortcut case by case). A float64 cross-entropy's reduced row sets
    (tests/test_accuracy_rows.py's Triton near-converged cells, 6 cases): 1.17 → 1.08 s of CPU with the first
    (min of 3, interleaved). Nothing changes where Triton is missing, compiled, or its semantic layer lacks these
    methods."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    try:
        import numpy as np
        from triton.language.semantic import TritonSemantic
        from triton.runtime.interpreter import TensorHandle
    except ImportError:
        return
    real_broadcast = getattr(TritonSemantic, "broadcast_impl_value", None)
    real_check = getattr(TritonSemantic, "binary_op_type_checking_impl", None)
    if real_broadcast is None or real_check is None or getattr(real_broadcast, "symnet_shortcut", False):
        return

    FLOATS = ("fp32", "fp64")
    NUMPY_FLOATS = {"fp32": np.float32, "fp64": np.float64}

    def splat(self, value, block):
        """The Python float ``value`` as a block of ``block``'s type and shape: the array Triton's
        ``scalar_constant`` (``get_fp32``/``get_fp64``: a one-element array of the type) then ``splat``
        (``np.full`` of the block's shape) make, under the block's own type object (Triton's makes an equal one,
        ``with_element_ty``), without the three type objects and the dtype table built on the way."""
        kind = NUMPY_FLOATS[block.dtype.name]
        data = np.full(block.type.shape, np.array([value], dtype=kind), dtype=kind)
        return self.make_tensor(TensorHandle(data, block.dtype), block.type)

    def one_shape(a, b):
        """Types a, b (of tensors) of one shape: both scalars, or both blocks of equal shapes."""
        block_a, block_b = a.is_block(), b.is_block()
        return not (block_a or block_b) or (block_a and block_b and list(a.shape) == list(b.shape))

    def broadcast(self, lhs, rhs):
        a, b = lhs.type, rhs.type
        if a is b or one_shape(a, b):
            return lhs, rhs
        return real_broadcast(self, lhs, rhs)

    def check(self, lhs, rhs, allow_lhs_ptr=False, allow_rhs_ptr=False, arithmetic_check=True, div_or_mod=False):
        tensor = self.tensor
        if isinstance(lhs, tensor) and isinstance(rhs, tensor):
            a, b = lhs.dtype, rhs.dtype
            if (a is b or a == b) and a.name in ("fp32", "fp64") and (lhs.type is rhs.type or one_shape(lhs.type, rhs.type)):
                return lhs, rhs
        elif arithmetic_check and type(rhs) is float and isinstance(lhs, tensor) and lhs.dtype.name in FLOATS:
            if lhs.type.is_block():
                return lhs, splat(self, rhs, lhs)
            return self.broadcast_impl_value(lhs, self.scalar_constant(rhs, lhs.dtype))
        elif arithmetic_check and type(lhs) is float and isinstance(rhs, tensor) and rhs.dtype.name in FLOATS:
            if rhs.type.is_block():
                return splat(self, lhs, rhs), rhs
            return self.broadcast_impl_value(self.scalar_constant(lhs, rhs.dtype), rhs)
        return real_check(self, lhs, rhs, allow_lhs_ptr, allow_rhs_ptr, arithmetic_check, div_or_mod)

    broadcast.symnet_shortcut = check.symnet_shortcut = True
    broadcast.shipped, check.shipped = real_broadcast, real_check  # Triton's own, for tests/test_interpreter13.py
    TritonSemantic.broadcast_impl_value = broadcast
    TritonSemantic.binary_op_type_checking_impl = check


_interpreter_takes_operands_of_one_type_as_they_are()


def _interpreter_makes_a_tensors_shape_once_a_type():
    """Under TRITON_INTERPRET=1, ``triton.language.tensor.__init__`` (every value a kernel computes: each +, −, ·
    of the interpreter makes one) builds its ``shape`` and ``numel`` once per type object instead of each time.
    Triton's own makes a constexpr per dimension, a Triton ``tuple`` of them whose type it works out by walking the
    values (``_type_for_tuple_values``), and a constexpr of their product, for every tensor, though a binary
    operation's result takes its operand's type object: a quarter of a float64 launch's CPU (profiled: 1.6 s of
    6.6 s in a kernel of tests/test_security_names.py). Here the type object keeps the product, the constexprs
    and the tuple's type, and each tensor still gets a ``tuple`` of its own (Triton's ``_setitem`` changes a
    tuple's own list and type, never the shared ones): equal values, of the same classes, as Triton's own makes
    (tests/test_ci32.py checks them, and a launch's bits against Triton's own). Nothing changes where Triton is
    missing, compiled, or its tensor lacks these names."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    try:
        from triton.language import core
    except ImportError:
        return
    shipped = getattr(core.tensor, "__init__", None)
    if shipped is None or getattr(shipped, "symnet_shape_once", False) or not all(
            hasattr(core, n) for n in ("constexpr", "tuple", "_type_for_tuple_values")):
        return

    def init(self, handle, type):
        self.handle = handle
        self.type = type  # Tensor type (can be block_type)
        self.dtype = type.scalar
        made = getattr(type, "__dict__", {}).get("_symnet_shape")
        if made is None:
            dims = [core.constexpr(s) for s in (type.shape if type.is_block() else ())]
            made = (core.constexpr(math.prod(d.value for d in dims)), dims, core._type_for_tuple_values(dims))
            try:
                type._symnet_shape = made
            except AttributeError:  # a type without a __dict__: made again next time, as Triton makes it
                pass
        self.numel, dims, tuple_type = made
        self.shape = core.tuple(dims, tuple_type)

    init.symnet_shape_once = True
    init.shipped = shipped  # Triton's own, for tests/test_ci32.py
    core.tensor.__init__ = init


_interpreter_makes_a_tensors_shape_once_a_type()


def _interpreter_looks_numpy_dtypes_up_once():
    """Under TRITON_INTERPRET=1, ``triton.runtime.interpreter._get_np_dtype`` (the NumPy dtype of a Triton type: every
    splat, cast, load and ``abs`` asks it) remembers its answer per class and name of the Triton type. Triton's own
    builds its table of 17 types (each hashed by a Python ``__hash__``) at every call: 6 % of a float64 launch's
    CPU (0.41 s of 6.7 s profiled). Its answer depends only on the type's class (pointer, block) and name (which
    names a block's element type and shape); an error is raised, as Triton raises it, each time. Nothing changes
    where Triton is missing, compiled, or lacks the function."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    try:
        from triton.runtime import interpreter
    except ImportError:
        return
    shipped = getattr(interpreter, "_get_np_dtype", None)
    if shipped is None or getattr(shipped, "symnet_once", False):
        return
    known: dict = {}

    def np_dtype(tt_dtype):
        key = (type(tt_dtype), getattr(tt_dtype, "name", None))
        found = known.get(key)
        if found is None:
            found = shipped(tt_dtype)
            if key[1] is not None:
                known[key] = found
        return found

    np_dtype.symnet_once = True
    np_dtype.shipped = shipped  # Triton's own, for tests/test_ci32.py
    interpreter._get_np_dtype = np_dtype


_interpreter_looks_numpy_dtypes_up_once()


def _interpreter_transforms_each_source_once():
    """Under TRITON_INTERPRET=1, Triton's ``FunctionRewriter.rewrite_ast`` (run once per @triton.jit function object a
    launch calls: every helper of every generated module) keeps the code it compiles from a function's transformed
    source, by that source, and reuses it for the next function of the same source, moved to that function's file and
    lines. Each generated module defines its own copies of the same helpers (``_exp``, ``_sigmoid``, ``_upcast``, the
    double-word ones); Triton parsed, transformed and compiled each again: 10.5 s of 49 s of CPU (profiled) in 25
    Triton cells of tests/test_stability_rules.py, 385 functions of 25 modules. The code run is the code Triton
    compiles (the same transformer on the same source, compiled at line 1, then given the file name and the first
    line Triton's own gives it: every line number and position comes out as Triton's; tests/test_ci32.py compares
    them and a launch's bits). Nothing changes where Triton is missing, compiled, or its rewriter lacks these names."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    try:
        import ast
        import inspect
        import types

        from triton.runtime import interpreter, jit
    except ImportError:
        return
    rewriter = getattr(interpreter, "FunctionRewriter", None)
    shipped = getattr(rewriter, "rewrite_ast", None)
    if shipped is None or getattr(shipped, "symnet_once", False) or not all(
            hasattr(rewriter, n) for n in ("_get_jit_fn_file_line", "_find_def", "_prepare_source", "ast_transformer")):
        return
    made: dict = {}  # transformed source → its code, compiled at line 1 in no file

    def moved(code, filename, lines):
        consts = tuple(moved(c, filename, lines) if isinstance(c, types.CodeType) else c for c in code.co_consts)
        return code.replace(co_filename=filename, co_firstlineno=code.co_firstlineno + lines, co_consts=consts)

    def_line = getattr(jit, "get_def_line_number", None)

    def rewrite_ast(self):
        try:  # as Triton's own: a function without source is run as it is
            lines, start = inspect.getsourcelines(self.fn)
        except Exception:  # noqa: BLE001 - Triton's own catches everything here
            return self.fn
        if def_line is None:
            self.filename, self.def_file_lineno = self._get_jit_fn_file_line()
        else:  # what _get_jit_fn_file_line reads of the JITFunction it builds (its file_name, def_file_line_number),
            # from the lines read here: building one reads the source again and its signature (2.4 s of 50 s profiled,
            # 4 kernels of tests/test_security_names.py; session 39)
            self.filename, self.def_file_lineno = self.fn.__code__.co_filename, def_line(lines, start)
        self.def_lineno = self._find_def(lines)
        src = self._prepare_source(lines)
        code = made.get(src)
        if code is None:
            tree = self.ast_transformer.visit(ast.parse(src))
            ast.fix_missing_locations(tree)
            code = compile(tree, filename="", mode="exec")
            if len(made) >= 4096:  # a bound: a session compiles a few thousand distinct helpers
                made.clear()
            made[src] = code
        local_namespace = {**self.kwargs}
        fn_globals = self.fn.__globals__
        for key, value in vars(interpreter).items():  # as Triton's _compile_and_exec (its module's globals())
            if key not in fn_globals:
                fn_globals[key] = value
        exec(moved(code, self.filename, self.def_file_lineno - 1), fn_globals, local_namespace)  # noqa: S102
        return local_namespace[self.fn.__name__]

    rewrite_ast.symnet_once = True
    rewrite_ast.shipped = shipped  # Triton's own, for tests/test_ci32.py
    rewriter.rewrite_ast = rewrite_ast


_interpreter_transforms_each_source_once()

DIGITS = 40
KERNELS = Path(__file__).resolve().parents[1] / "kernels" / "numpy"

# mpmath's precision is global state (mpmath.mp), and pytest imports every test module before it runs any test, so
# a module that set ``mpmath.mp.dps = 50`` at import set it for every module of the run, the last import winning
# (test_zip44's 50 for test_user47's intended 300; h-user48's GCE reference at z = 70 was noise; h-dps48). A module
# that needs more digits than mpmath's own 15 names them as ``MP_DPS = n``; each of its tests then runs at n digits
# and every other module's at 15, the precision a user of symnet has (symnet.verify and scaled_erfc start from
# it). A test may change the precision only inside ``with mpmath.workdps(n):``, and a module never at import:
# both are checked here, and tests/test_dps48.py scans the test files for an assignment to mp.dps or mp.prec.
# Modules are imported at IMPORT_DPS digits, so that constants made at import (SELU's λ and α from their 32-digit
# strings, log 2, √2) have more digits than a test takes: before, they had the digits of the module imported before
# (50, 60 or 300 in a full run; every such module came after test_bound35's 50), and 15 in a module run alone.
MP_DPS_DEFAULT = 15  # mpmath's own
IMPORT_DPS = 60


@pytest.fixture(scope="module", autouse=True)
def _mpmath_digits(request):
    """The module's tests (and its module-scoped fixtures) at its ``MP_DPS`` digits, else at mpmath's 15."""
    with mpmath.workdps(getattr(request.module, "MP_DPS", MP_DPS_DEFAULT)):
        yield


@pytest.fixture(autouse=True)
def _mpmath_digits_kept(request):
    """A test that leaves mpmath's precision changed errs (at teardown), and the precision is given back."""
    prec = mpmath.mp.prec
    yield
    if mpmath.mp.prec != prec:
        left = mpmath.mp.dps
        mpmath.mp.prec = prec
        pytest.fail(f"the test left mpmath.mp.dps = {left} (its module's is {mpmath.mp.dps}): set digits inside "
                    "`with mpmath.workdps(n):`, or for the whole module with MP_DPS = n", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Test modules imported at IMPORT_DPS digits; one whose import leaves another precision is a collection error
    naming it."""
    with mpmath.workdps(IMPORT_DPS):
        report = yield
        left = mpmath.mp.dps
    if left != IMPORT_DPS:
        report.outcome, report.result = "failed", []
        report.longrepr = (f"{collector.nodeid}: collecting it set mpmath.mp.dps = {left} for every test of the run "
                           "(pytest imports all test modules first); name the module's digits as MP_DPS = n instead")
    return report


def pairwise(levels, always=()):
    """Cases of a test matrix that meet every pair of levels of two factors at least once (a greedy covering
    array, deterministic), beside the cases in ``always``. For matrices whose cases each run kernels under
    Triton's interpreter (seconds apiece): the full product of 4–6 factors is 50–100 cases, a pairwise cover
    10–20."""
    full = list(itertools.product(*levels))

    def pairs(case):
        return {(i, case[i], j, case[j]) for i, j in itertools.combinations(range(len(case)), 2)}

    chosen = [c for c in full if c in set(always)]
    need = set().union(*map(pairs, full)) - set().union(set(), *map(pairs, chosen))
    while need:
        best = max(full, key=lambda c: len(pairs(c) & need))
        chosen.append(best)
        need -= pairs(best)
    return chosen


def load_kernel(name: str):
    """A committed generated NumPy module (``kernels/numpy``), loaded from its file."""
    from symnet.kernels import kernel_folder
    from symnet.kernels import load_kernel as load
    assert kernel_folder("numpy") == KERNELS, "the tests check the checkout's kernels/"
    return load(name)


def torch_and_triton():
    """(torch, triton) for a test module that runs the Triton kernels, or skip the module where
    either is missing. Without a GPU the kernels run in Triton's interpreter: TRITON_INTERPRET=1
    is set before triton is imported (it is read at import)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    return torch, pytest.importorskip("triton")


def derived(formula, wrt=None):
    """``symnet.derive(formula, wrt)``, built once per test run (a Derivation is frozen: tests share it).
    ``formula`` a string or SymPy expression, ``wrt`` names or symbols (None: every free symbol).
    Raises what symnet.derive raises."""
    return _derived(formula, None if wrt is None else tuple(wrt))


@functools.lru_cache(maxsize=None)
def _derived(formula, wrt):
    import symnet

    return symnet.derive(formula, None if wrt is None else list(wrt))


def compiled(formula, backend: str = "numpy", wrt=None):
    """``symnet.compile(derived(formula, wrt), backend)``, built once per test run: a kernel does not depend
    on the dtype or the points it runs at, and tests run one formula at several (deriving and generating
    take 0.1–30 s of CPU a formula, running it milliseconds). Raises what symnet.compile raises."""
    return _compiled(formula, backend, None if wrt is None else tuple(wrt))


@functools.lru_cache(maxsize=None)
def _compiled(formula, backend, wrt):
    import symnet

    if backend == "triton":
        triton_torch()  # TRITON_INTERPRET=1 where there is no GPU, before anything is compiled
    return symnet.compile(_derived(formula, wrt), backend=backend)


def torch_autograd_values(torch_fn, variables, columns, dtype):
    """torch's formula ``torch_fn(torch, *tensors)`` and its autograd gradients in ``dtype``, one row a
    point: {"f": values, "df_d<v>": ∂/∂v for each variable torch differentiates}, as float64 arrays."""
    import warnings

    import numpy as np
    torch = pytest.importorskip("torch")  # the reference is torch's: without it the test skips

    tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    tensors = [torch.tensor(np.asarray(c, dtype=dtype), dtype=tdtype, requires_grad=True) for c in columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = torch_fn(torch, *tensors)
        grads = torch.autograd.grad(value.sum(), tensors, allow_unused=True)
    got = {"f": value.detach().double().numpy()}
    for s, g in zip(variables, grads):
        if g is not None:
            got[f"df_d{s}"] = g.double().numpy()
    return got


BOUNDS = {"float64": 4.0, "float32": 8.0}  # issue 16's bounds in ULPs where the true result is normal


def measure_formula(formula, names, columns, dtype, torch_fn=None, digits=100, normal_only=False):
    """The tests' shared accuracy probe (session 48: written five times in sessions 46–47's files). Per output of
    ``formula`` (f, then ∂ by each of ``names``, the kernel's inputs in that order), at the points ``columns`` (one
    array per input) in ``dtype``: (worst ULPs, points past the bound, points past it and worse than torch, torch's
    worst). symnet's NumPy kernel and torch autograd of the formula as written — ``torch_fn(torch, *tensors)``, or
    the formula itself through SymPy's torch printer where None — against mpmath at ``digits`` of SymPy's derivatives
    of the formula as written. ULPs by :func:`ulps`; a NaN error (a NaN truth) counts as past the bound, and as worse
    than torch unless torch's error is no larger. ``normal_only``: the worst and the points past the bound only where
    the truth is a normal number (points worse than torch everywhere)."""
    import warnings

    import numpy as np
    from symnet.parsing import FUNCTIONS

    symbols = sp.symbols(names, real=True, seq=True)
    columns = [np.asarray(c, dtype) for c in columns]
    expr = sp.sympify(formula, locals={**FUNCTIONS, **{str(v): v for v in symbols}})
    if torch_fn is None:
        torch_fn = _torch_of(expr, symbols)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = compiled(formula)(*columns)
    theirs = torch_autograd_values(torch_fn, [str(v) for v in symbols], columns, dtype)
    keys = ["f"] + [f"df_d{v}" for v in symbols]
    bound = BOUNDS[np.dtype(dtype).name]
    tiny = mpmath.mpf(float(np.finfo(dtype).tiny))
    out = []
    for e, mine, key in zip([expr] + [sp.diff(expr, v) for v in symbols], got, keys):
        f = mp_function(e, symbols)
        with mpmath.workdps(digits):
            truth = [f(*(mpmath.mpf(float(v)) for v in row)) for row in zip(*columns)]
        u = np.array([ulps(g, t, dtype) for g, t in zip(mine, truth)])
        v = np.array([ulps(g, t, dtype) for g, t in zip(theirs[key], truth)])
        counted = np.array([not normal_only or abs(t) >= tiny for t in truth], dtype=bool)
        past = ~(u <= bound)
        worst = np.where(np.isnan(u), np.inf, u)[counted]
        out.append((float(worst.max(initial=0.0)), int((past & counted).sum()), int((past & ~(u <= v)).sum()),
                    float(np.where(np.isnan(v), np.inf, v).max(initial=0.0))))
    return out


def _torch_of(expr, symbols):
    """``torch_fn(torch, *tensors)`` computing ``expr`` as written, by SymPy's printer for torch."""
    dummies = [sp.Dummy() for _ in symbols]
    body = explicit(expr).xreplace(dict(zip(symbols, dummies)))
    fn = sp.lambdify(dummies, body, modules="torch")
    return lambda torch, *xs: fn(*xs)


def mp_function(expr: sp.Expr, variables):
    """An mpmath function of ``variables`` computing ``expr`` (σ written out)."""
    dummies = [sp.Dummy() for _ in variables]
    body = explicit(expr).xreplace(dict(zip(variables, dummies)))
    return sp.lambdify(dummies, body, modules="mpmath")


def central_difference(f, point, k, h=None):
    """∂f/∂x_k at ``point`` by a central difference at high precision."""
    with mpmath.workdps(DIGITS):
        h = h or mpmath.mpf("1e-15")
        up = list(point); up[k] += h
        down = list(point); down[k] -= h
        return (f(*up) - f(*down)) / (2 * h)


def ulp_error(got: float, want, dtype) -> float:
    """|got − want| in ULPs of ``dtype`` at ``want`` (an mpmath number), the smallest subnormal below the normal
    range; 0 where both are NaN, both the same infinity, or ``want`` lies past the dtype's range and ``got`` is the
    infinity of its sign; inf where ``got`` is not finite otherwise."""
    import numpy as np

    info = np.finfo(dtype)
    if mpmath.isnan(want):
        return 0.0 if np.isnan(got) else np.inf
    if mpmath.isinf(want) or abs(want) > mpmath.mpf(float(info.max)):
        return 0.0 if np.isinf(got) and np.sign(got) == mpmath.sign(want) else np.inf
    if not np.isfinite(got):
        return np.inf
    unit = max(abs(want) * mpmath.mpf(float(info.eps)), mpmath.mpf(float(info.smallest_subnormal)))
    return float(abs(mpmath.mpf(float(got)) - want) / unit)


def ulps(got, true, dtype) -> float:
    """|got − true| in ULPs of ``dtype`` at the truth: the spacing of ``true`` rounded to ``dtype`` (its binade's
    step, where ``ulp_error`` above takes |true|·eps, up to 2× less), the smallest subnormal below the normal range.
    A truth past the dtype's largest number: 0 where ``got`` is the infinity of its sign, else inf; a ``got`` that
    is NaN or infinite for a finite truth: inf. ``true`` an mpmath number (kept at its own precision) or a float;
    ``dtype`` a NumPy float type or its name. The tests' shared reference (session 32: it was written in each file)."""
    import numpy as np

    typ = np.dtype(dtype).type
    info = np.finfo(typ)
    got = float(got)
    true = true if isinstance(true, mpmath.mpf) else mpmath.mpf(true)
    if abs(true) > mpmath.mpf(float(info.max)):
        return 0.0 if got == (math.inf if true > 0 else -math.inf) else math.inf
    if not math.isfinite(got):
        return math.inf
    if abs(true) < mpmath.mpf(float(info.tiny)):
        unit = float(info.smallest_subnormal)
    else:
        unit = float(np.spacing(typ(abs(float(true)))))
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(unit))


def assert_close(got, want, rel=1e-10, what=""):
    got, want = complex(got), complex(want)
    scale = max(1.0, abs(want))
    assert abs(got - want) <= rel * scale, f"{what}: got {got}, want {want} (diff {abs(got - want):.3g})"


def random_point(variables, seed=0, low=-1.5, high=1.5):
    rng = random.Random(seed)
    out = []
    for v in variables:
        lo = 0.2 if v.is_positive else low
        out.append(mpmath.mpf(rng.uniform(lo, high)))
    return out


@pytest.fixture(scope="session")
def curriculum():
    import symnet
    return {name: symnet.get(name) for name in symnet.catalog()}


def triton_torch():
    """torch, with triton importable, under the interpreter where there is no GPU; skips the
    test where either is not installed."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    pytest.importorskip("triton")
    return torch


@pytest.fixture
def on_the_device():
    """On a machine with a CUDA device, every tensor, module and parameter a test makes without naming a device is
    made there (``torch.device`` as a context manager), so a test written for the CPU with ``.to(DEVICE)`` on its
    inputs never mixes a CPU tensor (a target, an ``nn.Linear``'s weight) with CUDA ones: the H200 run of
    2026-12-04 failed 30 cases of test_symnet_torch and test_fused_linear_ce that way (DeviceError, the tests' own
    fault). Random draws name ``device="cpu"`` (a seeded CPU generator) and move. Nothing changes without CUDA."""
    import torch

    if not torch.cuda.is_available():
        yield
        return
    with torch.device("cuda"):
        yield


@pytest.fixture
def clean_timer():
    """No ITIMER_REAL timer in the test (bounds.alarm's tests: tests/test_alarm22.py, test_breakage22.py); the SIGALRM
    handler and a timer that ran before (pytest-timeout's) given back after it. POSIX only (the tests skip elsewhere)."""
    previous = signal.getsignal(signal.SIGALRM)
    left = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if left[0] > 0:
        signal.setitimer(signal.ITIMER_REAL, *left)


def patch_rewrite(monkeypatch, name: str, value) -> None:
    """Set ``name`` to ``value`` in every module of the package symnet.codegen.rewrite that holds the object it names
    (the package's own namespace, the module defining it, the modules importing it), so that every function sees the
    patch wherever the split script (session 43) placed the name and its callers."""
    import importlib
    import pkgutil

    from symnet.codegen import rewrite

    original = getattr(rewrite, name)
    modules = [rewrite] + [importlib.import_module(f"{rewrite.__name__}.{m.name}")
                           for m in pkgutil.iter_modules(rewrite.__path__)]
    for module in modules:
        if getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, value)


@pytest.fixture
def recorded():
    """``sys.unraisablehook`` replaced by a recorder for the test; what it was given, as (type, object) pairs
    (tests/test_stop60.py, tests/test_thread45.py: a time-limit deadline must never be reported there)."""
    import sys
    seen, previous = [], sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append((u.exc_type, u.object))
    try:
        yield seen
    finally:
        sys.unraisablehook = previous
