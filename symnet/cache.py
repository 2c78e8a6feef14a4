"""symnet's cache folder: the user's alone, and bounded.

``symnet.compile(..., backend="triton")`` and ``symnet.compile_step`` keep a copy of each
module they generate in ``<cache>/triton/`` for people to read, where ``<cache>`` is
``$SYMNET_CACHE`` or else ``platformdirs.user_cache_dir("symnet")`` (``~/.cache/symnet``
on Linux). The copies are never executed: a generated module runs from the source symnet
has just generated, held in memory, so nothing another user planted in the folder, and no
file a crash left half-written, can run.

The folder is still kept private, since symnet writes and deletes files in it: each folder
symnet creates on the way is made 0700, and the cache folder and its ``triton`` subfolder
are refused unless they are folders (not symbolic links) owned by the current user that
neither group nor others can write. All file operations happen relative to the checked
folder's descriptor, so swapping a folder after the check does not redirect them.

The derivation cache (``derivations/``, :mod:`symnet.curriculum`) and the kernel descriptions of
``symnet.compile`` (``kernels/``, :mod:`symnet.codegen.stored`) live in the same folder, checked the
same way; what they read back is data rebuilt by a restricted loader, never executed.

The folder is bounded: after each write the least recently used copies are deleted until
at most :data:`MAX_FILES` files and :data:`MAX_BYTES` bytes remain (a copy that is reused
counts as used), and temporary files a killed writer left behind are removed after an hour.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import time
import warnings
from functools import lru_cache
from pathlib import Path

import platformdirs

from .errors import UnsafeCacheError

__all__ = ["ENV", "MAX_FILES", "MAX_BYTES", "cache_root", "save_copy", "cache_key", "read", "save", "sealed",
           "unsealed"]

ENV = "SYMNET_CACHE"
MAX_FILES = 256  # generated modules are 5-60 kB each
MAX_BYTES = 32 * 2**20
_STALE_TEMPORARY_S = 3600.0
_MAX_FILE_BYTES = 64 * 2**20  # a stored derivation, printout or kernel description is 3-100 kB
_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def cache_root() -> Path:
    """``$SYMNET_CACHE``, else the user's cache folder for symnet (it may not exist yet).

    A leading ``~`` is the home folder, as in a shell: a ``SYMNET_CACHE=~/x`` that no shell
    expanded (a quoted value, a service's environment) must not create a folder named ``~``."""
    return Path(os.path.abspath(os.path.expanduser(os.environ.get(ENV) or platformdirs.user_cache_dir("symnet"))))


def save_copy(kind: str, filename: str, text: str) -> Path | None:
    """Write ``text`` to ``<cache>/<kind>/<filename>`` atomically (a fresh temporary file, fsync,
    rename, fsync of the folder), with the user's umask, then evict the least recently used
    files beyond the bounds. An identical existing copy is kept and marked as used.

    Returns the file's path, or None after a warning when the disk refuses (read-only, full):
    the copy is for reading only, so the caller goes on without it.

    Raises:
        UnsafeCacheError: the cache folder, its ``kind`` subfolder or a folder symnet would
            create on the way is not the user's alone (see the module's docstring).
    """
    root = cache_root()
    folder = root / kind
    try:
        folder_fd = _open_private(root, kind)
    except OSError as e:
        warnings.warn(f"symnet could not use its cache folder {folder}: {e.strerror or e}; "
                      "going on without the readable copy (set SYMNET_CACHE to a writable folder)",
                      RuntimeWarning, stacklevel=3)
        return None
    try:
        _write(folder_fd, filename, text.encode("utf-8"))
        _evict(folder_fd, keep=filename)
    except OSError as e:
        warnings.warn(f"symnet could not write {folder / filename}: {e.strerror or e}; "
                      "going on without the readable copy", RuntimeWarning, stacklevel=3)
        return None
    finally:
        os.close(folder_fd)
    return folder / filename


def _open_private(root: Path, kind: str) -> int:
    """A descriptor of ``root/kind``, each checked; missing folders are created 0700 on the way.

    The folders above ``root`` that already exist (your home, ``/tmp``) are trusted as they are;
    ``root`` itself, ``kind`` and every folder symnet creates must pass :func:`_check`."""
    above, missing = root.parent, []
    while not os.path.lexists(above):
        missing.append(above.name)
        above = above.parent
    fd = os.open(above, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    shown = above
    try:
        for name in (*reversed(missing), root.name, kind):
            shown = shown / name
            inner = _enter(fd, name, shown)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _enter(parent_fd: int, name: str, shown: Path) -> int:
    """The folder ``name`` inside ``parent_fd``, created 0700 if missing, opened without
    following a symbolic link and checked through its own descriptor."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        fd = os.open(name, _OPEN_FOLDER, dir_fd=parent_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a symbolic link or a file: say which
            _check(os.stat(name, dir_fd=parent_fd, follow_symlinks=False), shown)
        raise
    try:
        _check(os.fstat(fd), shown)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check(st: os.stat_result, shown: Path) -> None:
    uid = os.geteuid()
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "is not a folder"
    elif st.st_uid != uid:
        problem = f"belongs to uid {st.st_uid}, not to you (uid {uid})"
    elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"can be written by others (mode {stat.S_IMODE(st.st_mode):04o})"
    else:
        return
    raise UnsafeCacheError(f"symnet's cache folder {shown} {problem}: symnet uses only a folder of your own "
                           f"that no one else can write; set {ENV} to one, or fix this one")


def _write(folder_fd: int, filename: str, data: bytes) -> None:
    if _same(folder_fd, filename, data):
        return
    import secrets  # here: a cached printout's read path does not load it

    temporary = f".{filename}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                 dir_fd=folder_fd)  # 0o666 less the umask, as any file the user creates
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, filename, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder_fd)
        except FileNotFoundError:
            pass
        raise
    os.fsync(folder_fd)  # the rename survives a crash too


def _same(folder_fd: int, filename: str, data: bytes) -> bool:
    """Whether ``filename`` is already a regular file holding ``data``; if so it is marked used."""
    try:  # O_NONBLOCK: a FIFO planted under the name must not hang us
        fd = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        with os.fdopen(fd, "rb", closefd=False) as f:
            if f.read(len(data) + 1) != data:
                return False
        os.utime(fd)  # now: eviction removes the least recently used copies first
        return True
    finally:
        os.close(fd)


def _evict(folder_fd: int, keep: str, suffixes: tuple[str, ...] = (".py",), ours=None) -> None:
    """Delete the least recently used copies (files ending in ``suffixes``: ``*.py``, and for which
    ``ours(name)`` holds, where given) until the bounds hold (never ``keep``), and temporary files
    older than an hour. Other files in the folder are left alone."""
    now = time.time()
    copies, kept_bytes = [], 0
    with os.scandir(folder_fd) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                if now - st.st_mtime > _STALE_TEMPORARY_S:
                    _unlink(folder_fd, entry.name)
            elif entry.name == keep:
                kept_bytes = st.st_size
            elif entry.name.endswith(suffixes) and (ours is None or ours(entry.name)):
                copies.append((st.st_mtime, entry.name, st.st_size))
    copies.sort()  # oldest first
    files, size = len(copies) + 1, kept_bytes + sum(c[2] for c in copies)
    for _, name, nbytes in copies:
        if files <= MAX_FILES and size <= MAX_BYTES:
            break
        _unlink(folder_fd, name)
        files, size = files - 1, size - nbytes


def _unlink(folder_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:  # another process evicted it first
        pass


# ---------------------------------------------------------------- the data caches (derivations/, kernels/)

@lru_cache(maxsize=None)
def cache_key() -> str:
    """symnet's version and a hash of its source files (paths and contents) and of SymPy's
    version file (what is printed, and how a stored derivation is rebuilt, depend on it).

    Reading and hashing the ~1 MB of sources takes ~2 ms (measured), so a changed file always
    gives a new key (no mtimes are trusted); SymPy's version is found without importing it."""
    import importlib.util

    from . import __version__

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    spec = importlib.util.find_spec("sympy")
    release = Path(spec.origin).with_name("release.py") if spec and spec.origin else None
    digest.update(b"sympy\0" + (release.read_bytes() if release and release.is_file() else b"?"))
    return f"{__version__}-{digest.hexdigest()[:20]}"


def sealed(header: bytes, filename: str, body: bytes) -> bytes:
    """The bytes of a cache file named ``filename``: a line ``header`` + the SHA-256 of the name
    and ``body``, then ``body``. The name is sealed in with the body: a name is the key of what the
    file answers (a formula's kernel, an op's derivation), so a file copied or planted under
    another name (formula A's kernel where formula B's belongs) does not pass :func:`unsealed`."""
    return header + _seal(filename, body) + b"\n" + body


def unsealed(header: bytes, filename: str, data: bytes) -> bytes | None:
    """The body of ``data`` read from the file ``filename``, or None: garbled, truncated, or written
    by :func:`sealed` under another name."""
    line, _, body = data.partition(b"\n")
    return body if line == header + _seal(filename, body) else None


def _seal(filename: str, body: bytes) -> bytes:
    return hashlib.sha256(filename.encode() + b"\0" + body).hexdigest().encode()


def read(filename: str, folder: str) -> bytes | None:
    """The bytes of ``filename`` in ``folder`` of symnet's cache folder (``derivations``:
    :mod:`symnet.curriculum`; ``kernels``: :mod:`symnet.codegen.stored`), or None: missing, or refused (with a
    warning) unless it is a regular file of the user's that no one else can write, in a folder
    that passes this module's checks."""
    try:
        folder_fd = _open_private(cache_root(), folder)
    except (OSError, UnsafeCacheError) as exc:
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


# a file named by cache_key(), as symnet names its data files: "<what>-<version>-<20 hex digits>[.<format>]<suffix>"
_KEYED = re.compile(r"[^.].*-[0-9][0-9A-Za-z.+!_]*-[0-9a-f]{20}(\.[0-9A-Za-z]+)?\.[0-9A-Za-z]+")


def _keyed(name: str) -> bool:
    """Whether ``name`` is named as symnet names the files :func:`save` writes (by a key)."""
    return _KEYED.fullmatch(name) is not None


def save(filename: str, data: bytes, folder: str, suffixes: tuple[str, ...],
          bounded: bool = False) -> None:
    """Write ``filename`` atomically into ``folder`` of symnet's cache folder (see
    :func:`read`) and delete the files ending in ``suffixes`` of other keys (and, ``bounded``,
    the least recently used ones beyond this module's bounds); a folder or disk that
    refuses is warned about and ignored. Only files named as symnet names them
    (``<what>-<cache_key()>[.<format>]<suffix>``) are ever deleted: ``notes.txt`` a user keeps
    in a ``SYMNET_CACHE`` folder of theirs stays."""
    try:
        folder_fd = _open_private(cache_root(), folder)
    except (OSError, UnsafeCacheError) as exc:
        warnings.warn(f"symnet does not use its cache folder {folder}/: {exc}", RuntimeWarning, stacklevel=4)
        return
    try:
        _write(folder_fd, filename, data)
        current = f"-{cache_key()}."
        with os.scandir(folder_fd) as entries:
            stale = [e.name for e in entries if e.name.endswith(suffixes) and _keyed(e.name)
                     and current not in e.name]
        for old in stale:
            _unlink(folder_fd, old)
        if bounded:
            _evict(folder_fd, keep=filename, suffixes=suffixes, ours=_keyed)
    except OSError as exc:
        warnings.warn(f"symnet could not write its cache folder {folder}/: {exc.strerror or exc}",
                      RuntimeWarning, stacklevel=4)
    finally:
        os.close(folder_fd)
