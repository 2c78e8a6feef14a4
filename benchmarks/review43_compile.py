"""review43: compile time (CPU s, derive + NumPy compile, fresh cache) of 10 common formulas; run with PYTHONPATH at the
tree to measure (c9775006 before the softmax-weights rule, 5f2ade83 after)."""
import os
import sys
import tempfile
import time

os.environ["SYMNET_CACHE"] = tempfile.mkdtemp(prefix="review43cache")
import symnet  # noqa: E402

FORMULAS = ["sigmoid(x)", "x*y + z", "tanh(w*x + b)", "-log(exp(a)/(exp(a) + exp(b) + exp(c)))",
            "log(exp(a) + exp(b) + exp(c) + exp(d))", "softplus(x)*y", "x*y/(x + y)", "gelu(x)",
            "-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)))", "(a*exp(a/T) + b*exp(b/T) + c*exp(c/T) + d*exp(d/T))/(exp(a/T) + exp(b/T) + exp(c/T) + exp(d/T))"]
for f in FORMULAS[int(sys.argv[1]) if len(sys.argv) > 1 else 0:]:
    t = time.process_time()
    symnet.compile(symnet.derive(f), progress=False)
    print(f"{time.process_time() - t:8.2f}  {f}", flush=True)
