"""symnet train: each task reaches its stated target; the generated gradients are the
true ones (the numpy backend's losses follow torch.autograd's step by step); checkpoints,
resume, divergence, plots and bad input."""
from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

from symnet.cli import main
from symnet.errors import SymnetError
from symnet.training import Settings, TrainingDiverged, get_task, load_checkpoint, train
from symnet.training.loop import fit


def test_miles_learns_the_conversion_constant():
    run = train("miles")
    assert run.metrics["c"] == pytest.approx(0.62137, abs=1e-4)
    errors = [abs(r["error_at_100km"]) for r in run.history]
    assert errors[0] < 12.137 and errors[-1] < 1e-3  # from the guess c = 0.5, error 12.137
    text = "\n".join(run.summary)
    assert "c = 0.5: 50.000 miles, error E = +12.137" in text and "c = 0.7: 70.000 miles, error E = -7.863" in text


def test_perceptron_learns_and_or_but_never_xor_and_two_layers_do():
    run = train("perceptron")
    last = run.history[-1]
    assert last["AND_correct"] == 4 and last["OR_correct"] == 4
    assert all(r["XOR_correct"] < 4 for r in run.history)
    assert run.metrics["two_layer_XOR_correct"] == 4
    assert "not linearly separable" in "\n".join(run.summary)
    longer = train("perceptron", epochs=200)  # more epochs do not help
    assert max(r["XOR_correct"] for r in longer.history) < 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_reaches_four_of_four_with_the_defaults(seed):
    run = train("xor", seed=seed)
    assert run.metrics["correct"] == 4 and run.metrics["mse"] < 0.01
    assert "   1  1     0" in "\n".join(run.summary)  # the truth table is printed


def test_digits_reaches_97_percent_with_the_defaults():
    pytest.importorskip("sklearn")
    run = train("digits")
    assert run.metrics["test_accuracy"] >= 0.97
    assert "confusion matrix" in "\n".join(run.summary)


def test_rnn_recalls_the_delayed_symbol():
    run = train("rnn")
    assert run.metrics["test_accuracy"] >= 0.99  # chance is 25%
    assert run.history[0]["test_accuracy"] < run.metrics["test_accuracy"]


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    a, b, c = train("xor", epochs=50), train("xor", epochs=50), train("xor", epochs=50, seed=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize("task, epochs, batch", [("miles", 3, 1), ("xor", 20, 4), ("digits", 1, 32), ("rnn", 1, 64)])
def test_generated_gradients_follow_torch_autograd_step_by_step(task, epochs, batch):
    """Same initial weights, same batches: the numpy backend (generated kernels) and the
    torch backend (autograd) lose the same after each of the first 20 steps."""
    pytest.importorskip("torch")
    if task == "digits":
        pytest.importorskip("sklearn")
    lr = get_task(task).defaults["lr"]
    ours = fit(get_task(task), "numpy", Settings(epochs, lr, batch, 4))
    ref = fit(get_task(task), "torch", Settings(epochs, lr, batch, 4))
    assert len(ours.step_losses) >= 20
    np.testing.assert_allclose(ours.step_losses[:20], ref.step_losses[:20], rtol=2e-4, atol=1e-6)


def test_checkpoint_and_resume_continue_the_same_run(tmp_path):
    ck = tmp_path / "xor.npz"
    straight = train("xor", epochs=40)
    first = train("xor", epochs=20, checkpoint=ck)
    params, meta = load_checkpoint(ck)
    assert meta["epoch"] == 20 and np.array_equal(params["W1"], first.params["W1"])
    resumed = train("xor", epochs=40, checkpoint=ck, resume=True)
    assert resumed.start_epoch == 20 and len(resumed.history) == 40
    for k in straight.params:  # interrupted or not, the same weights
        np.testing.assert_array_equal(resumed.params[k], straight.params[k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xor.npz", "xor.npz.history.jsonl"]  # no temporary files


def test_a_diverging_loss_stops_at_the_named_step_and_keeps_the_last_good_checkpoint(tmp_path):
    ck = tmp_path / "miles.npz"
    train("miles", epochs=2, checkpoint=ck)
    before = ck.read_bytes()
    with pytest.raises(TrainingDiverged, match=r"the loss became (inf|nan) at epoch 3, step \d+") as caught:
        train("miles", epochs=5, lr=1e200, checkpoint=ck, resume=True)
    assert "last good checkpoint (epoch 2)" in str(caught.value)
    assert ck.read_bytes() == before
    assert all(math.isfinite(v) for v in caught.value.result.params["c"])  # the bad step was not applied


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "mnist"}, "unknown task 'mnist'"),
    ({"task": "xor", "lr": -0.1}, "lr (--lr) must be a positive"),
    ({"task": "xor", "lr": float("nan")}, "lr (--lr) must be a positive"),
    ({"task": "xor", "batch": 0}, "batch (--batch) must be a positive"),
    ({"task": "xor", "epochs": 0}, "epochs (--epochs) must be a positive"),
    ({"task": "xor", "backend": "jax"}, "unknown backend 'jax'"),
    ({"task": "xor", "plot": "curve.pdf"}, "give a file name ending in .png"),
    ({"task": "xor", "resume": True}, "--resume needs --checkpoint"),
])
def test_bad_settings_are_refused_clearly(kwargs, message):
    with pytest.raises(SymnetError, match=re.escape(message)):
        train(**kwargs)


def test_resume_refuses_a_missing_or_foreign_checkpoint(tmp_path):
    with pytest.raises(SymnetError, match="no checkpoint at"):
        train("xor", checkpoint=tmp_path / "none.npz", resume=True)
    train("miles", epochs=1, checkpoint=tmp_path / "m.npz")
    with pytest.raises(SymnetError, match="holds a 'miles' run, not 'xor'"):
        train("xor", checkpoint=tmp_path / "m.npz", resume=True)


def test_triton_without_a_gpu_says_so(monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(SymnetError, match="needs an NVIDIA GPU.*--backend numpy"):
        train("xor", backend="triton")


def test_cli_prints_the_truth_table_and_json(capsys):
    assert main(["train", "xor", "--epochs", "3000", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "x1 x2  target  output" in out and "4/4 correct" in out
    assert main(["train", "miles", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["task"] == "miles" and abs(data["metrics"]["c"] - 0.62137) < 1e-4
    assert main(["train", "xor", "--lr", "-1"]) == 2
    assert "lr (--lr) must be a positive" in capsys.readouterr().err
    assert main(["train", "xor", "--compare"]) == 2


def test_cli_reports_divergence_with_status_2(capsys):
    assert main(["train", "miles", "--lr", "1e200", "--quiet"]) == 2
    assert "training stopped: the loss became" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["xor", "digits", "miles", "perceptron", "rnn"])
def test_plots_are_png_files(tmp_path, task):
    pytest.importorskip("matplotlib")
    if task == "digits":
        pytest.importorskip("sklearn")
    path = tmp_path / f"{task}.png"
    train(task, epochs=2, plot=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_goes_to_stderr(capsys):
    train("xor", epochs=20, progress=True)
    err = capsys.readouterr().err
    assert "xor (numpy): epoch 20/20" in err


def test_triton_backend_follows_the_numpy_backend_step_by_step():
    """The generated Triton kernels (under the interpreter without a GPU) lose the same as
    the generated NumPy ones after each of the first 20 steps of a tiny model (XOR)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported
    pytest.importorskip("triton")
    ours = fit(get_task("xor"), "numpy", Settings(20, 5.0, 4, 4))
    gpu = fit(get_task("xor"), "triton", Settings(20, 5.0, 4, 4))
    np.testing.assert_allclose(gpu.step_losses, ours.step_losses, rtol=1e-5)
    for k in ours.params:
        np.testing.assert_allclose(gpu.params[k], ours.params[k], rtol=1e-4, atol=1e-6)
    with pytest.raises(SymnetError, match="the miles task runs on numpy, torch, not on 'triton'"):
        train("miles", backend="triton")


def test_json_after_a_resume_with_nothing_left_to_do_is_valid(tmp_path, capsys):
    ck = tmp_path / "m.npz"
    assert main(["train", "miles", "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "miles", "--epochs", "2", "--checkpoint", str(ck), "--resume", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert data["resumed_from_epoch"] == 2 and data["seconds_per_epoch"] is None
