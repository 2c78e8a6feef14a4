"""NumPy CPU cost of the root-minus-constant rule's formulas (WGAN-GP's penalty (‖g‖ − 1)² with two and three
components, f and its gradients), of z/√(x² + y²) (the hypot rule's far-leg branch) and of three common formulas
(time.process_time, 1e6 elements, best of 5). Inputs uniform in (−1, 1) for the penalties (‖g‖ within the rule's
window 1/4 < ‖g‖ < 8 at 95% and 99% of them), normal for the others. ``--no-rule`` measures the kernels with the
root-minus-constant rule taken out (the code before session 43's rule). ``--accuracy``: the worst ULPs of f and
each gradient of the two penalties against mpmath at 80 digits (both dtypes; torch autograd of the written formula in
the same dtype beside them) on 1200 points each: 300 on circles of radius 1 ± 10^[−16, −1], 300 of radius [1.7, 30] about
the rule's edge ‖g‖ = 8, 300 of radius [1.01, 2.2], 300 with each input log-uniform to 1e±300 (float64; 1e±30 in
float32), and the penalty's failing points g = (1e−9 … 1e−7, 1). Run with PYTHONPATH at the tree to measure;
``--save DIR`` writes each formula's generated module, ``--compare DIR…`` times the saved modules of several trees
in turn in one process (the ratios this session reports). results/wgan44.txt holds the runs this session reports."""
import sys
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "gradient_penalty": ("(sqrt(gx**2 + gy**2) - 1)**2", lambda r, n: dict(gx=r.uniform(-1, 1, n),
                                                                            gy=r.uniform(-1, 1, n))),
    "gradient_penalty_3": ("(sqrt(gx**2 + gy**2 + gz**2) - 1)**2",
                           lambda r, n: dict(gx=r.uniform(-1, 1, n), gy=r.uniform(-1, 1, n), gz=r.uniform(-1, 1, n))),
    "z/sqrt(x^2 + y^2)": ("z/sqrt(x**2 + y**2)", lambda r, n: dict(x=r.normal(size=n), y=r.normal(size=n),
                                                                  z=r.normal(size=n))),
    "sigmoid": ("sigmoid(x)", lambda r, n: dict(x=r.uniform(-10, 10, n))),
    "x*y + z": ("x*y + z", lambda r, n: dict(x=r.normal(size=n), y=r.normal(size=n), z=r.normal(size=n))),
    "tanh layer": ("tanh(w*x + b)", lambda r, n: dict(w=r.normal(size=n), x=r.normal(size=n), b=r.normal(size=n))),
}


def _points(k, dtype, rng):
    """The neighbourhoods of the module's docstring, k inputs each."""
    big = 300 if dtype == np.float64 else 30
    direction = rng.normal(size=(k, 1500))
    direction /= np.sqrt((direction ** 2).sum(axis=0))
    radius = np.concatenate([1 + rng.choice([-1, 1], 300) * 10.0 ** rng.uniform(-16, -1, 300),
                             rng.uniform(1.7, 30, 300), rng.uniform(1.01, 2.2, 300)])
    g = direction[:, :900] * radius
    far = rng.choice([-1, 1], (k, 300)) * 10.0 ** rng.uniform(-big, big, (k, 300))
    failing = np.ones((k, 300))
    failing[0] = np.logspace(-9, -7, 300)
    failing[2:] = 0.0
    return [c.astype(dtype) for c in np.concatenate([g, far, failing], axis=1)]


def _truths(columns):
    import mpmath
    outs = [[] for _ in range(len(columns) + 1)]
    with mpmath.workdps(80):
        for values in zip(*columns):
            v = [mpmath.mpf(float(a)) for a in values]
            r = mpmath.sqrt(sum(a * a for a in v))
            outs[0].append((r - 1) ** 2)
            for i, a in enumerate(v):
                outs[i + 1].append(2 * a * (r - 1) / r if r else mpmath.nan)
    return outs


def _worst(got, truth, dtype):
    import mpmath
    tiny, huge = np.finfo(dtype).tiny, float(np.finfo(dtype).max)
    worst, lost = 0.0, 0
    for g, t in zip(np.asarray(got, np.float64), truth):
        if not (tiny <= abs(t) <= huge):
            continue
        if not np.isfinite(g):  # (torch's NaN or inf where the squares overflow: counted, not measured)
            lost += 1
            continue
        spacing = float(np.spacing(dtype(abs(float(t)))))
        worst = max(worst, float(abs(mpmath.mpf(float(g)) - t)) / spacing)
    return f"{worst:.3g}" + (f" ({lost} not finite)" if lost else "")


def accuracy():
    import torch
    warnings.simplefilter("ignore")
    for name in ("gradient_penalty", "gradient_penalty_3"):
        formula, _ = FORMULAS[name]
        k = symnet.compile(symnet.derive(formula), progress=False)
        names = list(k.inputs)
        for dtype in (np.float64, np.float32):
            cols = _points(len(names), dtype, np.random.default_rng(4401))
            truths = _truths(cols)
            got = k(**dict(zip(names, cols)))
            ours = [_worst(g, t, dtype) for g, t in zip(got, truths)]
            ts = [torch.tensor(c, requires_grad=True) for c in cols]  # torch in the same dtype
            y = (torch.sqrt(sum(t ** 2 for t in ts)) - 1) ** 2
            grads = torch.autograd.grad(y.sum(), ts)
            theirs = [_worst(v.detach().numpy(), t, dtype) for v, t in zip([y, *grads], truths)]
            print(f"{name:20s} {dtype.__name__:8s} symnet f, ∂: " + ", ".join(ours)
                  + "   torch: " + ", ".join(theirs), flush=True)


def save(folder):
    """Each formula's generated NumPy module written to ``folder`` (by the tree on PYTHONPATH), for ``--compare``."""
    import pathlib
    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, (formula, _) in FORMULAS.items():
        source = symnet.compile(symnet.derive(formula), progress=False).source
        (out / (name.replace("/", "_").replace("*", "x").replace(" ", "_") + ".py")).write_text(source)


def compare(folders):
    """The modules ``save`` wrote in each folder (two trees, or a tree with and without the rule), timed in turn in
    this one process (the same inputs, best of 5 each): a loaded machine's drift falls on every column alike."""
    import pathlib
    warnings.simplefilter("ignore")
    print("formula              dtype    " + "  ".join(f"{pathlib.Path(f).name:>12s}" for f in folders)
          + "   ratios to the first")
    for name, (_, make) in FORMULAS.items():
        file = name.replace("/", "_").replace("*", "x").replace(" ", "_") + ".py"
        kernels = []
        for folder in folders:
            namespace: dict = {}
            path = pathlib.Path(folder) / file
            exec(compile(path.read_text(), str(path), "exec"), namespace)  # a generated module, as symnet runs it
            kernels.append(namespace["kernel"])
        rng = np.random.default_rng(44)
        for dtype in (np.float64, np.float32):
            cols = {c: v.astype(dtype) for c, v in make(rng, 10 ** 6).items()}
            best = [float("inf")] * len(kernels)
            for _ in range(5):
                for i, k in enumerate(kernels):
                    t = time.process_time()
                    k(**cols)
                    best[i] = min(best[i], time.process_time() - t)
            print(f"{name:20s} {dtype.__name__:8s} " + "  ".join(f"{b * 1e3:9.1f} ms" for b in best) + "   "
                  + " ".join(f"{b / best[0]:5.2f}" for b in best[1:]), flush=True)


def main(argv):
    if "--accuracy" in argv:
        return accuracy()
    if "--save" in argv:
        if "--no-rule" in argv:
            from symnet.codegen.rewrite import pipeline
            pipeline.RULES = tuple(r for r in pipeline.RULES if r.name != "root-minus-constant")
        return save(argv[argv.index("--save") + 1])
    if "--compare" in argv:
        return compare(argv[argv.index("--compare") + 1:])
    if "--no-rule" in argv:
        from symnet.codegen.rewrite import pipeline
        pipeline.RULES = tuple(r for r in pipeline.RULES if r.name != "root-minus-constant")
    only = [a for a in argv if not a.startswith("--")]
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(44)
    for name, (formula, make) in FORMULAS.items():
        if only and name not in only:
            continue
        k = symnet.compile(symnet.derive(formula), progress=False)
        for dtype in (np.float64, np.float32):
            cols = {c: v.astype(dtype) for c, v in make(rng, 10 ** 6).items()}
            best = float("inf")
            for _ in range(5):
                t = time.process_time()
                k(**cols)
                best = min(best, time.process_time() - t)
            print(f"{name:20s} {dtype.__name__:8s} {best * 1e3:9.1f} ms", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
