"""symnet train never loses work and trusts no file it reads (issue 20).

Non-finite weights stop training like a non-finite loss; every output is checked writable
before training starts; a checkpoint save costs the same at every epoch, is atomic,
fsynced and made with the user's umask; runs killed (SIGKILL, SIGINT) during saves leave
no temporary file behind after the next start and resume to the same weights as an
uninterrupted run; crafted checkpoints are refused quickly under a memory limit, and no
payload in them runs.
"""
from __future__ import annotations

import errno
import io
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from symnet.errors import SymnetError
from symnet.training import (CheckpointError, TrainingDiverged, get_task, load_checkpoint, save_checkpoint,
                             train)
from symnet.training import checkpoint as ckpt
from symnet.training.loop import Settings, fit
from symnet.training.tasks import Task

ROOT = Path(__file__).resolve().parents[1]


def symnet(*args, timeout=120, preexec_fn=None, cwd=None, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, preexec_fn=preexec_fn, cwd=cwd)


def one_line(stderr: str) -> str:
    """The single line a failure prints: no traceback, no warnings."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, f"expected one line on stderr, got:\n{stderr}"
    return lines[0]


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


# ---------------------------------------------------------------- non-finite weights

def test_cli_lr_1e308_stops_on_infinite_weights_with_exit_2_and_keeps_the_last_good_checkpoint(tmp_path):
    ck = tmp_path / "p.npz"
    r = symnet("train", "perceptron", "--lr", "1e308", "--quiet", "--checkpoint", str(ck))
    assert r.returncode == 2, r.stdout + r.stderr
    line = one_line(r.stderr)  # also: no RuntimeWarning from the overflow
    assert "would become NaN or infinite at epoch 2, step 2" in line
    assert f"the last good checkpoint (epoch 1) is kept in {ck}" in line
    params, meta = load_checkpoint(ck)
    assert meta["epoch"] == 1 and all(np.isfinite(w).all() for w in params.values())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_step_that_would_make_weights_infinite_is_not_applied(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    with pytest.raises(TrainingDiverged, match=r"weight \w+ would become NaN or infinite at epoch 2, step 2") as caught:
        train("perceptron", backend=backend, lr=1e308)
    weights = caught.value.result.params  # those of epoch 1, the last good one
    assert all(np.isfinite(w).all() for w in weights.values())
    assert max(abs(w).max() for w in weights.values()) == 1e308  # ±lr·x: one step applied, not two


@pytest.mark.parametrize("backend, message", [
    ("triton", "the weight W1 would become NaN or infinite at epoch 1, step 1"),
    ("triton-fused", "the learning rate 1e+308 does not fit in float32"),  # the kernels' precision
])
def test_the_triton_backends_refuse_the_step_too(backend, message):
    """On a GPU, or under the interpreter where none is visible (TRITON_INTERPRET is read at import)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    interpret = {} if torch.cuda.is_available() else {"TRITON_INTERPRET": "1"}
    r = symnet("train", "xor", "--backend", backend, "--lr", "1e308", "--epochs", "2", "--quiet", timeout=600,
               env=interpret)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert message in r.stderr.splitlines()[-1]  # (the interpreter may warn about masked lanes first)


class _Blowup(Task):
    """An engine that updates a whole epoch at once (as the fused Triton kernels do) and
    whose weights overflow in epoch 3 while its losses stay finite."""

    name = "blowup"
    examples = 2

    def prepare(self, settings) -> None:
        pass

    def init_params(self, rng) -> dict:
        return {"w": np.ones(3)}

    def engine(self, backend, params):
        class Engine:
            def __init__(self):
                self.w = params["w"].copy()

            def run_epoch(self, order, lrs, batch):
                with np.errstate(over="ignore"):
                    self.w = self.w * 1e200  # 1e200, 1e400 = inf
                return [1.0, 1.0]

            def params(self):
                return {"w": self.w.copy()}
        return Engine()

    def evaluate(self, params) -> dict:
        return {}


@pytest.mark.parametrize("save_every", [0, 1e9])  # every epoch; only the last and the last good one
def test_engines_that_update_on_the_device_are_checked_once_an_epoch(tmp_path, save_every):
    ck = tmp_path / "b.npz"
    with pytest.raises(TrainingDiverged, match=r"the weight w became NaN or infinite in epoch 2 .*weights of epoch 1"
                       r".*last good checkpoint \(epoch 1\)") as caught:
        fit(_Blowup(), "numpy", Settings(5, 0.1, 1, 0), checkpoint=ck, save_every=save_every)
    np.testing.assert_array_equal(caught.value.result.params["w"], np.full(3, 1e200))
    params, meta = load_checkpoint(ck, {"w": (3,)})
    assert meta["epoch"] == 1 and np.array_equal(params["w"], np.full(3, 1e200))


# ---------------------------------------------------------------- outputs checked before training

class _MustNotTrain(Task):
    name = "xor"

    def prepare(self, settings):
        raise AssertionError("training started although an output is unwritable")


@pytest.mark.parametrize("make, target", [
    (lambda d: (d / "file").write_text("x"), "file/run.npz"),      # a folder that is a file
    (lambda d: (d / "folder.npz").mkdir(), "folder.npz"),          # the checkpoint is a folder
    (lambda d: None, "/dev/null"),                                 # not a regular file
])
def test_an_unwritable_checkpoint_is_refused_before_training(tmp_path, make, target):
    make(tmp_path)
    with pytest.raises(SymnetError, match="cannot write the checkpoint"):
        fit(_MustNotTrain(), "numpy", Settings(5, 0.1, 1, 0), checkpoint=tmp_path / target)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_before_training(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(SymnetError, match=f"cannot write the checkpoint {folder}/x.npz: Permission denied"):
            fit(_MustNotTrain(), "numpy", Settings(5, 0.1, 1, 0), checkpoint=folder / "x.npz")
        pytest.importorskip("matplotlib")
        with pytest.raises(SymnetError, match="cannot write the plot .*Permission denied"):
            train("xor", epochs=10**7, plot=folder / "x.png")
    finally:
        folder.chmod(0o700)
    ck = folder / "x.npz"
    train("xor", epochs=2, checkpoint=ck)
    ck.chmod(0)
    with pytest.raises(SymnetError, match=f"cannot read the checkpoint {ck}: Permission denied"):
        load_checkpoint(ck)


def test_an_unwritable_plot_is_refused_before_training_in_well_under_a_second(tmp_path):
    """A million epochs of xor would take minutes; the refusal comes before the first."""
    pytest.importorskip("matplotlib")
    (tmp_path / "file").write_text("x")
    started = time.perf_counter()
    r = symnet("train", "xor", "--epochs", "1000000", "--quiet", "--plot", str(tmp_path / "file" / "curve.png"),
               "--checkpoint", str(tmp_path / "ck.npz"))
    elapsed = time.perf_counter() - started
    assert r.returncode == 2 and "cannot write the plot" in one_line(r.stderr) and "file is not a folder" in r.stderr
    assert elapsed < 30  # the whole process, start-up included (about 1 s here); training would take minutes
    assert not (tmp_path / "ck.npz").exists()  # nothing was trained or saved
    started = time.perf_counter()
    with pytest.raises(SymnetError, match="cannot write the plot"):
        train("xor", epochs=10**6, plot=tmp_path / "file" / "curve.png")
    assert time.perf_counter() - started < 5  # measured: about 0.01 s once matplotlib is imported
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probes were removed


def test_a_full_disk_stops_training_with_one_line_and_the_last_checkpoint_resumes(tmp_path):
    """RLIMIT_FSIZE makes writes past 4000 bytes fail with EFBIG, as a full disk fails
    them with ENOSPC: the history grows past it after a few dozen epochs."""
    import resource

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    ck = tmp_path / "x.npz"
    r = symnet("train", "xor", "--epochs", "500", "--quiet", "--checkpoint", str(ck), "--save-every", "0",
               preexec_fn=small_files)
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert f"cannot write the checkpoint history {ck}.history.jsonl: File too large" in line, line
    assert temporaries(tmp_path) == []
    _, meta = load_checkpoint(ck)
    assert 10 < meta["epoch"] < 500
    r = symnet("train", "xor", "--epochs", "500", "--quiet", "--checkpoint", str(ck), "--resume")
    assert r.returncode == 0 and load_checkpoint(ck)[1]["epoch"] == 500


def test_a_failing_save_removes_its_temporary_file_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    ck = tmp_path / "m.npz"
    train("miles", epochs=2, checkpoint=ck)
    before = ck.read_bytes()
    real = np.savez

    def savez_then_disk_full(f, **arrays):
        real(f, **arrays)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ckpt.np, "savez", savez_then_disk_full)
    with pytest.raises(SymnetError, match=f"cannot write the checkpoint {ck}: No space left on device"):
        train("miles", epochs=4, checkpoint=ck, resume=True)
    assert ck.read_bytes() == before and temporaries(tmp_path) == []


# ---------------------------------------------------------------- saves: cost, durability, modes

def test_a_save_costs_the_same_at_every_epoch(tmp_path, monkeypatch):
    """Bytes written by each save: the checkpoint stays the same size, the history grows
    by one line an epoch (the whole history was rewritten every epoch before)."""
    written = []
    real = ckpt.write_atomically

    def measured(path, write, what):
        result = real(path, write, what)
        written.append((Path(path).name, Path(path).stat().st_size))
        return result

    monkeypatch.setattr(ckpt, "write_atomically", measured)
    ck = tmp_path / "x.npz"
    train("xor", epochs=400, checkpoint=ck, save_every=0)
    sizes = [size for name, size in written if name == "x.npz"]
    # a few more digits (epoch, history length; 4 bytes a character): the whole history grew it by 320 an epoch
    assert len(sizes) == 400 and max(sizes) - min(sizes) <= 64
    assert [name for name, _ in written].count("x.npz.history.jsonl") == 1  # written once, then appended to
    lines = ckpt.history_path(ck).read_bytes().splitlines()
    assert len(lines) == 401 and max(map(len, lines)) < 200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/fd")
def test_saves_fsync_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path)):  # not the kernel cache's
            events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst, **dir_fds):  # the kernel cache's saves pass src_dir_fd/dst_dir_fd (an empty cache: h-break48)
        if Path(dst).parent == tmp_path:
            events.append(f"replace {Path(dst).name}")
        real_replace(src, dst, **dir_fds)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    train("miles", epochs=3, checkpoint=tmp_path / "m.npz", save_every=0)
    save = ["fsync file", "replace m.npz", "fsync folder"]
    assert events == (["fsync file", "replace m.npz.history.jsonl", "fsync folder"] + save  # epoch 1
                      + ["fsync file"] + save + ["fsync file"] + save)  # history line appended, then the weights


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_outputs_are_created_with_the_users_umask(tmp_path):
    old = os.umask(0o027)
    try:
        train("xor", epochs=3, checkpoint=tmp_path / "x.npz", plot=tmp_path / "x.png"
              if _has_matplotlib() else None)
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name  # mkstemp would give 0o600


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_stale_temporaries_of_our_pattern_are_removed_when_a_run_starts(tmp_path):
    ours = [".x.npz.0123456789ab.tmp", ".x.npz.history.jsonl.abcdef012345.tmp", ".x.npz.k2_jz9q1.tmp"]
    theirs = [".x.npz.notours.tmp", ".y.npz.0123456789ab.tmp", "x.npz.0123456789ab.tmp", ".x.npz.0123456789ab"]
    for name in ours + theirs:
        (tmp_path / name).write_text("left by a killed run")
    train("xor", epochs=2, checkpoint=tmp_path / "x.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs + ["x.npz", "x.npz.history.jsonl"])


# ---------------------------------------------------------------- killed during saves

def _sigint_as_a_terminal_gives_it() -> None:
    """In the child before exec: SIGINT at its default disposition. A suite started in the background by a
    non-interactive shell (`nohup bash .ci/run &`) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: the Ctrl-C tests waited 60 s for a run that could not hear them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_a_new_save(ck: Path, after: int, process, deadline: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if ck.exists() and ck.stat().st_mtime_ns != after:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    pytest.fail("training never saved")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_runs_killed_during_saves_leave_no_temporary_file_and_resume_to_the_same_weights(tmp_path):
    """Kill a long xor run at random moments while it saves every epoch (SIGKILL: no
    clean-up at all; SIGINT: Ctrl-C), resume after each kill; the checkpoint always loads,
    the next start removes whatever a killed save left, and the weights at the end equal
    those of a run never interrupted."""
    ck = tmp_path / "x.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONDONTWRITEBYTECODE": "1"}
    chance = random.Random(20)
    last_epoch = 0
    for kill in [signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGKILL,
                 signal.SIGINT, signal.SIGKILL]:
        resume = ["--resume"] if ck.exists() else []
        before = ck.stat().st_mtime_ns if ck.exists() else 0
        process = subprocess.Popen([sys.executable, "-m", "symnet", "train", "xor", "--epochs", "1000000",
                                    "--quiet", "--checkpoint", str(ck), "--save-every", "0", *resume], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=_sigint_as_a_terminal_gives_it)
        _wait_for_a_new_save(ck, before, process)
        time.sleep(chance.uniform(0.0, 0.03))
        process.send_signal(kill)
        _, err = process.communicate(timeout=60)
        if kill == signal.SIGINT:
            assert process.returncode == 130, err
            line = one_line(err)
            assert line.startswith("symnet: training stopped: interrupted during epoch ")
            assert f"is kept in {ck}" in line
            assert temporaries(tmp_path) == []  # Ctrl-C never leaves a half-written file
        else:
            assert process.returncode == -signal.SIGKILL
        _, meta = load_checkpoint(ck)  # whatever the moment of the kill
        assert meta["epoch"] >= last_epoch and len(meta["history"]) == meta["epoch"]
        last_epoch = meta["epoch"]
    final = last_epoch + 5
    r = symnet("train", "xor", "--epochs", str(final), "--quiet", "--checkpoint", str(ck), "--resume", "--json")
    assert r.returncode == 0, r.stderr
    assert temporaries(tmp_path) == []
    params, meta = load_checkpoint(ck)
    assert meta["epoch"] == final and [rec["epoch"] for rec in meta["history"]] == list(range(1, final + 1))
    straight = train("xor", epochs=final)
    for name, w in straight.params.items():
        np.testing.assert_array_equal(params[name], w)
    assert [rec["loss"] for rec in meta["history"]] == [rec["loss"] for rec in straight.history]


def test_saves_are_spaced_in_time_and_a_stopped_run_saves_its_last_good_epoch(tmp_path, monkeypatch):
    saves = []
    real = ckpt.CheckpointWriter.save
    monkeypatch.setattr(ckpt.CheckpointWriter, "save", lambda self, p, state, h: (saves.append(state["epoch"]),
                                                                                  real(self, p, state, h)))
    train("xor", epochs=300, checkpoint=tmp_path / "x.npz")  # 30 ms: one save, after the last epoch
    assert saves == [300]
    saves.clear()
    with pytest.raises(TrainingDiverged, match=r"in epoch 2 .* last good checkpoint \(epoch 1\)"):
        fit(_Blowup(), "numpy", Settings(5, 0.1, 1, 0), checkpoint=tmp_path / "b.npz")
    assert saves == [1] and load_checkpoint(tmp_path / "b.npz", {"w": (3,)})[1]["epoch"] == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_ctrl_c_saves_the_last_completed_epoch_between_spaced_saves(tmp_path):
    ck = tmp_path / "x.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "symnet", "train", "xor", "--epochs", "1000000", "--quiet",
                                "--checkpoint", str(ck), "--save-every", "0.2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_as_a_terminal_gives_it)
    _wait_for_a_new_save(ck, 0, process)
    first = load_checkpoint(ck)[1]["epoch"]
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    kept = int(re.search(r"the last good checkpoint \(epoch (\d+)\) is kept in", one_line(err)).group(1))
    _, meta = load_checkpoint(ck)
    assert meta["epoch"] == kept > first and len(meta["history"]) == kept
    assert temporaries(tmp_path) == []


# ---------------------------------------------------------------- crafted checkpoints

XOR_SHAPES = {"W1": (2, 2), "b1": (2,), "W2": (1, 2), "b2": (1,)}


def _npy(shape, dtype, data: bytes = b"") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": shape})
    return out.getvalue() + data


def _saved(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling it creates the marker folder: code ran
        return (os.mkdir, (self.marker,))


def _crafted(folder: Path, good: Path, marker: Path) -> dict:
    """Crafted variants of a good xor checkpoint: name -> (path, what the refusal says)."""
    with zipfile.ZipFile(good) as z:
        members = {name: z.read(name) for name in z.namelist()}
    meta_raw = members["__meta__.npy"]
    meta = json.loads(str(np.load(io.BytesIO(meta_raw))))

    def build(name, replace=None, extra=None, compress=None):
        path = folder / f"{name}.npz"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for member, data in {**members, **(replace or {}), **(extra or {})}.items():
                if member not in (compress or {}):
                    z.writestr(member, data, compress_type=zipfile.ZIP_STORED)
            for member, (size, header) in (compress or {}).items():
                with z.open(member, "w", force_zip64=True) as m:
                    m.write(header)
                    zeros = bytes(16 << 20)
                    for _ in range(size // len(zeros)):
                        m.write(zeros)
        if name not in ("history-of-another-run", "history-missing"):
            (folder / f"{name}.npz.history.jsonl").write_bytes(ckpt.history_path(good).read_bytes())
        return path

    def meta_with(**changes):
        return _saved(np.array(json.dumps({**meta, **changes})))

    cases = {}
    cases["empty"] = (folder / "empty.npz", "is empty")
    cases["empty"][0].write_bytes(b"")
    cases["garbage"] = (folder / "garbage.npz", "it is not a zip file")
    cases["garbage"][0].write_bytes(random.Random(1).randbytes(4096))
    cases["truncated"] = (folder / "truncated.npz", "not a valid symnet checkpoint")
    cases["truncated"][0].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases["huge-shape"] = (build("huge-shape", {"param_W1.npy": _npy((65536, 32768), "<f8", bytes(16))}),
                           r"W1 is a float64 array of shape \(65536, 32768\), not a float32 or float64 array of shape \(2, 2\)")
    cases["float16"] = (build("float16", {"param_W1.npy": _npy((2, 2), "<f2", bytes(8))}),
                        r"W1 is a float16 array of shape \(2, 2\), not a float32 or float64 array")
    big = 1 << 20
    cases["big-member"] = (build("big-member", {"param_W1.npy": _npy((big // 8,), "<f8", bytes(big))}),
                           r"member param_W1.npy claims \d+ bytes")
    bomb = 512 << 20
    cases["deflate-bomb"] = (build("deflate-bomb", compress={"param_W1.npy": (bomb, _npy((bomb // 8,), "<f8"))}),
                             "member param_W1.npy is compressed")
    cases["pickle"] = (build("pickle", {"param_W1.npy": _saved(np.array([_Payload(str(marker))], dtype=object))}),
                       r"holds Python objects \(a pickle\); refused")
    cases["meta-pickle"] = (build("meta-pickle", {"__meta__.npy": _saved(np.array([_Payload(str(marker))],
                                                                                  dtype=object))}),
                            "holds Python objects")
    cases["huge-meta-string"] = (build("huge-meta-string", {"__meta__.npy": _npy((), "<U100000000")}),
                                 r"member __meta__ claims 400000000 bytes of data in \d+")
    cases["nan"] = (build("nan", {"param_W1.npy": _saved(np.full((2, 2), np.nan, np.float32))}),
                    "W1 holds NaN or infinite values")
    cases["extra-member"] = (build("extra-member", extra={"evil.py": b"import os"}), "'evil.py' that is not a weight")
    cases["deep-json"] = (build("deep-json", {"__meta__.npy": _saved(np.array("[" * 200_000))}),
                          "not a valid symnet checkpoint")
    cases["huge-history-claim"] = (build("huge-history-claim", {"__meta__.npy": meta_with(history_bytes=10**12)}),
                                   "names no valid history")
    cases["history-of-another-run"] = (build("history-of-another-run"), "belongs to another run")
    (folder / "history-of-another-run.npz.history.jsonl").write_bytes(
        b'{"symnet_history":1,"run":"0000000000000000"}\n' + ckpt.history_path(good).read_bytes().split(b"\n", 1)[1])
    cases["history-missing"] = (build("history-missing"), "history .* is missing")
    cases["wrong-task"] = (build("wrong-task", {"__meta__.npy": meta_with(task="miles")}),
                           "holds a 'miles' run, not 'xor'")
    many = folder / "many-members.npz"  # 60,000 empty members: a 6 MB list zipfile would read whole
    with zipfile.ZipFile(many, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
        for i in range(60_000):
            z.writestr(f"m{i}", b"")
    cases["many-members"] = (many, r"its list of members claims \d+ bytes")
    cases["sparse-20GiB"] = (folder / "sparse.npz", "more than a checkpoint can be")
    with open(cases["sparse-20GiB"][0], "wb") as f:
        f.truncate(20 << 30)
    return cases


_LOADER = r"""
import json, resource, sys, time
from symnet.training import get_task, load_checkpoint, TASKS
from symnet.errors import SymnetError
for name in TASKS:
    get_task(name).init_params(__import__("numpy").random.default_rng(0))  # import everything first
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20), vm + (256 << 20)))  # 256 MiB more than now
shapes = json.loads(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    started = time.perf_counter()
    try:
        load_checkpoint(path, {k: tuple(v) for k, v in shapes.items()}, "xor")
        outcome = ["loaded", ""]
    except SymnetError as exc:
        outcome = [type(exc).__name__, str(exc)]
    except BaseException as exc:
        outcome = ["crashed " + type(exc).__name__, str(exc)[:300]]
    out[path] = outcome + [time.perf_counter() - started]
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status")
def test_crafted_checkpoints_are_refused_quickly_with_bounded_memory_and_run_no_payload(tmp_path):
    good = tmp_path / "good.npz"
    train("xor", epochs=3, checkpoint=good)
    marker = tmp_path / "payload-ran"
    cases = _crafted(tmp_path, good, marker)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", _LOADER, json.dumps(XOR_SHAPES), str(good),
                        *(str(path) for path, _ in cases.values())],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    outcomes = json.loads(r.stdout)
    assert outcomes[str(good)][0] == "loaded"  # the limit leaves room for a real checkpoint
    for name, (path, message) in cases.items():
        kind, text, seconds = outcomes[str(path)]
        assert kind in ("CheckpointError", "SymnetError"), f"{name}: {kind}: {text}"
        assert str(path) in text and re.search(message, text), f"{name}: {text}"
        assert "\n" not in text and seconds < 2, f"{name}: {seconds:.2f} s"
    assert not marker.exists()  # no pickle was loaded


def test_the_cli_refuses_a_crafted_checkpoint_in_one_line(tmp_path):
    good = tmp_path / "good.npz"
    train("xor", epochs=3, checkpoint=good)
    with zipfile.ZipFile(good) as z:
        members = {name: z.read(name) for name in z.namelist()}
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as z:
        for member, data in {**members, "param_W1.npy": _npy((1 << 40,), "<f8", bytes(8))}.items():
            z.writestr(member, data)
    for path in (bad, tmp_path / "empty.npz"):
        path.touch()
        r = symnet("train", "xor", "--checkpoint", str(path), "--resume", "--quiet")
        assert r.returncode == 2 and f"{path} is not a valid symnet checkpoint" in one_line(r.stderr)


def test_a_checkpoint_with_its_history_inline_still_resumes(tmp_path):
    """save_checkpoint writes one self-contained file (as symnet did before the sidecar)."""
    first = train("xor", epochs=20)
    ck = tmp_path / "x.npz"
    rng = np.random.default_rng(0)
    get_task("xor").init_params(rng)
    for _ in range(20):
        rng.permutation(4)
    save_checkpoint(ck, first.params, {"task": "xor", "backend": "numpy", "epoch": 20, "history": first.history,
                                       "rng": rng.bit_generator.state})
    resumed = train("xor", epochs=40, checkpoint=ck, resume=True)
    straight = train("xor", epochs=40)
    assert resumed.history == straight.history
    for name, w in straight.params.items():
        np.testing.assert_array_equal(resumed.params[name], w)


@pytest.mark.parametrize("record, message", [
    (b'{"epoch":2,"loss":"a string"}', "its history record 2 is malformed"),
    (b'{"epoch":7,"loss":0.5}', "its history record 2 is malformed"),
    (b'{"epoch":2,"loss":0.5}', "its history records are not the xor task's"),  # no mse, no correct
    (b'{"epoch":2,"loss":[[[[[[',  "not a valid symnet checkpoint"),
])
def test_malformed_history_records_are_refused(tmp_path, record, message):
    ck = tmp_path / "x.npz"
    train("xor", epochs=3, checkpoint=ck)
    side = ckpt.history_path(ck)
    lines = side.read_bytes().split(b"\n")
    lines[2] = record.ljust(len(lines[2]))  # the same length: the checkpoint counts the bytes
    side.write_bytes(b"\n".join(lines))
    with pytest.raises(CheckpointError, match=message):
        train("xor", epochs=5, checkpoint=ck, resume=True)
