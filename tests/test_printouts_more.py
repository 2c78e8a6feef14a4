"""Issue 17, points 1, 5 and 8: values at a point are exact and also shown as decimals; the
parser reads what the printer prints; the training command line says what it does."""
import json
import math
import re

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.errors import NotDifferentiableError
from symnet.render import render


def _values(d):
    return [s for sec in d.sections if sec.title.startswith("Values at") for s in sec.steps]


# ---- point 1: exact values at a point, each also as a decimal -----------------------------

def test_values_at_a_point_are_not_rounded():
    d = symnet.derive(symnet.parse("exp(x)/(1+exp(x)) + y"), at={"x": 100, "y": 1})
    forward = {str(s.lhs): s for s in d.sections[0].steps}
    f = forward["f"].value
    with mpmath.workdps(80):
        true = 1 + mpmath.exp(100) / (1 + mpmath.exp(100))  # 2 − 3.7e−44
        assert f != 2 and abs(sp.N(f, 60) - sp.Float(str(true), 60)) < sp.Float("1e-70")
        dfdx = [s for s in _values(d) if "x" in str(s.lhs) and "d" in str(s.lhs) and s.why == "result"][0]
        ref = mpmath.exp(100) / (1 + mpmath.exp(100)) ** 2
        assert abs(float(dfdx.approx) / float(ref) - 1) < 1e-9


def test_softplus_at_40_is_accepted():
    d = symnet.derive(symnet.parse("log(1+exp(z))*y"), at={"z": 40, "y": 1})
    results = {str(s.lhs): s for s in _values(d) if s.why == "result"}
    assert len(results) == 2
    (dz,) = [s for k, s in results.items() if "z" in k]
    assert abs(float(dz.approx) - 1 / (1 + math.exp(-40))) < 1e-12


def test_log_outside_its_domain_is_refused_with_the_reason():
    with pytest.raises(NotDifferentiableError, match="not a real number"):
        symnet.derive(symnet.parse("log(x)"), at={"x": -1})


def test_every_value_at_a_point_is_shown_as_a_decimal():
    d = symnet.derive(symnet.parse("sigmoid(x)"), at={"x": sp.Rational(45, 100)})
    sig = 1 / (1 + math.exp(-0.45))
    want = "%.10f" % (sig * (1 - sig))  # 10 significant digits
    out = render(d, "text")
    assert "≈ " + want in out, out
    assert r"\approx " + want in render(d, "latex")
    assert r"\approx " + want in render(d, "markdown")
    steps = [s for sec in json.loads(render(d, "json"))["sections"] for s in sec["steps"] if "approx" in s and s["lhs"] != "f"]
    assert steps and all(abs(float(s["approx"]) - sig * (1 - sig)) < 1e-9 for s in steps)


def test_decimals_keep_tiny_and_huge_values():
    d = symnet.derive(symnet.parse("sigmoid(x)"), at={"x": -500})
    (res,) = [s for s in _values(d) if s.why == "result"]
    with mpmath.workdps(50):
        ref = mpmath.exp(-500) / (1 + mpmath.exp(-500)) ** 2
        assert float(res.approx) != 0 and abs(float(res.approx) / float(ref) - 1) < 1e-9
        assert re.search(r"≈ 7\.1245764\d*e−218", render(d, "text"))


def test_plain_values_get_no_decimal():
    d = symnet.derive(symnet.parse("x*y"), at={"x": 2, "y": 3})
    assert all(s.approx is None for s in _values(d))
    assert "≈" not in render(d, "text")


# ---- point 5: the parser reads what the printer prints ------------------------------------

from symnet.render import text as printed  # noqa: E402

ROUND_TRIP = ["x*exp(x**2)", "sigmoid(w*x + b)", "log(1 + exp(z))*y", "exp(-x)/(1 + exp(-x))**2",
              "theta_1*x - alpha/x", "sqrt(x**2 + 1)/x**3", "tanh(x)*y**(-2) + 3/5*x"]


@pytest.mark.parametrize("formula", ROUND_TRIP)
def test_printed_results_parse_back(formula):
    d = symnet.derive(symnet.parse(formula))
    exprs = [d.gradients[k] for k in d.gradients] + [symnet.parse(formula)]
    for e in exprs:
        shown = printed(e)
        back = symnet.parse(shown)  # equal up to SymPy's own evaluation (−(a − b) → b − a)
        assert back == e or sp.expand(back - e) == 0, (shown, e)


@pytest.mark.parametrize("shown, written", [
    ("exp(−x)", "exp(-x)"), ("x²", "x**2"), ("x⁻¹·y", "y/x"), ("a×b", "a*b"), ("√(x + 1)", "sqrt(x + 1)"),
    ("√x", "sqrt(x)"), ("u₁ + θ₁₀", "u_1 + theta_10"), ("(1 − σ(x))·σ(x)", "(1 - sigmoid(x))*sigmoid(x)")])
def test_printed_notation_is_accepted(shown, written):
    assert symnet.parse(shown) == symnet.parse(written)


# ---- point 8: the training command line says what it does ---------------------------------

from symnet.cli import main  # noqa: E402


def test_train_unknown_task_suggests_the_close_name(capsys):
    assert main(["train", "XOR"]) == 2
    assert "did you mean 'xor'?" in capsys.readouterr().err
    assert main(["train", "digts"]) == 2
    assert "did you mean 'digits'?" in capsys.readouterr().err


def test_resume_below_the_checkpoint_says_nothing_to_do(tmp_path, capsys):
    ck = tmp_path / "run.npz"
    assert main(["train", "miles", "--epochs", "3", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "miles", "--epochs", "2", "--checkpoint", str(ck), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "nan" not in captured.out + captured.err
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "nothing to do" in err[0] and "epoch 3" in err[0]
    assert main(["train", "digits", "--epochs", "1", "--checkpoint", str(tmp_path / "d.npz"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "digits", "--epochs", "1", "--checkpoint", str(tmp_path / "d.npz"), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "nan" not in captured.out and "nothing to do" in captured.err


def test_resume_with_another_schedule_says_so(tmp_path, capsys):
    ck = tmp_path / "run.npz"
    assert main(["train", "miles", "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "miles", "--epochs", "4", "--lr", "0.001", "--checkpoint", str(ck), "--resume",
                 "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--epochs 4" in err[0] and "--lr 0.001" in err[0]
    assert main(["train", "miles", "--epochs", "6", "--lr", "0.001", "--checkpoint", str(ck), "--resume",
                 "--quiet"]) == 0  # --lr as saved last time
    err = capsys.readouterr().err
    assert "--lr" not in err and "--epochs 6" in err


def test_json_is_printed_when_training_diverges(capsys):
    assert main(["train", "miles", "--lr", "1e10", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert "loss became" in out["stopped"] and out["task"] == "miles"


def test_plot_into_a_missing_folder_is_refused_like_graph(tmp_path, capsys):
    target = tmp_path / "nowhere" / "p.png"
    assert main(["train", "miles", "--plot", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0] and str(tmp_path / "nowhere") in err[0]
    assert not target.parent.exists()


def test_train_plot_leaves_the_matplotlib_backend_alone(tmp_path):
    import subprocess
    import sys
    code = ("import matplotlib; matplotlib.use('svg'); import symnet; "
            f"symnet.train('miles', plot={str(tmp_path / 'p.png')!r}); print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "svg"
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _figure(task_name, epochs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from symnet.training import get_task
    result = symnet.train(task_name, epochs=epochs)
    figure = Figure()
    FigureCanvasAgg(figure)
    task = get_task(task_name)
    task.prepare(result.settings)
    task.plot(result, figure)
    return figure


def test_xor_points_stand_out_from_their_region():
    import matplotlib.colors as mc
    ax = _figure("xor", 20).axes[1]
    points = [c for c in ax.collections if c.get_offsets().shape[0] and len(c.get_facecolors()) and
              c.get_offsets().shape[0] <= 4 and c.get_label().startswith("target")]
    assert sum(c.get_offsets().shape[0] for c in points) == 4
    for c in points:  # white face, black edge: never the colour of either region
        assert all(mc.to_hex(f) == "#ffffff" for f in c.get_facecolors())
        assert all(mc.to_hex(e) == "#000000" for e in c.get_edgecolors())
    assert ax.get_legend() is not None


@pytest.mark.parametrize("task, epochs", [("rnn", 1), ("digits", 1)])
def test_two_axis_plots_have_a_legend_naming_both_curves(task, epochs):
    figure = _figure(task, epochs)
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None]
    labels = {t.get_text() for lg in legends for t in lg.get_texts()}
    assert {"train loss", "test accuracy"} <= labels


@pytest.mark.parametrize("formula, point, named", [
    ("log(x - 1)*y + x", {"x": 0, "y": 1}, "log(x - 1)"),
    ("1/(x - 1) + x", {"x": 1}, "1/(x - 1)"),
    ("sqrt(x)*y", {"x": 0, "y": 1}, "sqrt(x)"),
])
def test_errors_at_a_point_name_the_users_sub_formula(formula, point, named):
    with pytest.raises(NotDifferentiableError) as info:
        symnet.derive(symnet.parse(formula), at=point)
    message = str(info.value)
    assert named in message and not re.search(r"\bu\d", message), message
