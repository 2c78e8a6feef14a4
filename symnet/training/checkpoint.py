"""The files a training run writes, written so that no run loses its work.

Every output (checkpoint, its history, the plot) is probed before training starts
(:func:`check_writable`), then written whole to a temporary file beside it, named by our
own pattern ``.NAME.<12 hex digits>.tmp`` and created with the user's umask, fsynced,
moved into place with ``os.replace``, and the folder fsynced after. Temporary files a
killed run left behind are removed when the next run starts (:func:`remove_stale_temporaries`).

A checkpoint is an uncompressed ``.npz``: the weights (``param_NAME``) and a small JSON
``__meta__`` (task, epoch, the random generator's state, settings), the same size every
epoch. The per-epoch history goes to an append-only sidecar, ``NAME.history.jsonl``: a
header line naming the run, then one line per epoch, fsynced before the checkpoint that
counts it is moved into place. The checkpoint records how many bytes of the sidecar are
its own (``history_bytes``), so a line appended by a run killed before its checkpoint
landed is ignored. A save costs the same at epoch 3000 as at epoch 1.

Loading trusts nothing in the file: its size, the members' names, each member's ``.npy``
header (shape and dtype against the model's weights) are checked before any data is
read; pickles (object arrays), compressed members and members claiming more bytes than
the model has are refused, as are truncated, empty and malformed files.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..errors import SymnetError
from ..files import _create_temporary, _failed, write_atomically

__all__ = ["CheckpointError", "CheckpointWriter", "check_writable", "history_path", "load_checkpoint",
           "remove_stale_temporaries", "save_checkpoint", "write_atomically"]

FILE_LIMIT = 64 << 20      # a checkpoint file, all members together (digits' weights: 40 KB)
META_LIMIT = 16 << 20      # the __meta__ member (an inline history of a long run fits)
HISTORY_LIMIT = 256 << 20  # the history sidecar (about two million epochs of xor)
HEADER_LIMIT = 10_000      # an .npy header (NumPy's own default bound)
DIRECTORY_LIMIT = 64 << 10  # the zip's list of members, read whole by zipfile (ours: 5 members, 0.5 KB)


class CheckpointError(SymnetError):
    """A checkpoint (or its history) that is not a valid symnet checkpoint of this model."""


def history_path(checkpoint) -> Path:
    """The append-only history sidecar of ``checkpoint``: ``NAME.history.jsonl`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + ".history.jsonl")


# ---------------------------------------------------------------- writing

def check_writable(path, what: str) -> Path:
    """Make sure ``path`` can be written before any work is done: its folder is created
    if missing and a temporary file is created in it and removed again. Raises
    :class:`SymnetError` (one line naming ``what`` and the path) when it cannot, or when
    ``path`` exists and is not a regular file (a folder, a device)."""
    given = str(path)
    if "\0" in given:  # from Python: os.stat's and os.open's "ValueError: embedded null byte" (session 35)
        raise SymnetError(f"cannot write {what} {given!r}: a file name cannot hold a NUL character")
    path = Path(path)
    if os.path.basename(given) in ("", ".", "..") or not path.name:
        # "/", ".", "": history_path's with_name raised "ValueError: PosixPath('/') has an empty name"; "runs/",
        # "runs/.": Path drops the slash and the dot, and a file named runs was written (session 35; the review's
        # "runs/." and "x.png/.")
        raise SymnetError(f"cannot write {what} {given or repr('')}: it names a folder, not a file; give a file "
                          "name (runs/xor.npz)")
    try:  # a name past the file system's limit: os.stat's OSError was a traceback (session 35)
        if path.exists() and not path.is_file():
            raise SymnetError(f"cannot write {what} {path}: it exists and is not a regular file")
        folder = next((f for f in path.parents if f.exists() or f.is_symlink()), None)
        if folder is not None and not folder.is_dir():
            raise SymnetError(f"cannot write {what} {path}: {folder} is not a folder")
    except OSError as exc:
        raise _failed(what, path, exc) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise _failed(what, path, exc) from None
    return path


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files a killed save of ``path`` left beside it: regular files
    of our own pattern (``.NAME.<12 hex>.tmp``, or ``.NAME.<8 characters>.tmp`` from
    ``tempfile.mkstemp`` in earlier versions) owned by this user. Returns those removed."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.([0-9a-f]{{12}}|[0-9a-z_]{{8}})\.tmp")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        try:
            if (pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
                    and (uid is None or entry.stat(follow_symlinks=False).st_uid == uid)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _write_npz(f, params: dict, meta: dict) -> None:
    np.savez(f, __meta__=np.array(json.dumps(meta)),
             **{f"param_{k}": np.ascontiguousarray(v) for k, v in params.items()})


def save_checkpoint(path, params: dict, meta: dict) -> Path:
    """The weights and ``meta`` (JSON; may hold the whole ``history``) in one ``.npz``,
    written atomically (see the module docstring). Training saves through
    :class:`CheckpointWriter`, whose cost does not grow with the epochs. Raises
    :class:`SymnetError` when the file cannot be written."""
    return write_atomically(path, lambda f: _write_npz(f, params, meta), "the checkpoint")


def _history_line(record) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


class CheckpointWriter:
    """Saves a run as it trains: the weights and small state in the checkpoint, the
    history records since the last save appended to the sidecar. The first save of a run
    writes a fresh sidecar (a header with this run's id, then the history so far, which
    a resumed run brings along)."""

    def __init__(self, path):
        self.path = Path(path)
        self.history_path = history_path(self.path)
        self.run = secrets.token_hex(8)
        self._log = None
        self._bytes = self._records = 0

    def save(self, params: dict, state: dict, history: list) -> None:
        """Save the run after its epoch ``state["epoch"]``, whose records ``history`` holds.
        Raises :class:`SymnetError` naming the file when it cannot be written."""
        try:
            if self._log is None:
                data = _history_line({"symnet_history": 1, "run": self.run})
                data += b"".join(_history_line(r) for r in history)
                write_atomically(self.history_path, lambda f: f.write(data), "the checkpoint history")
                self._log = os.open(self.history_path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
                                    | getattr(os, "O_BINARY", 0))
            else:
                data = b"".join(_history_line(r) for r in history[self._records:])
                unwritten = memoryview(data)
                while unwritten:  # unbuffered: a failed append leaves nothing behind to be flushed later
                    unwritten = unwritten[os.write(self._log, unwritten):]
                os.fsync(self._log)
        except OSError as exc:
            raise _failed("the checkpoint history", self.history_path, exc) from None
        self._bytes += len(data)
        self._records = len(history)
        meta = {**state, "format": 2, "run": self.run, "history_bytes": self._bytes}
        write_atomically(self.path, lambda f: _write_npz(f, params, meta), "the checkpoint")

    def close(self) -> None:
        if self._log is not None:
            os.close(self._log)
            self._log = None


# ---------------------------------------------------------------- reading

def _check_directory(f, size: int) -> None:
    """Bound the zip's central directory before ``zipfile`` reads it whole into a list of
    members (a 64 MiB directory would be a million objects): its size is in the end record."""
    tail = min(size, 20 + 22 + 0xFFFF)  # the zip64 locator, the end record and its comment
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(data):
        raise CheckpointError("it is not a zip file (no end record)")
    if at >= 20 and data[at - 20:at - 16] == b"PK\x06\x07":  # zipfile would take the zip64 record's sizes
        raise CheckpointError("it is a zip64 file (its list of members is unbounded); symnet never writes one")
    directory = struct.unpack_from("<I", data, at + 12)[0]
    if directory > DIRECTORY_LIMIT:  # 0xFFFFFFFF (zip64) included: symnet never writes one
        raise CheckpointError(f"its list of members claims {directory} bytes, more than a checkpoint needs")
    f.seek(0)


def _member_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, label: str):
    """Open a member after checking its claimed size; read and check its .npy header."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"member {info.filename} is compressed; symnet writes checkpoints uncompressed")
    if info.file_size > limit:
        raise CheckpointError(f"member {info.filename} claims {info.file_size} bytes, more than {label} can hold")
    member = z.open(info)
    try:
        major, _ = np.lib.format.read_magic(member)
        read_header = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}.get(major)
        if read_header is None:
            raise CheckpointError(f"member {info.filename} has an unknown .npy version {major}")
        shape, fortran, dtype = read_header(member, max_header_size=HEADER_LIMIT)
        if dtype.hasobject:
            raise CheckpointError(f"member {info.filename} holds Python objects (a pickle); refused")
    except BaseException:
        member.close()
        raise
    return member, shape, fortran, dtype


def _member_data(member, size: int, shape, fortran: bool, dtype, name: str) -> np.ndarray:
    """The array after its header, ``size`` the member's whole size: never read past it."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > size:
        raise CheckpointError(f"member {name} claims {nbytes} bytes of data in {size}")
    data = member.read(nbytes)
    if len(data) != nbytes or member.read(1):
        raise CheckpointError(f"member {name} is truncated or has extra bytes")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()


def _read_meta(z: zipfile.ZipFile, info) -> dict:
    if info is None:
        raise CheckpointError("it has no __meta__ member")
    member, shape, fortran, dtype = _member_header(z, info, META_LIMIT, "a checkpoint's state")
    if shape != () or dtype.kind != "U":
        raise CheckpointError(f"its __meta__ member is a {dtype} array of shape {shape}, not text")
    with member:
        text = str(_member_data(member, info.file_size, shape, fortran, dtype, "__meta__")[()])
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise CheckpointError("its __meta__ is not a JSON object")
    epoch = meta.get("epoch")
    if not isinstance(meta.get("task"), str) or type(epoch) is not int or epoch < 0:
        raise CheckpointError("its __meta__ lacks the task name or the epoch")
    return meta


def _expected_shapes(meta: dict) -> dict:
    from .tasks import get_task
    try:
        task = get_task(meta["task"])
    except SymnetError:
        raise CheckpointError(f"it names an unknown task {meta['task']!r}") from None
    return {k: v.shape for k, v in task.init_params(np.random.default_rng(0)).items()}


def _open_regular(path, shown: str):
    """``path`` opened for reading only if it is a regular file: a FIFO or device swapped in
    after an ``is_file`` check must neither block the open (O_NONBLOCK) nor be read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CheckpointError(f"{shown} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_history(path: Path, meta: dict) -> list:
    """The checkpoint's own lines of its history sidecar, checked against it."""
    side = history_path(path)
    nbytes, run = meta.get("history_bytes"), meta.get("run")
    if type(nbytes) is not int or not isinstance(run, str) or not 0 < nbytes <= HISTORY_LIMIT:
        raise CheckpointError("its __meta__ names no valid history")
    if not side.is_file():
        raise CheckpointError(f"its history {side} is missing")
    try:
        with _open_regular(side, f"its history {side}") as f:
            if os.fstat(f.fileno()).st_size < nbytes:
                raise CheckpointError(f"its history {side} is shorter than the checkpoint says")
            lines = f.read(nbytes).decode().splitlines()
    except FileNotFoundError:
        raise CheckpointError(f"its history {side} is missing") from None
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("run") != run:
        raise CheckpointError(f"its history {side} belongs to another run (a run started afresh on this "
                              "checkpoint was stopped before its first save)")
    return [json.loads(line) for line in lines[1:]]


def _check_history(history, epoch: int) -> list:
    if not isinstance(history, list) or len(history) != epoch:
        raise CheckpointError(f"its history does not hold one record for each of its {epoch} epochs")
    for i, record in enumerate(history):
        if not isinstance(record, dict) or record.get("epoch") != i + 1 or not all(
                type(v) in (int, float) for v in record.values()):
            raise CheckpointError(f"its history record {i + 1} is malformed")
    return history


def load_checkpoint(path, expected: dict | None = None, task: str | None = None) -> tuple[dict, dict]:
    """The weights and the state saved in checkpoint ``path``: ``(params, meta)``, with the
    per-epoch records in ``meta["history"]``.

    ``expected`` maps each weight's name to its shape (default: the weights of the task
    the checkpoint names); with ``task``, a checkpoint of another task is refused.
    Everything is checked before data is read (see the module docstring), so a crafted
    file costs neither time nor memory. Raises :class:`SymnetError` when ``path`` does not
    exist, cannot be read or holds another task's run, :class:`CheckpointError` (one line
    naming the file and the problem) when it is not a valid checkpoint of that model.
    """
    path = Path(path)
    if not path.is_file():
        raise SymnetError(f"no checkpoint at {path} to resume from (train once with --checkpoint {path})")
    try:
        file = _open_regular(path, f"{path}")
    except CheckpointError as exc:
        raise SymnetError(f"cannot read the checkpoint {path}: {exc}") from None
    except OSError as exc:
        raise SymnetError(f"cannot read the checkpoint {path}: {exc.strerror or exc}") from None
    try:
        with file as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise CheckpointError("it is empty")
            if size > FILE_LIMIT:
                raise CheckpointError(f"it is {size} bytes, more than a checkpoint can be ({FILE_LIMIT})")
            _check_directory(f, size)
            with zipfile.ZipFile(f) as z:
                infos = z.infolist()
                members = {info.filename: info for info in infos}
                if len(members) != len(infos):
                    raise CheckpointError("it repeats a member name")
                meta = _read_meta(z, members.pop("__meta__.npy", None))
                if task is not None and meta["task"] != task:
                    raise SymnetError(f"{path} holds a {meta['task']!r} run, not {task!r}")
                shapes = _expected_shapes(meta) if expected is None else dict(expected)
                unknown = [m for m in members if not (m.startswith("param_") and m.endswith(".npy"))]
                if unknown:
                    raise CheckpointError(f"it has a member {unknown[0][:60]!r} that is not a weight")
                saved = sorted(m[len("param_"):-len(".npy")] for m in members)
                if saved != sorted(shapes):
                    raise CheckpointError(f"it holds the weights {', '.join(saved) or 'none'}, "
                                          f"not this model's {', '.join(sorted(shapes))}")
                params = {}
                for name, shape in shapes.items():
                    info = members[f"param_{name}.npy"]
                    limit = HEADER_LIMIT + 16 + 8 * int(np.prod(shape, dtype=np.int64))
                    member, got, fortran, dtype = _member_header(z, info, limit, "this model's weights")
                    with member:
                        # symnet saves float32 or float64: a float16 weight would resume rounded
                        if got != tuple(shape) or dtype.kind != "f" or dtype.itemsize not in (4, 8):
                            raise CheckpointError(f"its weight {name} is a {dtype} array of shape {got}, "
                                                  f"not a float32 or float64 array of shape {tuple(shape)}")
                        params[name] = _member_data(member, info.file_size, got, fortran, dtype, info.filename)
                    if not np.isfinite(params[name]).all():
                        raise CheckpointError(f"its weight {name} holds NaN or infinite values")
        meta["history"] = _check_history(meta["history"] if "history" in meta else _read_history(path, meta),
                                         meta["epoch"])
    except CheckpointError as exc:
        raise CheckpointError(f"{path} is not a valid symnet checkpoint: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, TypeError, KeyError, RecursionError,
            UnicodeDecodeError, OverflowError, IndexError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise CheckpointError(f"{path} is not a valid symnet checkpoint: {reason}") from None
    return params, meta
