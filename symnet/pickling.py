"""A named :class:`~symnet.derivation.Derivation` as bytes and back, exactly as it was built.

SymPy's own pickling rebuilds each expression through its constructor, which evaluates: the
unevaluated forms a printout shows (3 + 2, 2·(θ − 3), a Σ of 1·e^z) come back changed, and a
:class:`~symnet.derivation.Name` loses its spelling. Here every SymPy object is written as
its class and its arguments and rebuilt without evaluation (``AssocOp._from_args`` for sums
and products, the constructor under ``sympy.evaluate(False)`` for the rest), and the leaves
(symbols, numbers, names, ∂ symbols, indexed bases) each as the few values that make them.

The bytes are a pickle, but one that can only call this module's two rebuilders, which
check what they get (a SymPy class named by module and name, SymPy objects as its
arguments, plain values for a leaf), and symnet's frozen dataclasses: loading it never
imports, calls or evaluates anything else (:class:`_Unpickler` refuses every other
global). A class is looked up in a module already imported, or in one of symnet's own
modules that define SymPy classes (:data:`_CLASS_MODULES`, imported where a fresh process
has not yet), never in another: a pickle naming ``symnet.torch._ops`` made loading it import
torch and register symnet's ops (9 s), one naming a SymPy module import that module. It is read only from symnet's private cache folder, after its SHA-256 is checked
(:mod:`symnet.curriculum`, :mod:`symnet.codegen.stored`).
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import pickle
import sys

import sympy as sp
from sympy.core.operations import AssocOp
from sympy.core.symbol import Str
from sympy.tensor.indexed import IndexedBase

from .derivation import ArgumentCheck, ByName, Derivation, Name, NoGradients, Partial, Section, Step, _SPELLINGS
from .render import object_srepr

__all__ = ["dumps", "loads", "same", "UnfaithfulError"]

_PROTOCOL = 5
_MODULES = ("sympy.", "symnet.")  # where a rebuilt class may come from
# symnet's modules that define SymPy classes (tests/test_breakage15.py lists them all): the only modules loading
# may import, where a fresh process reading its cache has not yet (a curriculum derivation's Iverson bracket)
_CLASS_MODULES = ("symnet.derivation", "symnet.functions", "symnet.special", "symnet.registry", "symnet.indexed",
                  "symnet.codegen.ir", "symnet.codegen.rewrite.pairs", "symnet.codegen.rewrite.powers",
                  "symnet.codegen.rewrite.widening", "symnet.codegen.roots",
                  "symnet.codegen.families.rowwise", "symnet.codegen.backends.printing")


class UnfaithfulError(ValueError):
    """Bytes that are not a Derivation this module wrote, or an object it cannot write."""


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _basic_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    # a dunder module is never a class's home, and importing one runs code: symnet.__main__
    # runs the command line on the process's own argv and exits it
    if (not module.startswith(_MODULES) or not qualname.isidentifier()
            or not all(part.isidentifier() and not part.startswith("__") for part in module.split("."))):
        raise UnfaithfulError(f"not a class symnet stores: {name}")
    cls = getattr(_imported(module), qualname, None)
    if cls is None:
        raise UnfaithfulError(f"not a class symnet stores: {name}")
    if not (isinstance(cls, type) and issubclass(cls, sp.Basic)):
        raise UnfaithfulError(f"not a SymPy class: {name}")
    return cls


def _imported(module: str):
    """The module ``module`` if it is imported, or one of :data:`_CLASS_MODULES` (imported here), or a SymPy
    module one of those imports; else None: nothing else is imported."""
    if module not in sys.modules:
        if module in _CLASS_MODULES:
            importlib.import_module(module)
        elif module.startswith("sympy."):  # sympy.codegen.cfunctions: imported by symnet's modules, not by sympy
            for home in _CLASS_MODULES:
                if module in sys.modules:
                    break
                importlib.import_module(home)
    return sys.modules.get(module)


def _node(name: str, args: tuple) -> sp.Basic:
    """A SymPy object of class ``name`` with exactly these arguments, not evaluated."""
    cls = _basic_class(name)
    if not all(isinstance(a, sp.Basic) for a in args):
        raise UnfaithfulError(f"{name} with an argument that is not a SymPy object")
    if issubclass(cls, AssocOp):
        return cls._from_args(args)
    with sp.evaluate(False):
        obj = cls(*args)
    if type(obj) is cls and obj.args == args:
        return obj
    # a constructor that rewrites even so (Σ e^z became Σ 1·e^z): the object it built, with the
    # arguments as stored (its other slots, such as is_commutative, copied; the value is the same)
    exact = sp.Basic.__new__(cls, *args)
    for klass in cls.__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in ("_args", "_mhash") and hasattr(obj, slot):
                setattr(exact, slot, getattr(obj, slot))
    exact._assumptions = obj._assumptions.copy()
    return exact


_SIMPLE = (bool, int, str, type(None))


def _leaf(kind: str, *values) -> sp.Basic:
    """A symbol, number, name, ∂ symbol or indexed base from the values :func:`_reduce` wrote."""
    if kind in ("symbol", "name", "dummy"):
        name, assumptions, *rest = values
        if not (isinstance(name, str) and isinstance(assumptions, dict)
                and all(isinstance(k, str) and isinstance(v, bool) for k, v in assumptions.items())):
            raise UnfaithfulError(f"a bad {kind}")
        if kind == "symbol":
            return sp.Symbol(name, **assumptions)
        if kind == "dummy":
            (index,) = rest
            if not isinstance(index, int):
                raise UnfaithfulError("a bad dummy")
            return sp.Dummy(name, dummy_index=index, **assumptions)
        latex, text = rest
        if not (isinstance(latex, str) and isinstance(text, str)):
            raise UnfaithfulError("a bad name")
        return Name(name, latex, text, **assumptions)
    if kind == "partial":
        num, den, total = values
        if not (isinstance(num, sp.Basic) and isinstance(den, sp.Basic) and isinstance(total, bool)):
            raise UnfaithfulError("a bad ∂ symbol")
        return Partial(num, den, total)
    if kind == "number":  # Integer, Rational or a singleton number: from its exact p/q
        name, p, q = values
        if not (isinstance(p, int) and isinstance(q, int) and q > 0):
            raise UnfaithfulError("a bad number")
        number = sp.Rational(p, q)
        if _class_name(type(number)) != name:
            raise UnfaithfulError(f"the number {p}/{q} is not a {name}")
        return number
    if kind == "float":
        sign, mantissa, exponent, bits, precision = values
        if not all(isinstance(v, int) for v in values) or sign not in (0, 1) or mantissa < 0:
            raise UnfaithfulError("a bad float")
        return sp.Float._new((sign, mantissa, exponent, bits), precision)
    if kind == "constant":  # a singleton without a value: π, E, ∞, nan …
        (name,) = values
        cls = _basic_class(name)
        if not getattr(cls, "is_Atom", False) or not isinstance(getattr(sp.S, cls.__name__, None), cls):
            raise UnfaithfulError(f"not a SymPy constant: {name}")
        return getattr(sp.S, cls.__name__)
    if kind == "str":
        (text,) = values
        if not isinstance(text, str):
            raise UnfaithfulError("a bad Str")
        return Str(text)
    if kind == "indexedbase":
        label, shape, offset, strides = values
        if not (isinstance(label, sp.Symbol) and (shape is None or isinstance(shape, sp.Tuple))
                and isinstance(offset, sp.Basic) and (strides is None or isinstance(strides, (sp.Basic, str)))):
            raise UnfaithfulError("a bad indexed base")
        return IndexedBase(label, shape, offset=offset, strides=strides)
    raise UnfaithfulError(f"an unknown kind of leaf: {kind!r}")


def _matrix(rows: int, cols: int, entries: tuple) -> sp.Matrix:
    if not (isinstance(rows, int) and isinstance(cols, int) and len(entries) == rows * cols
            and all(isinstance(e, sp.Basic) for e in entries)):
        raise UnfaithfulError("a bad matrix")
    return sp.Matrix(rows, cols, list(entries))


def _reduce(obj):
    """How :class:`_Pickler` writes ``obj``: SymPy objects and matrices through the rebuilders."""
    if isinstance(obj, sp.MatrixBase) and not isinstance(obj, sp.Basic):
        return _matrix, (obj.rows, obj.cols, tuple(obj))
    if not isinstance(obj, sp.Basic):
        return NotImplemented
    cls = type(obj)
    if isinstance(obj, Partial):
        return _leaf, ("partial", obj.num, obj.den, obj.total)
    if isinstance(obj, Name):
        latex, text = _SPELLINGS[obj.name]
        return _leaf, ("name", obj.name, obj._assumptions_orig, latex, text)
    if cls is sp.Dummy:
        return _leaf, ("dummy", obj.name, obj._assumptions_orig, obj.dummy_index)
    if cls is sp.Symbol:
        return _leaf, ("symbol", obj.name, obj._assumptions_orig)
    if cls is IndexedBase:
        return _leaf, ("indexedbase", obj.label, obj.shape, obj.offset, obj.strides)
    if isinstance(obj, sp.Float):
        sign, mantissa, exponent, bits = obj._mpf_
        return _leaf, ("float", sign, int(mantissa), exponent, bits, obj._prec)
    if isinstance(obj, sp.Rational):
        return _leaf, ("number", _class_name(cls), int(obj.p), int(obj.q))
    if cls is Str:
        return _leaf, ("str", obj.name)
    if obj.is_Atom and not obj.args and getattr(sp.S, cls.__name__, None) is obj:
        return _leaf, ("constant", _class_name(cls))
    if obj.args and not isinstance(obj, sp.Symbol):
        return _node, (_class_name(cls), obj.args)
    raise UnfaithfulError(f"symnet cannot store a {_class_name(cls)}")


class _Pickler(pickle._Pickler):
    """Writes each SymPy object as the first EQUAL one met, so that the bytes depend on the
    derivation's values only, not on which of its equal parts happen to be one Python object: that
    depends on SymPy's global cache (an evicted Symbol('x', real=True) comes back a new object), so
    the same derivation built after other work pickled differently (tests/test_breakage14.py, d).
    The pure-Python pickler: its ``save`` is where an object meets the memo."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._first: dict = {}

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, sp.Basic):  # a Float's precision is not part of its equality
            obj = self._first.setdefault((type(obj), obj, getattr(obj, "_prec", None)), obj)
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        return _reduce(obj)


# the only globals a stored derivation may name
_ALLOWED = {("symnet.pickling", f.__name__): f for f in (_node, _leaf, _matrix)}
_ALLOWED.update({(c.__module__, c.__qualname__): c for c in (Derivation, Section, Step, ByName, NoGradients,
                                                                  ArgumentCheck)})
_ALLOWED.update({("builtins", c.__name__): c for c in (set, frozenset)})


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnfaithfulError(f"a stored derivation may not name {module}.{name}") from None


def dumps(d: Derivation) -> bytes:
    """``d`` as bytes for :func:`loads`.

    Raises:
        UnfaithfulError: ``d`` holds an object this module cannot rebuild exactly.
    """
    out = io.BytesIO()
    try:
        _Pickler(out, protocol=_PROTOCOL).dump(d)
    except UnfaithfulError:
        raise
    except Exception as exc:  # an object pickle itself cannot write (a function, a lock …)
        raise UnfaithfulError(f"symnet cannot store this derivation ({type(exc).__name__}: {exc})") from None
    return out.getvalue()


def loads(data: bytes) -> Derivation:
    """The Derivation :func:`dumps` wrote.

    Raises:
        UnfaithfulError: the bytes name anything but the rebuilders and symnet's dataclasses,
            or give a rebuilder values it refuses, or do not hold a Derivation.
    """
    try:
        d = _Unpickler(io.BytesIO(data)).load()
    except UnfaithfulError:
        raise
    except Exception as exc:  # a garbled file: any unpickling error
        raise UnfaithfulError(f"not a stored derivation ({type(exc).__name__})") from None
    if not isinstance(d, Derivation):
        raise UnfaithfulError("not a stored derivation")
    return d


def same(a, b) -> bool:
    """Whether two derivations hold the same objects, each SymPy object compared by its exact
    structure (``sympy.srepr``: class, arguments and assumptions), not by SymPy's equality."""
    return _fingerprint(a) == _fingerprint(b)


def _fingerprint(obj, srepr=None) -> str:
    # sympy.srepr's text, each object printed once (render.object_srepr): focal(focal(z, t), t)'s derivation and
    # kernel, trees of 50,000 operations written out, took 8 of its compile's 52 CPU s in srepr (the disk cache's key
    # and its faithful-copy check), about a hundredth of that so (tidy37)
    srepr = srepr or object_srepr()
    if isinstance(obj, (sp.Basic, sp.MatrixBase)):
        return srepr(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{_fingerprint(k, srepr)}: {_fingerprint(v, srepr)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (tuple, list)):
        return "(" + ", ".join(_fingerprint(o, srepr) for o in obj) + ")"
    if isinstance(obj, (Derivation, Section, Step)) or (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
        fields = obj.__dataclass_fields__  # a Derivation's parts, a kernel description's (symnet.codegen.stored)
        return f"{type(obj).__name__}(" + ", ".join(f"{f}={_fingerprint(getattr(obj, f), srepr)}" for f in fields) + ")"
    return repr(obj)

