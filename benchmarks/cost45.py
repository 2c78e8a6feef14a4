"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels helper cost45 (session 45, issue 16)
made cheaper or measured, and of three common formulas, float64 and float32.

    PYTHONPATH=TREE python benchmarks/cost45.py --save DIR      each formula's generated NumPy module, by TREE
    python benchmarks/cost45.py --compare DIR DIR …            the saved modules timed in turn in one process
                                                               (the same inputs; ratios to the first column)
    python benchmarks/cost45.py --strip-within DIR OUT         DIR's modules with float32 calling the widened
                                                               functions' float64 body, as before h-wgan44

Timing every tree's module in one process puts a loaded box's drift on every column alike. Inputs: the Student-t
NLL's ν log-uniform in [0.1, 30], m, x, μ N(0, 3), s log-uniform in [0.1, 10] (benchmarks/nll44_cost.py's);
the negative-binomial NLL's k Poisson(3), μ, r log-uniform in [0.1, 30]; the rest N(0, 2)."""
import os
import pathlib
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save and --compare runner)


def _pos(r, n):
    return np.exp(r.uniform(np.log(0.1), np.log(30), n))


FORMULAS = {
    "student_t_3": ("(nu + 1)/2*log(1 + (x - mu)**2/nu)",
                    lambda r, n: dict(mu=r.normal(0, 3, n), nu=_pos(r, n), x=r.normal(0, 3, n))),
    "student_t_4": ("(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)",
                    lambda r, n: dict(m=r.normal(0, 3, n), nu=_pos(r, n), s=np.exp(r.uniform(np.log(0.1), np.log(10), n)),
                                      x=r.normal(0, 3, n))),
    "negative_binomial": ("-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))",
                          lambda r, n: dict(k=r.poisson(3, n).astype(float), mu=_pos(r, n), r=_pos(r, n))),
    "inverse_hypotenuse": ("z/sqrt(x**2 + y**2)", lambda r, n: dict(x=r.normal(0, 2, n), y=r.normal(0, 2, n),
                                                                   z=r.normal(0, 2, n))),
    "squareplus": ("(x + sqrt(x**2 + 4))/2", lambda r, n: dict(x=r.normal(0, 2, n))),
    "squareplus_b": ("(x + sqrt(x**2 + b))/2", lambda r, n: dict(b=_pos(r, n), x=r.normal(0, 2, n))),
    "softplus_written": ("log(1 + exp(x))", lambda r, n: dict(x=r.normal(0, 2, n))),
    "geglu_written": ("a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2*b",
                      lambda r, n: dict(a=r.normal(0, 2, n), b=r.normal(0, 2, n))),
    "gelu_tanh_times_b": ("gelu_tanh(a)*b", lambda r, n: dict(a=r.normal(0, 2, n), b=r.normal(0, 2, n))),
    "sigmoid": ("sigmoid(x)", lambda r, n: dict(x=r.normal(0, 2, n))),
    "x*y + z": ("x*y + z", lambda r, n: dict(x=r.normal(0, 2, n), y=r.normal(0, 2, n), z=r.normal(0, 2, n))),
    "tanh layer": ("tanh(w*x + b)", lambda r, n: dict(b=r.normal(0, 2, n), w=r.normal(0, 2, n), x=r.normal(0, 2, n))),
}


def save(folder, only=()):
    """Each formula's generated NumPy module (by the tree on PYTHONPATH) written to ``folder`` (``FORMULAS`` as it is
    at the call: cost46.py sets its own)."""
    _cost.save(FORMULAS, folder, only)


def compare(folders, only=(), n=1_000_000, repeats=5):
    """The modules ``save`` wrote in each folder, timed in turn in this process; a short hash of each source."""
    _cost.compare(FORMULAS, folders, only, n, repeats)


def _calls(text, start):
    """The end (past its closing parenthesis) of the call whose '(' is at ``start`` in ``text``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise ValueError("unbalanced")


WITHIN = ", within=(3.3306690738724404e-16 if _dtype == np.float64 else 2.0**-30))"


def strip_within(source_folder, folder):
    """Each module of ``source_folder`` with its float32 calls of a widened function as before h-wgan44 (session
    44): ``_dw_widened_…(args, True, needed, within=(3u if float64 else 2⁻³⁰))`` →
    ``(_dw_widened_…(args, True, needed) if _dtype == np.float64 else _dw_widened_…(args, False))`` (the float64
    body, no bound), written to ``folder``: what the float32 ``within=`` costs, in one process with the rest."""
    import re
    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(pathlib.Path(source_folder).glob("*.py")):
        text = path.read_text()
        pieces, at = [], 0
        for m in re.finditer(r"_dw_widened_[0-9a-f]+\(", text):
            if m.start() < at:
                continue
            end = _calls(text, m.end() - 1)
            call = text[m.start():end]
            if not call.endswith(WITHIN):
                continue
            inner = call[m.end() - m.start():-len(WITHIN)]
            args = inner.rsplit(", True, ", 1)[0] if ", True, " in inner else inner.rsplit(", True", 1)[0]
            plain = f"{m.group(0)}{args}, False)"
            pieces += [text[at:m.start()], f"({call[:-len(WITHIN)]}) if _dtype == np.float64 else {plain})"]
            at = end
        (out / path.name).write_text("".join(pieces) + text[at:])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--save"]:
        save(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--strip-within"]:
        strip_within(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--compare"]:
        folders = [a for a in sys.argv[2:] if pathlib.Path(a).is_dir()]
        compare(folders, [a for a in sys.argv[2:] if a not in folders])
    else:
        print(__doc__)
