"""review44: compile time (CPU s, derive + NumPy compile, fresh cache, one process per formula) of common formulas and
of the formulas session 44's rules target; run with PYTHONPATH at the tree to measure (f976335a before session 44's
merges, a580c5bd after).  python benchmarks/review44_compile.py [INDEX...]"""
import os
import sys
import tempfile
import time

os.environ["SYMNET_CACHE"] = tempfile.mkdtemp(prefix="review44cache")
import symnet  # noqa: E402

FORMULAS = [
    "sigmoid(x)", "x*y + z", "tanh(w*x + b)", "softplus(x)*y", "x*y/(x + y)", "gelu(x)", "mish(x)",
    "-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "log(exp(a) + exp(b) + exp(c) + exp(d))",
    "bce_logits(z, t)", "focal(z, t)", "huber(p, t)", "gaussian_nll(p, t, v)", "poisson_nll(p, t)", "kl_div(p, t)",
    "log_cosh(p, t)", "elu(x)*selu(y)", "tanh(w*x + u*h + b)",
    # session 44's targets
    "-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", "log(x/(x + y))",
    "log(exp(a) + exp(-a)) - (a*exp(a) - a*exp(-a))/(exp(a) + exp(-a))",
    "-(exp(a)/(exp(a)+exp(b)))*log(exp(a)/(exp(a)+exp(b))) - (exp(b)/(exp(a)+exp(b)))*log(exp(b)/(exp(a)+exp(b)))",
    "T*log(exp(a/T) + exp(b/T))", "-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)))",
    "1 - (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))",
    "(sqrt(gx**2 + gy**2 + gz**2) - 1)**2", "sqrt(x**2 + eps**2) - eps",
    "log(1 + (x - m)**2/(nu*s**2))*(nu + 1)/2",
]
if __name__ == "__main__":
    idx = [int(a) for a in sys.argv[1:]] or range(len(FORMULAS))
    for i in idx:
        f = FORMULAS[i]
        t = time.process_time()
        try:
            symnet.compile(symnet.derive(f), progress=False, time_limit=300)
            note = ""
        except Exception as e:  # noqa: BLE001
            note = f"  ERROR {type(e).__name__}: {str(e)[:80]}"
        print(f"{i:3d} {time.process_time() - t:8.2f}  {f}{note}", flush=True)
