"""Training the lecture's networks on the kernels symnet generated from its derivations.

    >>> import symnet
    >>> run = symnet.train("xor", seed=1)     # or symnet.training.train
    >>> run.metrics["correct"]
    4

Tasks: ``miles``, ``perceptron``, ``xor``, ``digits``, ``rnn`` (see ``symnet train --help``).
Backends: ``numpy`` (default; generated kernels only), ``torch`` (plain PyTorch autograd
on the same model, the reference), ``triton`` (generated Triton kernels on a GPU).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import SymnetError
from .checkpoint import (CheckpointError, check_writable, load_checkpoint, remove_stale_temporaries,
                         save_checkpoint, write_atomically)
from .engines import BACKENDS, check_backend
from .loop import SAVE_EVERY, Settings, TrainingDiverged, TrainingInterrupted, TrainResult, fit
from .tasks import TASKS, get_task

__all__ = ["train", "TASKS", "BACKENDS", "TrainResult", "TrainingDiverged", "TrainingInterrupted",
           "CheckpointError", "Settings", "save_plot", "get_task", "load_checkpoint", "save_checkpoint"]


def train(task: str, backend: str = "numpy", *, epochs: int | None = None, lr: float | None = None,
          batch: int | None = None, seed: int = 0, checkpoint=None, resume: bool = False,
          plot=None, progress: bool = False, save_every: float = SAVE_EVERY) -> TrainResult:
    """Train one of the lecture's networks and return its :class:`TrainResult`.

    Unset hyper-parameters take the task's defaults (``get_task(name).defaults``).
    ``checkpoint``: save the weights there (atomically, durably) after an epoch once
    ``save_every`` seconds have passed since the last save (0: every epoch), after the
    last epoch and when training stops early; with ``resume=True`` continue from it up
    to ``epochs`` (a line on stderr says when ``epochs`` or ``lr`` differ from the
    checkpoint's run, or when it is already at ``epochs``: nothing to do). ``plot``: write
    a PNG of the loss curve and the task's own figure, into an existing folder, without
    pyplot (a notebook's matplotlib backend is left alone). Every output is checked writable before training
    starts. Raises :class:`TrainingDiverged` when the loss or the weights become NaN or
    infinite, :class:`TrainingInterrupted` on Ctrl-C, :class:`CheckpointError` for a
    checkpoint that cannot be resumed from, :class:`UnknownNameError` for an unknown task
    (with a did-you-mean), :class:`SymnetError` for bad settings, a plot folder that does
    not exist, or an output that cannot be written.
    """
    job = get_task(task)
    check_backend(backend, job)
    d = job.defaults
    settings = Settings(d["epochs"] if epochs is None else epochs, d["lr"] if lr is None else lr,
                        d["batch"] if batch is None else batch, seed).check()
    if plot is not None:
        remove_stale_temporaries(_plot_target(plot))
        check_writable(plot, "the plot")
        if checkpoint is not None and Path(plot).resolve() == Path(checkpoint).resolve():
            # the plot, written last, replaced the checkpoint, and "weights saved to x.png" named a PNG (session 35)
            raise SymnetError(f"--plot and --checkpoint name one file ({plot}): the plot would replace the "
                              "checkpoint; give them different names")
    result = fit(job, backend, settings, checkpoint=checkpoint, resume=resume, progress=progress,
                 save_every=save_every)
    if plot is not None:
        save_plot(job, result, plot)
    return result


def _plot_target(path) -> Path:
    if "\0" in str(path):  # from Python: os.stat's "ValueError: embedded null byte" (session 35)
        raise SymnetError(f"cannot write the plot {str(path)!r}: a file name cannot hold a NUL character")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SymnetError(f"--plot writes a PNG; give a file name ending in .png, not {path.name!r}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        # not 'symnet[train]', which pip would look for on the package index (session 41's new user)
        raise SymnetError("--plot needs matplotlib: pip install matplotlib "
                          "(or, in symnet's folder, pip install '.[train]')") from None
    try:  # a folder name past the file system's limit: os.stat's OSError (session 35)
        if not path.parent.is_dir():  # as graph -o: refused, not created
            blocking = next((f for f in path.parents if f.exists()), None)
            if blocking is not None and not blocking.is_dir():
                raise SymnetError(f"cannot write the plot {path}: {blocking} is not a folder")
            raise SymnetError(f"cannot write the plot {path}: the folder {path.parent} does not exist")
    except OSError as exc:
        raise SymnetError(f"cannot write the plot {path}: {exc.strerror or exc}") from None
    return path


def save_plot(task, result: TrainResult, path) -> Path:
    """The task's figure as a PNG, written atomically (see ``checkpoint.write_atomically``).
    Raises :class:`SymnetError` when ``path`` is not a ``.png`` name, its folder does
    not exist, matplotlib is missing, or the file cannot be written. Never switches
    matplotlib's backend (pyplot is not used)."""
    path = _plot_target(path)
    # a Figure on its own Agg canvas: pyplot and the process's backend (a notebook's
    # inline one) are left alone
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    task.plot(result, figure)
    figure.suptitle(f"symnet train {result.task} ({result.backend} backend)")
    return write_atomically(path, lambda f: figure.savefig(f, format="png", dpi=110), "the plot")
