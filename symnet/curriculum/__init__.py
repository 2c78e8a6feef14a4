"""The lecture's items as named derivations (see ``../shared/CURRICULUM.md``).

Each block module registers builders with :func:`register`; a builder runs the engine
(and adds checked claims, such as the lecture's own form of a result) and returns a
:class:`~symnet.derivation.Derivation`. Builders run on first use and are cached, in
memory and on disk.

The disk cache: a named derivation does not depend on anything the user gives, so it is kept
in ``<cache>/derivations/`` (the private folder of :mod:`symnet.cache`: created 0700, refused
unless it is the user's alone), keyed by symnet's version, a hash of symnet's source files and
SymPy's version: any change makes a fresh key, and files of other keys are deleted when a new
one is written. Each file starts with a line holding the SHA-256 of the rest, written
atomically (a temporary file, fsync, rename); a garbled or truncated file is built again.

* ``symnet derive NAME`` keeps the printout (per format): plain UTF-8 that is read and printed,
  never executed or parsed; a repeated command prints it without loading SymPy or the engine.
* ``symnet.get(NAME)`` (:func:`get_stored`) keeps the Derivation itself
  (:mod:`symnet.curriculum._store`): SymPy's own pickling rebuilds every object through its
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

import hashlib
import os
import stat
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..derivation import Derivation

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
        close = difflib.get_close_matches(name, list(_BUILDERS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; see 'symnet derive --list'"
        raise UnknownNameError(f"unknown derivation '{name}'{hint}")
    summary, build = _BUILDERS[name]
    d = build()
    return dataclasses.replace(d, name=name, summary=d.summary or summary)


@lru_cache(maxsize=None)
def get_stored(name: str) -> Derivation:
    """The named derivation for ``symnet.get``: from the disk cache (:func:`cached_derivation`),
    else built by :func:`get` and stored there (:func:`store_derivation`); once per process.

    Raises:
        UnknownNameError: no derivation has that name (the message suggests a close one).
    """
    d = cached_derivation(name)
    if d is None:
        d = get(name)
        store_derivation(name, d)
    return d


# ---------------------------------------------------------------- the disk cache

DISK_CACHE = "derivations"  # the subfolder of symnet's cache folder
_MAX_FILE_BYTES = 64 * 2**20  # a stored derivation or printout is 3-100 kB
_DISK_ENV = "SYMNET_NO_DISK_CACHE"  # set (to anything) to build every derivation afresh


@lru_cache(maxsize=None)
def cache_key() -> str:
    """symnet's version and a hash of its source files (paths and contents) and of SymPy's
    version file (what is printed, and how a stored derivation is rebuilt, depend on it).

    Reading and hashing the ~1 MB of sources takes ~2 ms (measured), so a changed file always
    gives a new key (no mtimes are trusted); SymPy's version is found without importing it."""
    import importlib.util

    from .. import __version__

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    spec = importlib.util.find_spec("sympy")
    release = Path(spec.origin).with_name("release.py") if spec and spec.origin else None
    digest.update(b"sympy\0" + (release.read_bytes() if release and release.is_file() else b"?"))
    return f"{__version__}-{digest.hexdigest()[:20]}"


def _read(filename: str, folder: str = DISK_CACHE) -> bytes | None:
    """The bytes of ``filename`` in the derivation cache (or another ``folder`` of symnet's cache
    folder: ``kernels``, :mod:`symnet.stored`), or None: missing, or refused (with a
    warning) unless it is a regular file of the user's that no one else can write, in a folder
    that passes :mod:`symnet.cache`'s checks."""
    from .. import cache

    try:
        folder_fd = cache._open_private(cache.cache_root(), folder)
    except (OSError, cache.UnsafeCacheError) as exc:
        warnings.warn(f"symnet does not use its cache folder {folder}/: {exc}", RuntimeWarning, stacklevel=4)
        return None
    try:
        try:  # O_NONBLOCK: a FIFO planted under the name must not hang us
            fd = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a symbolic link (ELOOP) or worse: never read
            warnings.warn(f"symnet ignores {filename} in its cache folder {folder}/: {exc.strerror}",
                          RuntimeWarning, stacklevel=4)
            return None
        try:  # a folder planted under the name: os.fdopen would raise IsADirectoryError
            f = os.fdopen(fd, "rb")
        except OSError:
            try:
                os.close(fd)
            except OSError:
                pass
            warnings.warn(f"symnet ignores {filename} in its cache folder {folder}/: not a file",
                          RuntimeWarning, stacklevel=4)
            return None
        with f:
            st = os.fstat(f.fileno())
            if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                    or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                warnings.warn(f"symnet ignores {filename} in its cache folder {folder}/: not a file of "
                              "yours that only you can write", RuntimeWarning, stacklevel=4)
                return None
            data = f.read(_MAX_FILE_BYTES + 1)  # a planted sparse file of gigabytes is not read whole
            if len(data) > _MAX_FILE_BYTES:
                warnings.warn(f"symnet ignores {filename} in its cache folder {folder}/: larger than "
                              f"{_MAX_FILE_BYTES >> 20} MiB", RuntimeWarning, stacklevel=4)
                return None
            return data
    finally:
        os.close(folder_fd)


def cached_text(name: str, fmt: str) -> str | None:
    """The printout of the named derivation ``name`` in format ``fmt`` from the disk cache
    (written by :func:`store_text`), or None: plain UTF-8 text, printed as it is."""
    if os.environ.get(_DISK_ENV) or name not in ORDER or not fmt.isalnum():
        return None
    data = _read(text_filename(name, fmt))
    if data is None:
        return None
    header, _, body = data.partition(b"\n")  # the digest store_text wrote: a garbled or truncated file is rebuilt
    if header != _TEXT_HEADER + hashlib.sha256(body).hexdigest().encode():
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_text(name: str, fmt: str, text: str) -> None:
    """Keep the printout of ``name`` in format ``fmt`` for :func:`cached_text`."""
    if os.environ.get(_DISK_ENV) or name not in ORDER or not fmt.isalnum():
        return
    _save(text_filename(name, fmt), text_bytes(text))


def cached_derivation(name: str) -> Derivation | None:
    """The named derivation ``name`` from the disk cache (written by :func:`store_derivation`),
    or None: missing, refused (see :func:`_read`), garbled (its SHA-256 differs) or not one
    :mod:`symnet.curriculum._store` rebuilds; the caller then builds it again."""
    if os.environ.get(_DISK_ENV) or name not in ORDER:
        return None
    data = _read(derivation_filename(name))
    if data is None:
        return None
    header, _, body = data.partition(b"\n")
    if header != _PICKLE_HEADER + hashlib.sha256(body).hexdigest().encode():
        return None
    from . import _store

    try:
        d = _store.loads(body)
    except _store.UnfaithfulError:
        return None
    return d if d.name == name else None


def store_derivation(name: str, d: Derivation) -> None:
    """Keep the built derivation ``name`` for :func:`cached_derivation`, if it comes back exactly
    as it is (:func:`symnet.curriculum._store.same`); else nothing is stored."""
    if os.environ.get(_DISK_ENV) or name not in ORDER:
        return
    from . import _store

    try:
        body = _store.dumps(d)
        if not _store.same(_store.loads(body), d):
            return
    except _store.UnfaithfulError:
        return
    _save(derivation_filename(name), _PICKLE_HEADER + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


_PICKLE_HEADER = b"symnet derivation pickle sha256="


def derivation_filename(name: str) -> str:
    return f"{name}-{cache_key()}.pickle"


def text_bytes(text: str) -> bytes:
    """A printout as its cache file holds it: a line with its SHA-256, then the UTF-8 text."""
    body = text.encode("utf-8")
    return _TEXT_HEADER + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


_TEXT_HEADER = b"symnet derivation text sha256="


def text_filename(name: str, fmt: str) -> str:
    return f"{name}-{cache_key()}.{fmt}.txt"


def _save(filename: str, data: bytes, folder: str = DISK_CACHE, suffixes: tuple[str, ...] = (".txt", ".pickle"),
          bounded: bool = False) -> None:
    """Write ``filename`` atomically into the derivation cache (or another ``folder``, see
    :func:`_read`) and delete the files ending in ``suffixes`` of other keys (and, ``bounded``,
    the least recently used ones beyond :mod:`symnet.cache`'s bounds); a folder or disk that
    refuses is warned about and ignored."""
    from .. import cache

    try:
        folder_fd = cache._open_private(cache.cache_root(), folder)
    except (OSError, cache.UnsafeCacheError) as exc:
        warnings.warn(f"symnet does not use its cache folder {folder}/: {exc}", RuntimeWarning, stacklevel=4)
        return
    try:
        cache._write(folder_fd, filename, data)
        current = f"-{cache_key()}."
        with os.scandir(folder_fd) as entries:
            stale = [e.name for e in entries if e.name.endswith(suffixes)
                     and not e.name.startswith(".") and current not in e.name]
        for old in stale:
            cache._unlink(folder_fd, old)
        if bounded:
            cache._evict(folder_fd, keep=filename, suffixes=suffixes)
    except OSError as exc:
        warnings.warn(f"symnet could not write its cache folder {folder}/: {exc.strerror or exc}",
                      RuntimeWarning, stacklevel=4)
    finally:
        os.close(folder_fd)


# ---------------------------------------------------------------- helpers for builders
# (in ._helpers, which loads SymPy: loaded when a builder imports them, not for a cached printout)

_HELPERS = ("claim", "claim_entries", "forward_section", "numbers", "with_sections", "compose", "signed")


def __getattr__(name: str):
    if name in _HELPERS:
        from . import _helpers

        return getattr(_helpers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
