"""Writing a file whole: what symnet writes for people (generated kernels, documentation pages,
graphs, checkpoints, plots) is written to a temporary file beside it, named by symnet's own
pattern ``.NAME.<12 hex digits>.tmp`` and created with the user's umask (as any file the user
creates: ``tempfile.mkstemp``'s 0600 left ``kernels/*.py`` and ``docs/*.md`` unreadable to the
group and others), fsynced, moved into place with ``os.replace``, and the folder fsynced after.
The temporary file is removed on any failure or interrupt (Ctrl-C in ``symnet codegen`` left a
``.dense.py.tmp`` in ``kernels/numpy/`` before)."""
from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from .errors import SymnetError

__all__ = ["write_atomically"]


def _failed(what: str, path, exc: OSError) -> SymnetError:
    return SymnetError(f"cannot write {what} {path}: {exc.strerror or exc}")


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` named ``.NAME.<hex>.tmp``; mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # a 48-bit name taken: draw another
            continue


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where folders can be opened: not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (PermissionError, IsADirectoryError):
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # a file system that cannot sync folders
            raise
    finally:
        os.close(fd)


def write_atomically(path, write, what: str) -> Path:
    """Write ``path`` whole: ``write(binary_file)`` into a temporary file beside it,
    fsync, ``os.replace`` into place, fsync the folder. The temporary file is removed on
    any failure or interrupt. Raises :class:`SymnetError` naming ``what`` and the path
    when the file cannot be written (read-only folder, full disk)."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(path.parent)
    except OSError as exc:
        raise _failed(what, path, exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    return path
