"""The registry's accuracy table for the Triton backend, in two steps (issue 16): a GPU runs the kernels, this
machine measures them.

1. ``python benchmarks/accuracy.py --dump-triton FILE.npz`` (on the GPU): every registry entry's Triton kernel,
   float32 and float64, values and gradients, at exactly the points the NumPy sweep measures
   (:func:`symnet.verify.measure.points_of` with the same ``--per-decade``, ``--points`` and seed). ``FILE.npz``
   holds, per entry and dtype, the points (``<name>/<dtype>/x``, one column per input) and the outputs
   (``<name>/<dtype>/y``, one column per output), both in the dtype, and ``meta``: a JSON text (the machine,
   the sweep, per entry its inputs, outputs and seconds, and any error). Entries run in ``--jobs`` worker
   processes, in the registry's order; the file is rewritten as they finish, so a run cut short (its
   ``--budget``, or a timeout) keeps what it did. Nothing here needs the 50-digit references: no mpmath call
   (SymPy imports it, so it must be installed, as it is beside SymPy on the H200's image).
2. ``python benchmarks/accuracy.py --from-dump FILE.npz`` (here): the ULP table against mpmath at the dump's
   points, the Triton column beside the NumPy code's and torch's measured here at the same points
   (:func:`symnet.verify.measure.verify_replayed`), in accuracy.py's table format.
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

FORMAT = 1  # the dump's layout; from_dump refuses another


def _entry(task):
    """One registry entry on this machine's Triton: {key: array} and its meta (seconds, errors). Runs in a worker."""
    name, per_decade, points, seed = task
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    import torch

    if not torch.cuda.is_available():  # the interpreter (tests, a CPU box): read when triton is first imported
        os.environ.setdefault("TRITON_INTERPRET", "1")
    from symnet.codegen import compile as compile_
    from symnet.verify.measure import _as_derivation, points_of
    from symnet.verify.spec import registry_specs

    t0 = time.perf_counter()
    spec = next(s for s in registry_specs() if s.name == name)
    arrays, meta = {}, {"formula": spec.formula, "dtypes": {}}
    try:
        d, spec = _as_derivation(spec, None)
        numpy_kernel = compile_(d, "numpy")
        meta["inputs"] = [i.name for i in numpy_kernel.kernel.inputs]
        meta["outputs"] = [o.name for o in numpy_kernel.kernel.outputs]
        t1 = time.perf_counter()
        kernel = compile_(d, "triton")
        meta["generate_s"] = round(time.perf_counter() - t1, 2)
    except Exception as exc:  # noqa: BLE001 - one entry that cannot be generated: said in the meta, the others go on
        meta["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return name, arrays, meta
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for dt in spec.dtypes:
        t = time.perf_counter()
        pts, note = points_of(numpy_kernel, spec, dt, points, seed, per_decade)
        pts = np.ascontiguousarray(pts, dtype=dt).reshape(len(pts), len(meta["inputs"]))
        arrays[f"{name}/{dt}/x"] = pts
        info = meta["dtypes"][dt] = {"points": len(pts), "points_s": round(time.perf_counter() - t, 2)}
        if note:
            info["note"] = note
        t = time.perf_counter()
        try:
            args = [torch.tensor(pts[:, q].copy(), device=device) for q in range(pts.shape[1])]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs = kernel(*args)  # the first call compiles the kernel for this dtype
            if outs is None or any(o is None for o in outs):
                raise RuntimeError("the kernel returned None (libdevice in the interpreter)")
            arrays[f"{name}/{dt}/y"] = np.stack([o.detach().cpu().numpy().astype(dt, copy=False) for o in outs], 1)
        except Exception as exc:  # noqa: BLE001 - reported in the table as this cell's note
            info["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        info["run_s"] = round(time.perf_counter() - t, 2)  # compile + run
    meta["seconds"] = round(time.perf_counter() - t0, 2)
    return name, arrays, meta


def _machine() -> dict:
    import torch
    import triton

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none (TRITON_INTERPRET=1)"
    return {"gpu": gpu, "torch": torch.__version__, "triton": triton.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "interpreter": not torch.cuda.is_available(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _write(path: Path, arrays: dict, meta: dict) -> None:
    """The dump as it stands, atomically (a run killed while writing keeps the previous file)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def dump(path, names, per_decade: int = 4, points: int = 60, seed: int = 0, jobs: int = 1,
         budget: float = 150.0, log=print) -> dict:
    """Run the Triton kernels of the registry entries ``names`` at the NumPy sweep's points and write ``path``
    (see the module's docstring); the meta. Entries still running when ``budget`` seconds have passed are
    dropped (the meta names them)."""
    t0 = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "machine": _machine(), "sweep": {"per_decade": per_decade, "points": points,
                                                              "seed": seed}, "jobs": jobs, "entries": {}}
    arrays: dict = {}
    tasks = [(n, per_decade, points, seed) for n in names]

    def done(result, last=[0.0]):  # noqa: B006 - the time of the last write
        name, arr, m = result
        arrays.update(arr)
        meta["entries"][name] = m
        meta["wall_s"] = round(time.perf_counter() - t0, 1)
        state = m.get("error") or ", ".join(f"{dt} {v['points']} points {v['run_s']} s" + (f" ({v['error']})" if
                                                                                             "error" in v else "")
                                            for dt, v in m["dtypes"].items())
        log(f"[{meta['wall_s']:6.1f} s] {name}: {state}")
        if time.perf_counter() - last[0] > 2.0 or len(meta["entries"]) == len(names):
            _write(path, arrays, meta)
            last[0] = time.perf_counter()

    if jobs <= 1:
        for task in tasks:
            if time.perf_counter() - t0 > budget:
                break
            done(_entry(task))
    else:
        import multiprocessing as mp

        pool = mp.get_context("spawn").Pool(jobs)  # spawn: CUDA in each worker
        try:
            results = pool.imap_unordered(_entry, tasks)
            for _ in tasks:
                left = budget - (time.perf_counter() - t0)
                if left <= 0:
                    break
                try:
                    done(results.next(timeout=left))
                except mp.TimeoutError:
                    break
        finally:
            pool.terminate()
    meta["not_run"] = [n for n in names if n not in meta["entries"]]
    meta["wall_s"] = round(time.perf_counter() - t0, 1)
    _write(path, arrays, meta)
    compiles = sum(1 for m in meta["entries"].values() for v in m.get("dtypes", {}).values() if "error" not in v)
    log(f"{len(meta['entries'])} of {len(names)} entries ({compiles} kernels compiled and run, one per entry and "
        f"dtype) in {meta['wall_s']} s with {jobs} worker(s); not run: {', '.join(meta['not_run']) or 'none'}; "
        f"written to {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return meta


DTYPES = ("float32", "float64")  # the dtypes a dump holds (symnet.verify's BOUNDS)


def load(path) -> tuple[dict, dict]:
    """(meta, {name: {dtype: (points, outputs or the reason there are none)}}) of a dump. A file that is not a dump
    of this format (not an .npz, an object array, which would need pickle: never loaded, a meta that is not this
    JSON, an array of another dtype or shape than its meta says) is refused in one line (SystemExit), naming it."""
    import zipfile

    def refuse(what):
        raise SystemExit(f"{path}: not a --dump-triton file of format {FORMAT}: {what}"[:400])

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # (a pickle, a text file, none: ValueError, OSError)
        refuse(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if not isinstance(z, np.lib.npyio.NpzFile):  # a lone .npy
        refuse("a single array, not an .npz archive")

    def array(key):
        if key not in z.files:
            refuse(f"no array {key!r}")
        try:
            return z[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # (an object array: allow_pickle=False)
            refuse(f"{key!r}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    def need(value, kind, what):
        if not isinstance(value, kind) or isinstance(value, bool):
            refuse(f"{what} is {type(value).__name__}, not {kind.__name__ if isinstance(kind, type) else 'a number'}")
        return value

    with z:
        text = array("meta")
        if text.dtype.kind != "U" or text.ndim != 0:
            refuse(f"'meta' is an array of {text.dtype} and shape {text.shape}, not a JSON text")
        try:
            meta = json.loads(str(text))
        except ValueError as exc:
            refuse(f"'meta' is not JSON ({exc})")
        need(meta, dict, "'meta'")
        if meta.get("format") != FORMAT:
            raise SystemExit(f"{path}: a dump of format {meta.get('format')!r}; this reads format {FORMAT}")
        for key in ("gpu", "torch", "triton", "python", "date"):
            need(need(meta.get("machine"), dict, "meta's machine").get(key), str, f"meta's machine's {key}")
        for key in ("per_decade", "points", "seed"):
            need(need(meta.get("sweep"), dict, "meta's sweep").get(key), int, f"meta's sweep's {key}")
        need(meta.get("jobs"), int, "meta's jobs")
        need(meta.get("wall_s"), (int, float), "meta's wall_s")
        replays = {}
        for name, m in need(meta.get("entries"), dict, "meta's entries").items():
            need(m, dict, f"entry {name!r}")
            if "error" in m:
                continue
            columns = {"x": len(need(m.get("inputs"), list, f"{name}'s inputs")),
                       "y": len(need(m.get("outputs"), list, f"{name}'s outputs"))}
            replays[name] = {}
            for dt, info in need(m.get("dtypes"), dict, f"{name}'s dtypes").items():
                need(info, dict, f"{name}'s {dt}")
                if dt not in DTYPES:
                    refuse(f"{name}: dtype {dt!r}; a dump holds {', '.join(DTYPES)}")
                got = {}
                for part in ("x", "y"):
                    key = f"{name}/{dt}/{part}"
                    if part == "y" and key not in z.files:
                        got[part] = f"not measured on {meta['machine']['gpu']}: {info.get('error', 'no output')}"
                        continue
                    a = array(key)
                    rows = len(got["x"]) if part == "y" else a.shape[0] if a.ndim else -1
                    if a.dtype != np.dtype(dt) or a.shape != (rows, columns[part]):
                        refuse(f"{key} is an array of {a.dtype} and shape {a.shape}, not {dt} of shape "
                               f"({rows if rows >= 0 else 'points'}, {columns[part]}) (a row a point, a column an "
                               f"{'input' if part == 'x' else 'output'})")
                    got[part] = a
                replays[name][dt] = (got["x"], got["y"])
    return meta, replays


def from_dump(path, only=None, log=print, references=None):
    """[(spec, report or None, note)] for accuracy.py's table: each entry of the dump measured here against
    mpmath at the dump's points (NumPy, torch, and the dump's Triton outputs). ``references``: a folder where each
    entry's mpmath references are kept (``<name>.json``, written by this function: save_references): a second dump at the same
    points (the interpreter's, then the GPU's) is measured without computing them again."""
    from symnet.verify.measure import verify_replayed
    from symnet.verify.spec import registry_specs

    meta, replays = load(path)
    if meta["machine"].get("interpreter"):  # the report's note: figures of the interpreter, not held to the bound
        os.environ.setdefault("TRITON_INTERPRET", "1")
    rows = []
    for spec in registry_specs():
        if spec.name not in meta["entries"] or (only and spec.name not in only):
            continue
        m = meta["entries"][spec.name]
        if spec.name not in replays:
            rows.append((spec, None, f"Triton not run on {meta['machine']['gpu']}: {m['error']}"))
            continue
        t0 = time.perf_counter()
        kept = Path(references) / f"{spec.name}.json" if references else None
        refs = load_references(kept) if kept is not None and kept.exists() else {}
        try:
            report = verify_replayed(spec, replays[spec.name], references=refs)
            if kept is not None:
                save_references(kept, refs)
        except Exception as exc:  # noqa: BLE001 - as accuracy.measure: one entry that cannot be measured
            rows.append((spec, None, f"{type(exc).__name__}: {exc}"))
            continue
        rows.append((spec, report, f"{time.perf_counter() - t0:.1f} s"))
        log(f"{spec.name}: {rows[-1][2]}")
    return meta, rows


def save_references(path: Path, refs: dict) -> None:
    """An entry's mpmath references ({(output index, point): (value, digits)}, verify_replayed's) as JSON, each
    value exactly: its mpf's (sign, mantissa, exponent, bits), or null. Before: a pickle, which loading would run
    whatever a file put in that folder held; JSON holds numbers and lists only."""
    import mpmath

    rows = []
    for (q, point), (value, digits) in refs.items():
        if value is not None and not isinstance(value, mpmath.mpf):
            raise TypeError(f"a reference of {type(value).__name__}, not an mpf")
        rows.append([q, list(point), None if value is None else [int(v) for v in value._mpf_], digits])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "references": rows}), encoding="utf-8")
    os.replace(tmp, path)


def load_references(path: Path) -> dict:
    """save_references' file back, or a one-line SystemExit naming what in it is not such a file."""
    import mpmath

    def refuse(what):
        raise SystemExit(f"{path}: not a references file of format {FORMAT}: {what}"[:400])

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        refuse(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("references"), list):
        refuse("no {'format': 1, 'references': [...]}")
    refs = {}
    for row in data["references"]:
        try:
            q, point, value, digits = row
            key = (int(q), tuple(float(v) for v in point))
            if value is not None:
                sign, man, exp, bits = (int(v) for v in value)
                if man and bits != man.bit_length():
                    raise ValueError(f"{bits} bits for a mantissa of {man.bit_length()}")
                with mpmath.workprec(max(bits, 53)):  # (at the default 53 bits the mpf is rounded to them)
                    value = mpmath.mpf((sign, man, exp, bits))
            refs[key] = (value, int(digits))
        except (TypeError, ValueError, OverflowError) as exc:
            refuse(f"the row {str(row)[:80]}: {type(exc).__name__}: {exc}")
    return refs


def describe(meta: dict) -> str:
    """The dump's machine and timing, for the table's header."""
    m = meta["machine"]
    runs = [v.get("run_s", 0.0) for e in meta["entries"].values() for v in e.get("dtypes", {}).values()]
    errors = [f"{n} {dt}: {v['error']}" for n, e in meta["entries"].items() for dt, v in e.get("dtypes", {}).items()
              if "error" in v] + [f"{n}: {e['error']}" for n, e in meta["entries"].items() if "error" in e]
    text = (f"Triton outputs from {m['gpu']} (torch {m['torch']}, triton {m['triton']}, Python {m['python']}, "
            f"{m['date']}): {len(meta['entries'])} entries, {len(runs)} kernels (entry × dtype, each compiled once "
            f"and run on all its points) in {meta['wall_s']} s with {meta['jobs']} worker process(es); "
            f"compile + run per kernel median {np.median(runs) if runs else math.nan:.2f} s, "
            f"max {max(runs, default=math.nan):.2f} s.")
    if meta.get("not_run"):
        text += f" Not run (time budget): {', '.join(meta['not_run'])}."
    if errors:
        text += " Errors there: " + "; ".join(errors) + "."
    return text


if __name__ == "__main__":  # the module is driven by accuracy.py
    sys.exit("run python benchmarks/accuracy.py --dump-triton FILE.npz (or --from-dump FILE.npz)")
