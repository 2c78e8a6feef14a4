"""NumPy CPU cost of the formulas h-vae43's rules print (time.process_time, 1e6 elements, best of 5), and of three
common formulas, whose printed code the rules leave as it was. Run with PYTHONPATH pointing at the tree to measure."""
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "vae_kl": ("-0.5*(1 + lv - m**2 - exp(lv))", lambda r, n: dict(lv=r.uniform(-1, 1, n), m=r.uniform(-1, 1, n))),
    "gradient_penalty": ("(sqrt(gx**2 + gy**2) - 1)**2", lambda r, n: dict(gx=r.uniform(-1, 1, n), gy=r.uniform(-1, 1, n))),
    "kl_log_differences": ("p*(log(p) - log(q)) + (1 - p)*(log(1 - p) - log(1 - q))",
                           lambda r, n: dict(p=r.uniform(0.01, 0.99, n), q=r.uniform(0.01, 0.99, n))),
    "sigmoid": ("sigmoid(x)", lambda r, n: dict(x=r.uniform(-10, 10, n))),
    "x*y + z": ("x*y + z", lambda r, n: dict(x=r.normal(size=n), y=r.normal(size=n), z=r.normal(size=n))),
    "tanh layer": ("tanh(w*x + b)", lambda r, n: dict(w=r.normal(size=n), x=r.normal(size=n), b=r.normal(size=n))),
}

warnings.simplefilter("ignore")
rng = np.random.default_rng(43)
for name, (formula, make) in FORMULAS.items():
    k = symnet.compile(symnet.derive(formula), progress=False)
    for dtype in (np.float64, np.float32):
        cols = {c: v.astype(dtype) for c, v in make(rng, 10 ** 6).items()}
        best = float("inf")
        for _ in range(5):
            t = time.process_time()
            k(**cols)
            best = min(best, time.process_time() - t)
        print(f"{name:20s} {dtype.__name__:8s} {best * 1e3:9.1f} ms", flush=True)
