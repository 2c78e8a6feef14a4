"""conftest's two newer changes to Triton's interpreter, for CI time (session 32):

- ``_interpreter_takes_operands_of_one_type_as_they_are`` now also splats a Python float beside a float32/float64
  block itself (the array Triton's ``scalar_constant`` and ``splat`` make, under the block's type object);
- ``_interpreter_makes_a_tensors_shape_once_a_type``: a tensor's ``shape`` and ``numel`` are made once per type
  object.

Before them (HEAD dd9d4ca, tests/test_security_names.py's Triton kernels, 3 kernels × 2 launches, CPU of the
launches, interleaved runs on a shared 2-core box): 3.47 / 3.20 / 3.24 / 3.30 s; with the splat 2.78 / 2.71 s; with
both 2.48 / 2.45 s. Without them test_the_shortcuts_are_installed and the shape tests fail (the attributes are
missing); the splat and launch tests compare with Triton's own path and hold before as after (guards: the results
must stay Triton's own, bit for bit).
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from conftest import torch_and_triton

torch, triton = torch_and_triton()
if os.environ.get("TRITON_INTERPRET") != "1":
    pytest.skip("the interpreter's shortcuts (TRITON_INTERPRET=1)", allow_module_level=True)

import sympy as sp  # noqa: E402
from triton.language import core  # noqa: E402
from triton.language.semantic import TritonSemantic  # noqa: E402
from triton.runtime import interpreter  # noqa: E402

import symnet  # noqa: E402

tl = triton.language


def test_the_shortcuts_are_installed():
    assert getattr(core.tensor.__init__, "symnet_shape_once", False)
    assert getattr(interpreter._get_np_dtype, "symnet_once", False)
    assert getattr(interpreter.FunctionRewriter.rewrite_ast, "symnet_once", False)
    assert getattr(TritonSemantic.binary_op_type_checking_impl, "symnet_shortcut", False)


def _shipped_tensor(handle, type_):
    t = object.__new__(core.tensor)
    core.tensor.__init__.shipped(t, handle, type_)
    return t


def _as_seen(t):
    """What a tensor's shape and numel are: classes and values."""
    return (type(t.numel), t.numel.value, type(t.shape), [(type(d), d.value) for d in t.shape],
            str(t.shape.type), t.dtype, t.type)


@pytest.mark.parametrize("make_type", [
    lambda: tl.float64, lambda: tl.float32, lambda: tl.int1, lambda: tl.block_type(tl.float32, [4]),
    lambda: tl.block_type(tl.float64, [2, 4]), lambda: tl.block_type(tl.int1, [1, 8]), lambda: tl.pointer_type(tl.float32),
    lambda: tl.block_type(tl.pointer_type(tl.float64), [16])], ids=range(8))
def test_a_tensors_shape_and_numel_are_triton_s_own(make_type):
    """Scalars, blocks, pointers: the same classes and values as Triton's own __init__ makes, for the first tensor
    of a type object and the next; each tensor's shape a tuple of its own (changing one leaves the other's)."""
    type_ = make_type()
    handle = interpreter.TensorHandle(np.zeros(getattr(type_, "shape", ()) or (), np.float32), tl.float32)
    want = _as_seen(_shipped_tensor(handle, type_))
    first, second = core.tensor(handle, type_), core.tensor(handle, type_)
    assert _as_seen(first) == want == _as_seen(second)
    if len(first.shape):
        assert first.shape is not second.shape
        first.shape._setitem(0, core.constexpr(99))
        assert _as_seen(second) == want and _as_seen(core.tensor(handle, type_)) == want


def test_numpy_dtypes_are_triton_s_own():
    """Scalars, blocks, pointers, blocks of pointers, asked twice: Triton's own answer; a type Triton has no NumPy
    dtype for raises as Triton's own raises, each time."""
    types = [tl.float32, tl.float64, tl.int1, tl.int32, tl.uint64, tl.float16, tl.bfloat16, tl.float8e5,
             tl.block_type(tl.float32, [4]), tl.block_type(tl.float64, [2, 4]), tl.block_type(tl.int1, [8]),
             tl.pointer_type(tl.float32), tl.block_type(tl.pointer_type(tl.float64), [16])]
    for t in types + types:
        assert interpreter._get_np_dtype(t) == interpreter._get_np_dtype.shipped(t), t
    for _ in range(2):
        with pytest.raises(KeyError):
            interpreter._get_np_dtype(tl.void)
        with pytest.raises(KeyError):
            interpreter._get_np_dtype.shipped(tl.void)


FLOATS_MET = [1.5, 0.1, -2.5, 1e300, 3.4028235677973366e38, 1e-320, 1e-45, -0.0, 0.0, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_float_beside_a_block_is_splat_as_triton_splats_it(dtype):
    """A float32/float64 block beside a Python float, either side, for +, / and without the arithmetic check:
    the block comes back as it is, the float as the array Triton's own makes (values, NaN, the sign of 0, the
    dtype, rounded to float32 where the block is float32), of an equal type."""
    sem = interpreter.interpreter_semantic
    shortcut = TritonSemantic.binary_op_type_checking_impl
    shipped = shortcut.shipped
    tdtype = getattr(tl, dtype)
    for shape in ([4], [2, 4]):
        data = np.arange(math.prod(shape), dtype=dtype).reshape(shape)
        block = sem.make_tensor(interpreter.TensorHandle(data, tdtype), tl.block_type(tdtype, shape))
        for value in FLOATS_MET:
            for lhs, rhs in ((block, value), (value, block)):
                for kwargs in ({}, {"div_or_mod": True}, {"arithmetic_check": False}):
                    got, want = shortcut(sem, lhs, rhs, **kwargs), shipped(sem, lhs, rhs, **kwargs)
                    for g, w in zip(got, want):
                        assert g.type == w.type and str(g.type) == str(w.type) and g.dtype == w.dtype
                        a, b = g.handle.data, w.handle.data
                        assert a.dtype == b.dtype and a.shape == b.shape and g.handle.dtype == w.handle.dtype
                        assert np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))
                    assert (got[0] if lhs is block else got[1]) is block


def _formula_kernel():
    x, y = sp.symbols("x y", real=True)
    return symnet.compile(symnet.derive(symnet.sigmoid(x) * y + sp.exp(x) * y ** 2 - 2.5 * x, [x, y]),
                          backend="triton")


def test_launches_compute_triton_s_own_bits(monkeypatch):
    """A float32 and a float64 launch of a generated kernel at ordinary and extreme points, and the float64
    cross-entropy of tests/test_interpreter13.py (double-word helpers called hundreds of times): the same bits
    with conftest's changes as with Triton's interpreter as it ships."""
    from test_interpreter13 import _cross_entropy_and_gradient

    k = _formula_kernel()
    xs = [-1e4, -745.0, -88.7, -20.0, -1.0, -1e-30, 0.0, 1e-30, 0.5, 20.0, 88.7, 709.0, 1e4]
    ys = [1.0, -3.0, 1e-300, 0.0, 2.5, -1e20, 7.0, 1e-8, -0.5, 3.0, 1e10, -2.0, 0.25]

    def run():
        outs = []
        for dtype in (torch.float32, torch.float64):
            outs += list(k(x=torch.tensor(xs, dtype=dtype), y=torch.tensor(ys, dtype=dtype)))
        return outs + list(_cross_entropy_and_gradient())

    ours = run()
    monkeypatch.setattr(interpreter, "_patch_lang", interpreter._patch_lang.shipped)
    for name in ("broadcast_impl_value", "binary_op_type_checking_impl"):
        monkeypatch.setattr(TritonSemantic, name, getattr(TritonSemantic, name).shipped)
    monkeypatch.setattr(core.tensor, "__init__", core.tensor.__init__.shipped)
    monkeypatch.setattr(interpreter, "_get_np_dtype", interpreter._get_np_dtype.shipped)
    monkeypatch.setattr(interpreter.FunctionRewriter, "rewrite_ast", interpreter.FunctionRewriter.rewrite_ast.shipped)
    monkeypatch.setattr(interpreter.InterpretedFunction, "rewritten_fn", {})  # each function rewritten again, by Triton
    theirs = run()
    assert len(ours) == len(theirs) == 8
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and torch.equal(a.view(-1).view(torch.int32 if a.dtype == torch.float32
                                                                   else torch.int64),
                                                  b.view(-1).view(torch.int32 if b.dtype == torch.float32
                                                                   else torch.int64))


def _code_as_seen(code):
    """A code object as it runs and reports: bytecode, names, constants (nested code too), file, lines, positions."""
    import types
    consts = tuple(_code_as_seen(c) if isinstance(c, types.CodeType) else (type(c), repr(c)) for c in code.co_consts)
    return (code.co_name, code.co_code, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_filename, code.co_firstlineno, tuple(code.co_positions()), code.co_exceptiontable, consts)


def test_a_rewritten_function_is_the_code_triton_compiles():
    """Every @triton.jit function of two generated modules that share helpers (the second module's reuse the first's
    code): the function ours returns has the code Triton's own rewriter compiles, with the same file, lines and
    positions, and the same globals."""
    x, y = sp.symbols("x y", real=True)
    kernels = [_formula_kernel(), symnet.compile(symnet.derive(sp.exp(x) * y - symnet.sigmoid(y), [x, y]),
                                                 backend="triton")]
    shipped = interpreter.FunctionRewriter.rewrite_ast.shipped
    seen = 0
    for k in kernels:
        for f in list(vars(k.module).values()):
            if isinstance(f, interpreter.InterpretedFunction):
                ours, theirs = f.rewriter.rewrite_ast(), shipped(f.rewriter)
                assert _code_as_seen(ours.__code__) == _code_as_seen(theirs.__code__), f.fn.__name__
                assert ours.__globals__ is theirs.__globals__ and ours.__name__ == theirs.__name__
                seen += 1
    assert seen > 10
