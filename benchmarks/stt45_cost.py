"""stt45: NumPy CPU time (time.process_time, 1e6 float64 elements, best of 5) of the Student-t NLL kernel (the formula
stt45 changed) and three common ones. Run with PYTHONPATH at the tree to time; prints one line per formula."""
import time

import numpy as np

import symnet

FORMULAS = {"student_t": ("(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)", "m nu s x"),
            "sigmoid": ("sigmoid(x)", "x"), "x*y + z": ("x*y + z", "x y z"), "tanh layer": ("tanh(w*x + b)", "w x b")}


def main():
    rng = np.random.default_rng(45)
    for label, (formula, names) in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        args = {n: (10 ** rng.uniform(-1, 1.5, 10**6) if n in ("nu", "s") else rng.normal(0, 3, 10**6))
                for n in names.split()}
        kernel(**args)
        best = min(_timed(kernel, args) for _ in range(5))
        print(f"{label}: {best * 1e3:.1f} ms")


def _timed(kernel, args):
    start = time.process_time()
    kernel(**args)
    return time.process_time() - start


if __name__ == "__main__":
    main()
