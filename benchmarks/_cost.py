"""The shared runner of the cost benchmarks (benchmarks/cost45.py, cost48.py, costb48.py, cost49.py): each formula's
generated NumPy module saved by a tree, the saved modules timed in turn in one process (time.process_time, 1e6
elements, best of 5: a loaded box's drift on every column alike), and the naive written form (NumPy, its gradients
written out, no stability) beside them.

A table is {name: (formula, inputs, naive)}: ``inputs(rng, n)`` the columns by input name, ``naive(**columns)`` the
naive form (optional: a table of two-tuples has none)."""
import hashlib
import pathlib
import sys
import time
import warnings

import numpy as np


def best_time(fn, args: dict, repeats: int = 5) -> float:
    """The least CPU time (s) of ``repeats`` calls ``fn(**args)``; inf where ``repeats`` is 0."""
    best = np.inf
    with np.errstate(all="ignore"):
        for _ in range(repeats):
            start = time.process_time()
            fn(**args)
            best = min(best, time.process_time() - start)
    return best


def _file(name):
    return name.replace("*", "x").replace(" ", "_").replace("+", "plus") + ".py"


def save(table, folder, only=()):
    """Each formula's generated NumPy module (by the tree on PYTHONPATH) written to ``folder``."""
    import symnet
    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, (formula, *_) in table.items():
        if only and name not in only:
            continue
        (out / _file(name)).write_text(symnet.compile(symnet.derive(formula), progress=False).source)


def compare(table, folders, only=(), n=1_000_000, repeats=5):
    """The modules ``save`` wrote in each folder, timed in turn in this process; a short hash of each source."""
    warnings.simplefilter("ignore")
    print("formula              dtype    " + "  ".join(f"{pathlib.Path(f).name:>14s}" for f in folders)
          + "   ratios to the first", flush=True)
    for name, (_, make, *_) in table.items():
        if only and name not in only:
            continue
        kernels, hashes = [], []
        for folder in folders:
            path = pathlib.Path(folder) / _file(name)
            if not path.exists():
                kernels.append(None)
                hashes.append("-")
                continue
            namespace: dict = {}
            text = path.read_text()
            exec(compile(text, str(path), "exec"), namespace)  # a generated module, as symnet runs it
            kernels.append(namespace["kernel"])
            hashes.append(hashlib.sha1(text.encode()).hexdigest()[:8])
        columns = make(np.random.default_rng(45), n)
        for dtype in (np.float64, np.float32):
            args = {k: v.astype(dtype) for k, v in columns.items()}
            times = [best_time(kernel, args, repeats if kernel is not None else 0) * 1e3 for kernel in kernels]
            ratios = "  ".join(f"{t / times[0]:.2f}" for t in times[1:])
            print(f"{name:20s} {np.dtype(dtype).name:8s} " + "  ".join(f"{t:11.1f} ms" for t in times)
                  + f"   {ratios}   [{' '.join(hashes)}]", flush=True)


def naive(table, only=(), n=1_000_000, repeats=5):
    """The naive written forms' times, on ``compare``'s inputs."""
    warnings.simplefilter("ignore")
    for name, (_, make, *fn) in table.items():
        if (only and name not in only) or not fn:
            continue
        columns = make(np.random.default_rng(45), n)
        for dtype in (np.float64, np.float32):
            args = {k: v.astype(dtype) for k, v in columns.items()}
            print(f"{name:20s} {np.dtype(dtype).name:8s} naive {best_time(fn[0], args, repeats) * 1e3:11.1f} ms",
                  flush=True)


def main(table, doc, argv=None):
    """--save DIR [names]: ``save``; --compare DIR DIR … [names]: ``compare`` then ``naive``; else ``doc``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--save"]:
        save(table, argv[1], argv[2:])
    elif argv[:1] == ["--compare"]:
        folders = [a for a in argv[1:] if pathlib.Path(a).is_dir()]
        only = [a for a in argv[1:] if a not in folders]
        compare(table, folders, only)
        naive(table, only)
    else:
        print(doc)
