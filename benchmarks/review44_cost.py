"""review44: NumPy CPU time (time.process_time, 1e6 float64 elements, best of 5) of 10 common formulas' compiled value
and gradients; run with PYTHONPATH at the tree to measure (f976335a before session 44's merges, a580c5bd after)."""
import os
import tempfile
import time
import warnings

os.environ["SYMNET_CACHE"] = tempfile.mkdtemp(prefix="review44cost")
import numpy as np  # noqa: E402
import symnet  # noqa: E402

FORMULAS = ["sigmoid(x)", "x*y + z", "tanh(w*x + b)", "softplus(x)*y", "gelu(x)", "mish(x)",
            "-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "bce_logits(z, t)", "huber(p, t)", "tanh(w*x + u*h + b)",
            "-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", "log(x/(x + y))"]
rng = np.random.default_rng(44)
for f in FORMULAS:
    k = symnet.compile(symnet.derive(f), progress=False)
    cols = {n: rng.uniform(0.1, 3.0, 1_000_000) for n in k.inputs}
    best = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(5):
            t = time.process_time()
            k(**cols)
            best = min(best, time.process_time() - t)
    print(f"{best * 1e3:9.1f} ms  {f}", flush=True)
