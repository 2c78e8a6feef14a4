"""The kernel descriptions ``symnet.compile`` builds, kept on disk for the next process.

Most of a first ``symnet.compile`` (and of the first call of a :mod:`symnet.torch` activation
or loss, which compiles its registry formula) is :func:`symnet.codegen.ir.describe`:
stabilising the outputs (``rewrite/series.py``'s root-series fits take 7–25 s for GELU, Mish and
focal on a 2-core CPU) and CSE. Its result, a :class:`~symnet.codegen.ir.Kernel`, depends
only on the derivation, the options (``name``, ``value``, ``gradients``) and the code of
symnet and SymPy, not on the backend or the dtype (each backend prints the same Kernel; Triton
keeps its compiled binaries per dtype in its own cache). So it is kept in
``<cache>/kernels/`` (the private folder of :mod:`symnet.cache`: created 0700, refused unless
it is the user's alone), in a file named by a SHA-256 of the derivation's parts and the
options, and by :func:`symnet.cache.cache_key` (symnet's version, a hash of every source
file of symnet, SymPy's version): any change to symnet makes a fresh key; the files of other
keys (another version sharing the folder) are deleted once unused for a while
(:data:`symnet.cache.STALE_KEY_S`), and the least recently used files beyond :mod:`symnet.cache`'s
bounds go too.

What is stored is data, never code: a line with the SHA-256 of the file's name and the rest
(:func:`symnet.cache.sealed`: a file copied under another formula's name is not used), then the Kernel as
:mod:`symnet.pickling` writes a derivation (SymPy objects as class and arguments,
rebuilt without evaluation; symnet's Kernel dataclasses; a stability rule by its name, looked
up among :mod:`symnet.codegen.rewrite`'s rules; a widened node, whose class is made at run
time, by its body, through :func:`symnet.codegen.rewrite.widen`). The loader can build nothing
else, and the generated source is emitted afresh from the Kernel in each process (a tenth of a
second): the file is never executed. A Kernel is stored only if it comes back exactly
(compared object by object); a file that is garbled, truncated or refused is ignored and
the Kernel built again. Written atomically (a temporary file, fsync, rename).
``SYMNET_NO_DISK_CACHE=1`` turns this cache off, as it does the derivation cache.

The derivation a :mod:`symnet.torch` activation or loss compiles (its registry formula with
its parameters, derived with respect to every input: focal's takes ~10 s) is kept beside
(:func:`stored_derivation`), the way :func:`symnet.get` keeps a named one, so a later process
neither derives nor stabilises it.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from .. import pickling
from ..cache import cache_key, read, save, sealed, unsealed
from ..derivation import ArgumentCheck, Derivation
from . import ir
from .ir import Kernel, KernelInput, KernelOutput

__all__ = ["described", "stored_derivation", "FOLDER"]

FOLDER = "kernels"  # the subfolder of symnet's cache folder
_SUFFIX = ".kernel"
_DERIVATION_SUFFIX = ".derivation"
_SUFFIXES = (_SUFFIX, _DERIVATION_SUFFIX)
_HEADER = b"symnet kernel sha256="
_DERIVATION_HEADER = b"symnet derivation pickle sha256="


def described(d: Derivation, *, name: str | None = None, value: bool = True, gradients: bool = True) -> Kernel:
    """``ir.describe(d, name=name, value=value, gradients=gradients)``, from the disk cache where
    an earlier process stored it, else built and stored. Raises what ``describe`` raises."""
    if os.environ.get("SYMNET_NO_DISK_CACHE"):
        return ir.describe(d, name=name, value=value, gradients=gradients)

    try:
        filename = _filename(d, name, value, gradients)
    except pickling.UnfaithfulError:  # a derivation holding an object symnet.pickling cannot write
        return ir.describe(d, name=name, value=value, gradients=gradients)
    kernel = _load(filename)
    if kernel is None:
        kernel = ir.describe(d, name=name, value=value, gradients=gradients)
        _keep(filename, kernel)
    return kernel


def _filename(d: Derivation, name, value: bool, gradients: bool) -> str:
    """The cache file of these arguments: what ``describe`` reads of ``d``, and the options."""

    parts = (d.name, d.title, d.inputs, d.definitions, d.wrt, d.outputs, d.jacobian, d.domains, name, value, gradients)
    digest = hashlib.sha256(pickling._fingerprint(parts).encode()).hexdigest()[:32]
    return f"{digest}-{cache_key()}{_SUFFIX}"


def _load(filename: str) -> Kernel | None:

    data = read(filename, FOLDER)
    if data is None:
        return None
    body = unsealed(_HEADER, filename, data)
    if body is None:
        return None  # garbled, truncated or another formula's: built again (and written over)
    try:
        kernel = _loads(body)
    except pickling.UnfaithfulError:
        return None
    return kernel


def _keep(filename: str, kernel: Kernel) -> None:

    try:
        body = _dumps(kernel)
        if not pickling.same(_loads(body), kernel):
            return
    except pickling.UnfaithfulError:  # a rule or a SymPy class that cannot be named (made at run time)
        return
    save(filename, sealed(_HEADER, filename, body), FOLDER, _SUFFIXES)


def stored_derivation(key: str, build) -> Derivation:
    """``build()``, a Derivation that depends only on ``key`` and symnet's code (a registry entry and
    its parameters: the first call of a :mod:`symnet.torch` op derives focal's formula for ~10 s), from
    this folder where an earlier process kept it, else built and kept (only if it comes back exactly,
    as :func:`symnet.get` keeps a named derivation). Raises what ``build`` raises."""
    if os.environ.get("SYMNET_NO_DISK_CACHE"):
        return build()

    filename = f"{hashlib.sha256(key.encode()).hexdigest()[:32]}-{cache_key()}{_DERIVATION_SUFFIX}"
    data = read(filename, FOLDER)
    body = None if data is None else unsealed(_DERIVATION_HEADER, filename, data)
    if body is not None:  # not garbled, truncated, nor another key's file
        try:
            return pickling.loads(body)
        except pickling.UnfaithfulError:
            pass  # built again, and written over
    d = build()
    try:
        body = pickling.dumps(d)
        if not pickling.same(pickling.loads(body), d):
            return d
    except pickling.UnfaithfulError:
        return d
    save(filename, sealed(_DERIVATION_HEADER, filename, body), FOLDER, _SUFFIXES)
    return d


# ---------------------------------------------------------------- the Kernel as bytes

@lru_cache(maxsize=None)
def _rules() -> dict:
    """Every stability rule by its name (a name two rules share is left out: neither is stored)."""
    from . import rewrite

    found: dict = {}
    for rule in (*rewrite.RULES, *rewrite._BY_NAME.values(), rewrite.SIGMOID_PAIR):
        if found.get(rule.name, rule) is not rule:
            found[rule.name] = None
        else:
            found[rule.name] = rule
    return found


def _rule(name: str):
    """The stability rule named ``name`` (what the loader calls for a stored rule)."""

    rule = _rules().get(name) if isinstance(name, str) else None
    if rule is None:
        raise pickling.UnfaithfulError(f"not a stability rule: {name!r}")
    return rule


def _widened(body, first_order, args, in_float32=False, far_bound=0):
    """The widened node of ``body`` (:func:`symnet.codegen.rewrite.widen`: its class is made from the
    body, named by a digest of it) at ``args`` (what the loader calls for a stored widened node)."""
    import sympy as sp

    from .rewrite import widen

    if not (isinstance(body, sp.Expr) and isinstance(first_order, bool) and isinstance(args, tuple)
            and all(isinstance(a, sp.Basic) for a in args) and isinstance(in_float32, bool)
            and type(far_bound) is int and 0 <= far_bound <= 1100):
        raise pickling.UnfaithfulError("a bad widened node")
    node = widen(body, first_order, in_float32, far_bound)
    if len(args) != len(node.args):
        raise pickling.UnfaithfulError("a widened node with the wrong number of arguments")
    return type(node)(*args)


def _dumps(kernel: Kernel) -> bytes:
    import io

    from .rewrite import Rule, WidenedBase

    class Pickler(pickling._Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, WidenedBase):  # a class of its own, made at run time: by its body
                far = getattr(obj, "far_bound", 0)  # (rational-product's; absent from the others' records)
                return _widened, (obj.body, bool(getattr(obj, "first_order", False)), obj.args,
                                  bool(getattr(obj, "in_float32", False))) + ((far,) if far else ())
            if isinstance(obj, Rule):
                if _rules().get(obj.name) is not obj:
                    raise pickling.UnfaithfulError(f"the rule {obj.name!r} cannot be named")
                return _rule, (obj.name,)
            return super().reducer_override(obj)

    out = io.BytesIO()
    try:
        Pickler(out, protocol=pickling._PROTOCOL).dump(kernel)
    except pickling.UnfaithfulError:
        raise
    except Exception as exc:  # an object pickle itself cannot write
        raise pickling.UnfaithfulError(f"symnet cannot store this kernel ({type(exc).__name__}: {exc})") from None
    return out.getvalue()


_ALLOWED = {(c.__module__, c.__qualname__): c for c in (Kernel, KernelInput, KernelOutput, ArgumentCheck)}
_ALLOWED.update({(__name__, f.__name__): f for f in (_rule, _widened)})


def _loads(data: bytes) -> Kernel:
    """The Kernel :func:`_dumps` wrote; raises pickling.UnfaithfulError for anything else."""
    import io


    class Unpickler(pickling._Unpickler):
        def find_class(self, module, name):
            found = _ALLOWED.get((module, name))
            return found if found is not None else super().find_class(module, name)

    try:
        kernel = Unpickler(io.BytesIO(data)).load()
    except pickling.UnfaithfulError:
        raise
    except Exception as exc:  # a garbled file: any unpickling error
        raise pickling.UnfaithfulError(f"not a stored kernel ({type(exc).__name__})") from None
    if not isinstance(kernel, Kernel):
        raise pickling.UnfaithfulError("not a stored kernel")
    return kernel
