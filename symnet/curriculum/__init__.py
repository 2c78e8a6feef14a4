"""The lecture's items as named derivations (see ``../shared/CURRICULUM.md``).

Each block module registers builders with :func:`register`; a builder runs the engine
(and adds checked claims, such as the lecture's own form of a result) and returns a
:class:`~symnet.derivation.Derivation`. Builders run on first use and are cached, in
memory and on disk.

The disk cache: a named derivation does not depend on anything the user gives, so it is kept
in ``<cache>/derivations/`` (the private folder of :mod:`symnet.cache`: created 0700, refused
unless it is the user's alone), keyed by symnet's version, a hash of symnet's source files and
SymPy's version: any change makes a fresh key; files of other keys (another version sharing the
folder) are deleted once unused for a while (:data:`symnet.cache.STALE_KEY_S`), and the least
recently used beyond :mod:`symnet.cache`'s bounds. Each file starts with a line holding the
SHA-256 of its name and the rest (:func:`symnet.cache.sealed`), written atomically (a temporary
file, fsync, rename); a garbled or truncated file, or one copied under another derivation's
name, is built again.

* ``symnet derive NAME`` keeps the printout (per format): plain UTF-8 that is read and printed,
  never executed or parsed; a repeated command prints it without loading SymPy or the engine.
* ``symnet.get(NAME)`` (:func:`get_stored`) keeps the Derivation itself
  (:mod:`symnet.pickling`): SymPy's own pickling rebuilds every object through its
  constructor, which evaluates (3 + 2, 2·(θ − 3), a Σ of 1·e^z come back changed) and loses a
  ``Name``'s spelling, so each object is stored as its class and arguments and rebuilt without
  evaluation; a derivation is stored only if it comes back exactly (compared object by object
  with ``sympy.srepr``), and the loader calls nothing but those rebuilders
  (``tests/test_startup.py`` checks that every named derivation prints the same, in every
  format, loaded in a fresh process).

A planted file could at worst change what is printed, and even that is prevented by reading
only a regular file owned by the user that neither group nor others can write, in a folder
that passes :mod:`symnet.cache`'s checks (opened through checked descriptors, no symbolic
links followed). The in-memory caches keep each derivation once per process.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..derivation import Derivation

from ..cache import cache_key, read, save, sealed, unsealed
from ..errors import UnknownNameError

__all__ = ["register", "get", "catalog", "names", "claim", "with_sections", "compose", "forward_section"]

_BUILDERS: dict[str, tuple[str, Callable[[], Derivation]]] = {}

# the lecture's order; every name here is registered by one of the block modules
ORDER = (
    "linear-miles", "perceptron", "sigmoid", "mse-sigmoid", "gradient-descent",
    "comp-graph", "param-sharing", "jacobian", "cross-entropy", "softmax",
    "softmax-cross-entropy", "dense", "backprop", "rnn-bptt", "vanishing-gradient",
)


def register(name: str, summary: str):
    def wrap(build: Callable[[], Derivation]):
        _BUILDERS[name] = (summary, build)
        return build
    return wrap


def _load() -> None:
    from . import classification, learning, networks, recurrent, scalar  # noqa: F401


def names() -> tuple[str, ...]:
    _load()
    return tuple(n for n in ORDER if n in _BUILDERS) + tuple(sorted(set(_BUILDERS) - set(ORDER)))


def catalog() -> dict[str, str]:
    return {n: _BUILDERS[n][0] for n in names()}


@lru_cache(maxsize=None)
def get(name: str) -> Derivation:
    """The named derivation, built on first use in this process (the command line's path:
    it keeps printouts, not derivations, on disk).

    Raises:
        UnknownNameError: no derivation has that name (the message suggests a close one).
    """
    import dataclasses
    import difflib

    _load()
    if name not in _BUILDERS:
        # the same words in another order first (sigmoid-mse is mse-sigmoid, not sigmoid), then spelling
        words = sorted(str(name).lower().replace("_", "-").split("-"))
        close = [n for n in _BUILDERS if sorted(n.split("-")) == words] or \
            difflib.get_close_matches(name, list(_BUILDERS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; see 'symnet derive --list'"
        shown = name if len(str(name)) <= 80 else f"{str(name)[:60]}… ({len(str(name))} characters)"
        raise UnknownNameError(f"unknown derivation '{shown}'{hint}")
    summary, build = _BUILDERS[name]
    d = build()
    return dataclasses.replace(d, name=name, summary=d.summary or summary)


@lru_cache(maxsize=None)
def get_stored(name: str) -> Derivation:
    """The named derivation for ``symnet.get``: from the disk cache (:func:`cached_derivation`),
    else built by :func:`get` and stored there (:func:`store_derivation`); once per process.

    Raises:
        UnknownNameError: no derivation has that name (the message suggests a close one).
        UnsafeCacheError: the cache folder or its ``derivations/`` is not the user's alone
            (:mod:`symnet.cache`; ``SYMNET_NO_DISK_CACHE=1`` turns the folder off).
    """
    d = cached_derivation(name)
    if d is None:
        d = get(name)
        store_derivation(name, d)
    return d


# ---------------------------------------------------------------- the disk cache

DISK_CACHE = "derivations"  # the subfolder of symnet's cache folder
_SUFFIXES = (".txt", ".pickle")  # its files: printouts, derivations
_DISK_ENV = "SYMNET_NO_DISK_CACHE"  # set (to anything) to build every derivation afresh


def cached_text(name: str, fmt: str) -> str | None:
    """The printout of the named derivation ``name`` in format ``fmt`` from the disk cache
    (written by :func:`store_text`), or None: plain UTF-8 text, printed as it is."""
    if os.environ.get(_DISK_ENV) or name not in ORDER or not fmt.isalnum():
        return None
    filename = text_filename(name, fmt)
    data = read(filename, DISK_CACHE)
    body = None if data is None else unsealed(_TEXT_HEADER, filename, data)
    if body is None:  # missing, garbled, truncated, or another derivation's printout: built again
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_text(name: str, fmt: str, text: str) -> None:
    """Keep the printout of ``name`` in format ``fmt`` for :func:`cached_text`."""
    if os.environ.get(_DISK_ENV) or name not in ORDER or not fmt.isalnum():
        return
    save(text_filename(name, fmt), text_bytes(name, fmt, text), DISK_CACHE, _SUFFIXES)


def cached_derivation(name: str) -> Derivation | None:
    """The named derivation ``name`` from the disk cache (written by :func:`store_derivation`),
    or None: missing, refused (see :func:`symnet.cache.read`), garbled or another name's (its seal
    differs) or not one :mod:`symnet.pickling` rebuilds; the caller then builds it again."""
    if os.environ.get(_DISK_ENV) or name not in ORDER:
        return None
    filename = derivation_filename(name)
    data = read(filename, DISK_CACHE)
    body = None if data is None else unsealed(_PICKLE_HEADER, filename, data)
    if body is None:
        return None
    from .. import pickling

    try:
        d = pickling.loads(body)
    except pickling.UnfaithfulError:
        return None
    return d if d.name == name else None


def store_derivation(name: str, d: Derivation) -> None:
    """Keep the built derivation ``name`` for :func:`cached_derivation`, if it comes back exactly
    as it is (:func:`symnet.pickling.same`); else nothing is stored."""
    if os.environ.get(_DISK_ENV) or name not in ORDER:
        return
    from .. import pickling

    try:
        body = pickling.dumps(d)
        if not pickling.same(pickling.loads(body), d):
            return
    except pickling.UnfaithfulError:
        return
    filename = derivation_filename(name)
    save(filename, sealed(_PICKLE_HEADER, filename, body), DISK_CACHE, _SUFFIXES)


_PICKLE_HEADER = b"symnet derivation pickle sha256="


def derivation_filename(name: str) -> str:
    return f"{name}-{cache_key()}.pickle"


def text_bytes(name: str, fmt: str, text: str) -> bytes:
    """The printout ``text`` of ``name`` in format ``fmt`` as its cache file holds it: a line with the
    SHA-256 of the file's name and the text (:func:`symnet.cache.sealed`), then the UTF-8 text."""
    return sealed(_TEXT_HEADER, text_filename(name, fmt), text.encode("utf-8"))


_TEXT_HEADER = b"symnet derivation text sha256="


def text_filename(name: str, fmt: str) -> str:
    return f"{name}-{cache_key()}.{fmt}.txt"


# ---------------------------------------------------------------- helpers for builders
# (in ._helpers, which loads SymPy: loaded when a builder imports them, not for a cached printout)

_HELPERS = ("claim", "claim_entries", "forward_section", "numbers", "with_sections", "compose", "signed")


def __getattr__(name: str):
    if name in _HELPERS:
        from . import _helpers

        return getattr(_helpers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
