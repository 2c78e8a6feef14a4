"""The triton_op path run on the CPU: a kernel of Triton's interpreter given the face of a JIT
kernel, so ``torch.library.wrap_triton`` traces it and the traced graph launches it.

Under ``TRITON_INTERPRET=1`` ``@triton.jit`` returns an ``InterpretedFunction``, which
``wrap_triton`` hands back unwrapped (torch/_library/triton.py: "eager-launchable but lacks the
JIT metadata the traceable wrapper needs"): launched on a FakeTensor while torch.compile traces
the op, it fails ("Cannot access data pointer of Tensor"). :func:`jit_twin` builds a
``JITFunction`` over the same Python function (the metadata tracing reads: argument names,
constexprs, source) whose launch (``run``) is the interpreter's. Its helpers (other
``@triton.jit`` functions it calls) get twins too, as Triton's dependency scan refuses an
interpreted function it meets ("Unsupported function referenced").

What does not carry over: torch finds which arguments a kernel writes from its TTIR, which
needs a GPU driver ("0 active drivers"); without it torch treats every tensor argument as
written (a logged warning) and the traced graph clones them all before the launch. The values
are the same, the copies cost time, which under the interpreter is no concern.
"""
from __future__ import annotations

import types

from triton.runtime.interpreter import InterpretedFunction
from triton.runtime.jit import JITFunction


class InterpretedJIT(JITFunction):
    """A JIT kernel whose launch runs ``interpreted`` (Triton's interpreter, on CPU tensors)."""

    def __init__(self, fn, interpreted: InterpretedFunction):
        super().__init__(fn)
        self.interpreted = interpreted

    def run(self, *args, grid, warmup, **kwargs):
        return self.interpreted.run(*args, grid=grid, warmup=warmup, **kwargs)


_TWINS: dict[int, tuple[InterpretedFunction, InterpretedJIT]] = {}


def jit_twin(kernel: InterpretedFunction) -> InterpretedJIT:
    """The JIT face of an interpreted kernel (one per kernel, cached): the same function with
    its interpreted helpers replaced by their twins in a copy of its globals."""
    known = _TWINS.get(id(kernel))
    if known is not None and known[0] is kernel:
        return known[1]
    fn = kernel.fn
    names = dict(fn.__globals__)
    copy = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__annotations__, copy.__module__, copy.__qualname__ = fn.__annotations__, fn.__module__, fn.__qualname__
    twin = InterpretedJIT(copy, kernel)
    _TWINS[id(kernel)] = (kernel, twin)  # before the helpers: a helper may call back (recursion)
    for name, value in fn.__globals__.items():
        if isinstance(value, InterpretedFunction):
            names[name] = jit_twin(value)
    return twin


def is_interpreted(kernel) -> bool:
    return isinstance(kernel, InterpretedFunction)
