"""The registry's Triton accuracy table in two steps (h-tsweep26, issue 16): ``benchmarks/accuracy.py
--dump-triton FILE.npz`` runs every entry's Triton kernel at the NumPy sweep's points on a GPU and saves points
and outputs (no mpmath, no platformdirs there); ``--from-dump FILE.npz`` measures them here against the mpmath
references, beside the NumPy code and torch at the same points. Before: neither mode existed (accuracy.py
--triton ran the kernels in the interpreter, too slow for a full sweep), and ``symnet.cache`` imported
platformdirs at import, which the H200's image lacks.

Here the kernels run in Triton's interpreter on two entries and a tiny sweep (no log-spaced sweep, 6 random
points)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import torch_and_triton

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy  # noqa: E402
import accuracy_triton  # noqa: E402

NAMES = ("sigmoid", "bce_logits")  # one input and two: the columns of x and y line up with the kernel's


@pytest.fixture(scope="module")
def dumped(tmp_path_factory):
    torch_and_triton()
    path = tmp_path_factory.mktemp("tsweep26") / "dump.npz"
    meta = accuracy_triton.dump(path, NAMES, per_decade=0, points=6, jobs=1, budget=300, log=lambda line: None)
    return path, meta


def test_dump_holds_points_and_outputs_in_each_dtype(dumped):
    """The dump: for each entry and dtype, the points (a column per input) and the Triton outputs (a column per
    output), both in the dtype, and the meta naming them. Before: no --dump-triton."""
    path, meta = dumped
    with np.load(path, allow_pickle=False) as z:
        saved = json.loads(str(z["meta"]))
        assert saved["entries"].keys() == set(NAMES) and saved["not_run"] == []
        for name in NAMES:
            entry = saved["entries"][name]
            assert "error" not in entry, entry
            for dt in ("float32", "float64"):
                x, y = z[f"{name}/{dt}/x"], z[f"{name}/{dt}/y"]
                assert x.dtype == y.dtype == np.dtype(dt)
                assert x.shape == (entry["dtypes"][dt]["points"], len(entry["inputs"]))
                assert y.shape == (len(x), len(entry["outputs"])) and "error" not in entry["dtypes"][dt]
    assert meta["machine"]["interpreter"] == (os.environ.get("TRITON_INTERPRET") == "1")


def test_dump_uses_the_numpy_sweeps_points(dumped):
    """The dump's points are exactly those symnet verify (the NumPy sweep) measures at: same extremes, boundaries,
    random points and crossings of 0. Before: no --dump-triton."""
    from symnet.codegen import compile as compile_
    from symnet.verify.measure import _as_derivation, points_of
    from symnet.verify.spec import registry_specs

    path, _ = dumped
    _, replays = accuracy_triton.load(path)
    spec = next(s for s in registry_specs() if s.name == "bce_logits")
    d, spec = _as_derivation(spec, None)
    for dt in ("float32", "float64"):
        pts, _ = points_of(compile_(d, "numpy"), spec, dt, 6, 0, 0)
        np.testing.assert_array_equal(replays["bce_logits"][dt][0], pts)


def test_from_dump_puts_triton_beside_numpy(dumped):
    """--from-dump's table: the Triton column beside the NumPy code's, which is the same figure as the ordinary
    NumPy sweep at the same points (accuracy.measure), against mpmath. Before: no --from-dump."""
    path, _ = dumped
    meta, rows = accuracy_triton.from_dump(path, log=lambda line: None)
    text, _, _, past = accuracy.table(rows)
    assert "| symnet numpy | symnet triton | torch built-in |" in text
    plain, _, _, _ = accuracy.table(accuracy.measure([spec for spec, _, _ in rows], 6, 0))
    for spec, report, _ in rows:
        for c in report.cells:
            if c.implementation == "symnet triton":
                assert c.measured and c.points > 0, (spec.name, c.output, c.dtype, c.note)
    numpy_cells = [line.split(" | ")[4] for line in text.splitlines()[2:]]
    assert numpy_cells == [line.split(" | ")[4] for line in plain.splitlines()[2:]]
    assert past == [], past  # these two entries are within the bound, in the interpreter too (measured: ≤ 1.5 ULP)


def test_replayed_outputs_line_up_with_their_points():
    """verify_replayed with the NumPy code's own outputs as the "Triton" ones gives the NumPy figures exactly, and
    the same outputs one row out of place do not: rows and columns reach the right reference. Before: no replay."""
    from symnet.codegen import compile as compile_
    from symnet.verify.measure import _as_derivation, points_of, verify_replayed
    from symnet.verify.spec import registry_specs

    spec = next(s for s in registry_specs() if s.name == "bce_logits")
    d, spec = _as_derivation(spec, None)
    kernel = compile_(d, "numpy")
    pts, _ = points_of(kernel, spec, "float64", 6, 0, 0)
    with np.errstate(all="ignore"):
        outs = np.stack(kernel(*[pts[:, q].copy() for q in range(pts.shape[1])]), 1)
    same = verify_replayed(spec, {"float64": (pts, outs)}, torch=False)
    rolled = verify_replayed(spec, {"float64": (pts, np.roll(outs, 1, axis=0))}, torch=False)
    for out in ("f", "df_dx", "df_dt"):
        a, b = same.cell(out, "float64", "symnet numpy"), same.cell(out, "float64", "symnet triton")
        assert (a.worst_ulp, a.mismatches, a.points) == (b.worst_ulp, b.mismatches, b.points)
    assert accuracy.figure(rolled.cell("f", "float64", "symnet triton")) > 1e6


def test_a_cut_dump_keeps_what_it_did(tmp_path):
    """A dump whose time budget runs out still writes a readable file that names the entries not run (here: all,
    the budget being 0). Before: no --dump-triton."""
    path = tmp_path / "cut.npz"
    meta = accuracy_triton.dump(path, NAMES, per_decade=0, points=6, budget=0, log=lambda line: None)
    assert meta["not_run"] == list(NAMES)
    assert accuracy_triton.load(path) == (meta, {})


BLOCKER = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"platformdirs", "tqdm", "hypothesis"}:
            raise ImportError(f"{name} is not on the H200's image")
sys.meta_path.insert(0, Refuse())
sys.argv = ["accuracy.py"] + sys.argv[1:]
sys.path.insert(0, "benchmarks")
import accuracy
sys.exit(accuracy.main())
"""


def test_dump_runs_without_the_packages_the_gpu_image_lacks(tmp_path):
    """The dump step imports neither platformdirs nor tqdm nor hypothesis (the H200's image has none of platformdirs;
    SYMNET_CACHE set, as there). Before: symnet.cache imported platformdirs at import, so compiling the Triton
    kernel (its readable copy in the cache) raised ImportError."""
    torch_and_triton()
    path = tmp_path / "d.npz"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMNET_CACHE=str(tmp_path / "cache"))
    env.setdefault("TRITON_INTERPRET", "1")
    run = subprocess.run([sys.executable, "-c", BLOCKER, "--dump-triton", str(path), "--only", "sigmoid",
                          "--per-decade", "0", "--points", "4"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    meta, replays = accuracy_triton.load(path)
    assert set(replays) == {"sigmoid"} and not isinstance(replays["sigmoid"]["float64"][1], str)
    assert not math.isnan(meta["wall_s"])
