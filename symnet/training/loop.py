"""The training loop every task shares: mini-batches, progress, checkpoints, divergence.

A task (see ``tasks.py``) supplies the data, the initial weights, an *engine* per backend
(one SGD step on a mini-batch of example indices, returning the loss before the step)
and an evaluation of the weights. This module runs the epochs around them:

1. draw a random mini-batch (a fresh permutation of the examples each epoch);
2. compute the gradient of the mini-batch loss (the engine: generated kernels or torch);
3. move the weights a little against it;
4. repeat — the lecture's four steps.

A loss that is NaN or infinite, or an update that would make a weight so, stops training
at once, naming the epoch and step, before the bad step is applied (engines that update
on the device are checked once an epoch); the last checkpoint written is the last good
one. Ctrl-C stops training the same way, never in the middle of a save. Checkpoints and
the other outputs are written as ``checkpoint.py`` describes: checked writable before
training starts, atomically, durably, at the same cost every epoch. A durable save costs
a few fsyncs (milliseconds on a busy disk, far more than an epoch of xor), so the run is
saved at most once every ``save_every`` seconds, after the last epoch, and whenever
training stops early: a killed run loses at most that much work.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import SymnetError
from .checkpoint import (HISTORY_LIMIT, CheckpointError, CheckpointWriter, check_writable, history_path, load_checkpoint,
                         remove_stale_temporaries, save_checkpoint)
from .engines import NonFiniteWeights

__all__ = ["Settings", "TrainResult", "TrainingDiverged", "TrainingInterrupted", "fit", "save_checkpoint",
           "load_checkpoint"]


class TrainingDiverged(SymnetError):
    """The loss or the weights became NaN or infinite; ``.result`` holds the run up to the
    last good step (``.result.params``: weights that are all finite)."""

    def __init__(self, message: str, result: "TrainResult"):
        super().__init__(message)
        self.result = result


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C) stopped training; the message says where the last good checkpoint
    is, ``.result.params`` holds the weights of the last completed epoch. A
    ``KeyboardInterrupt``, so code that stops on Ctrl-C still does."""

    def __init__(self, message: str, result: "TrainResult"):
        super().__init__(message)
        self.result = result


# A run's history holds one record per epoch (60–120 bytes of JSON): 10⁶ of them fit the history
# sidecar a resume reads back (HISTORY_LIMIT, 256 MB) twice over. Unbounded, `--epochs 10**22` grew
# the history in memory without end, and a run past ~2·10⁶ epochs wrote a checkpoint no resume could read.
MAX_EPOCHS = 1_000_000


@dataclass(frozen=True)
class Settings:
    epochs: int
    lr: float
    batch: int
    seed: int

    def check(self) -> "Settings":
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            raise SymnetError(f"epochs (--epochs) must be a positive whole number, not {self.epochs!r}")
        if self.epochs > MAX_EPOCHS:
            raise SymnetError(f"epochs (--epochs) must be at most {MAX_EPOCHS:,}, not {self.epochs:,}: the per-epoch history is "
                              "kept in memory and in the checkpoint, whose history a resume reads back up to "
                              f"{HISTORY_LIMIT >> 20} MB")
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise SymnetError(f"batch (--batch) must be a positive whole number, not {self.batch!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise SymnetError(f"lr (--lr) must be a positive finite learning rate, not {self.lr!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise SymnetError(f"seed (--seed) must be a non-negative whole number, not {self.seed!r}")
        return self


@dataclass
class TrainResult:
    """What a run produced: the final metrics, the per-epoch history, the weights."""

    task: str
    backend: str
    settings: Settings
    metrics: dict
    history: list = field(default_factory=list)   # one dict per epoch
    step_losses: list = field(default_factory=list)  # the loss of every step of this run
    params: dict = field(default_factory=dict)
    seconds_per_epoch: float = float("nan")
    summary: list = field(default_factory=list)    # the task's final report, line by line
    start_epoch: int = 0                           # > 0 when resumed from a checkpoint

    def as_json(self) -> dict:
        return {"task": self.task, "backend": self.backend,
                "settings": {"epochs": self.settings.epochs, "lr": self.settings.lr,
                             "batch": self.settings.batch, "seed": self.settings.seed},
                "metrics": self.metrics,
                "seconds_per_epoch": self.seconds_per_epoch if math.isfinite(self.seconds_per_epoch) else None,
                "resumed_from_epoch": self.start_epoch, "history": self.history}


class Progress:
    """A one-line progress bar on a terminal (stderr); elsewhere a line every tenth of the run."""

    def __init__(self, total: int, title: str, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.title, self.enabled = total, title, enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = max(1, total // 10)
        self.started = time.perf_counter()

    def update(self, done: int, text: str) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        if self.tty:
            width = 24
            filled = int(width * done / self.total)
            bar = "█" * filled + "·" * (width - filled)
            self.stream.write(f"\r{self.title} [{bar}] {done}/{self.total} {text}  {elapsed:.1f}s ")
            self.stream.flush()
        elif done % self.every == 0 or done == self.total:
            self.stream.write(f"{self.title}: epoch {done}/{self.total} {text} ({elapsed:.1f}s)\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------- interrupts

SAVE_EVERY = 1.0  # seconds between checkpoint saves: a durable save costs fsyncs (ms on a busy disk)


class _Interrupts:
    """SIGINT during training: a ``KeyboardInterrupt`` at once, except while a checkpoint is
    being saved, where it waits until the save is complete (so no half-written file and no
    half-appended history). Installed only in the main thread, and only over Python's
    default handler (a program that handles SIGINT itself keeps its handler)."""

    def __init__(self):
        self.saving = self.pending = False
        self.previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum, frame) -> None:
        if self.saving:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def deferred(self, raise_pending: bool = True):
        """Hold SIGINT back until the block is done; then raise it (unless told not to:
        a run already stopping)."""
        self.saving = True
        try:
            yield
        finally:
            self.saving = False
        if self.pending and raise_pending:
            self.pending = False
            raise KeyboardInterrupt


# ---------------------------------------------------------------- the loop

def _settings_json(settings: Settings) -> dict:
    return {"epochs": settings.epochs, "lr": settings.lr, "batch": settings.batch, "seed": settings.seed}


def _resume(task, checkpoint, params: dict, rng, settings: Settings) -> tuple[dict, list, int]:
    """The weights, history and epoch saved in ``checkpoint``, checked against this model;
    restores the random generator's state into ``rng``."""
    saved, meta = load_checkpoint(checkpoint, {k: v.shape for k, v in params.items()}, task.name)
    try:
        rng.bit_generator.state = meta["rng"]
    except (KeyError, TypeError, ValueError, OverflowError):
        raise CheckpointError(f"{checkpoint} is not a valid symnet checkpoint: its random generator state "
                              "is malformed") from None
    params = {k: saved[k].astype(params[k].dtype) for k in params}
    keys = {"epoch", "loss", *task.evaluate(params)}
    if any(set(record) != keys for record in meta["history"]):
        raise CheckpointError(f"{checkpoint} is not a valid symnet checkpoint: its history records are not "
                              f"the {task.name} task's ({', '.join(sorted(keys))})")
    if meta["epoch"] < settings.epochs:  # else: nothing to do, said by fit
        _note_schedule(checkpoint, meta.get("settings"), settings)
    return params, meta["history"], meta["epoch"]


def _note_schedule(checkpoint, saved, settings: Settings) -> None:
    """One line on stderr where --epochs or --lr differ from the checkpoint's: the rest of
    the run follows the new schedule (the learning rate, and for a decaying schedule its
    length), not the one the checkpoint was trained with."""
    if not isinstance(saved, dict):
        return
    changed = [f"--{k} {getattr(settings, k)} (the checkpoint's run: {saved[k]})" for k in ("epochs", "lr")
               if k in saved and saved[k] != getattr(settings, k)]
    if changed:
        print(f"symnet: note: resuming {checkpoint} with {' and '.join(changed)}: the rest of the run "
              "follows the new learning-rate schedule", file=sys.stderr)


def fit(task, backend: str, settings: Settings, *, checkpoint=None, resume: bool = False,
        progress: bool = False, save_every: float = SAVE_EVERY) -> TrainResult:
    """Train ``task`` with ``settings`` on ``backend``; see the module docstring.

    With ``checkpoint``, the file (and its history sidecar) is checked writable before
    anything is trained, temporary files a killed run left beside it are removed, and the
    run is saved after an epoch when ``save_every`` seconds have passed since the last
    save (0: after every epoch), after the last epoch, and when training stops early (the
    last good epoch). Raises :class:`TrainingDiverged` when the loss or the weights become
    NaN or infinite, :class:`TrainingInterrupted` on SIGINT (Ctrl-C),
    :class:`CheckpointError` for a checkpoint that cannot be resumed from,
    :class:`SymnetError` for bad settings or an output that cannot be written.
    """
    settings.check()
    if not (isinstance(save_every, (int, float)) and math.isfinite(save_every) and save_every >= 0):
        raise SymnetError(f"save_every (--save-every) must be a non-negative number of seconds, not {save_every!r}")
    if resume and checkpoint is None:
        raise SymnetError("--resume needs --checkpoint FILE: the file to continue from")
    writer = None
    if checkpoint is not None:
        checkpoint = check_writable(checkpoint, "the checkpoint")  # before history_path, which needs a file name
        for path in (checkpoint, history_path(checkpoint)):
            remove_stale_temporaries(path)
            check_writable(path, "the checkpoint" if path == checkpoint else "the checkpoint history")
    rng = np.random.default_rng(settings.seed)
    task.prepare(settings)
    params = task.init_params(rng)
    history: list = []
    start = 0
    if resume:
        params, history, start = _resume(task, checkpoint, params, rng, settings)
        if start >= settings.epochs:  # the result is the checkpoint's, untimed
            print(f"symnet: nothing to do: {checkpoint} is already at epoch {start}, and --epochs "
                  f"{settings.epochs} asks for no more; give --epochs above {start} to train on", file=sys.stderr)
            # the report is the checkpoint's run: "after 3 epochs" of a checkpoint at epoch 5 (session 18)
            settings = replace(settings, epochs=start)
    if checkpoint is not None:
        writer = CheckpointWriter(checkpoint)
    engine = task.engine(backend, params)
    n = task.examples
    result = TrainResult(task.name, backend, settings, metrics={}, history=history, start_epoch=start)
    bar = Progress(settings.epochs, f"{task.name} ({backend})", progress)
    train_seconds = 0.0
    per_epoch = -(-n // settings.batch)
    saved = start if resume else None  # the epoch of the last checkpoint on disk
    last_save = time.monotonic()
    epoch = start
    rng_state = rng.bit_generator.state  # at the end of the last completed epoch

    def save(done: int) -> None:
        nonlocal saved, last_save
        writer.save(params, {"task": task.name, "backend": backend, "epoch": done, "rng": rng_state,
                             "settings": _settings_json(settings)}, history)
        saved, last_save = done, time.monotonic()

    def stopped(what: str, error=TrainingDiverged):
        """Save the last good epoch if it is not saved yet; the exception to raise."""
        if writer is not None and epoch > (saved or 0):
            with interrupts.deferred(raise_pending=False):
                save(epoch)
        result.params = params
        if saved is not None:
            kept = f"the last good checkpoint (epoch {saved}) is kept in {checkpoint}"
        else:
            kept = "no checkpoint was written" + ("" if checkpoint is not None else
                                                  " (--checkpoint FILE saves the run as it trains)")
        return error(f"{what}; {kept}", result)

    try:
        with _Interrupts() as interrupts:
            try:
                for epoch in range(start, settings.epochs):  # ``epoch``: the epochs completed so far
                    order = rng.permutation(n) if task.shuffle else np.arange(n)
                    started = time.perf_counter()
                    steps = range(0, n, settings.batch)
                    lrs = [task.learning_rate(settings, epoch * per_epoch + step, settings.epochs * per_epoch)
                           for step in range(len(steps))]
                    if hasattr(engine, "run_epoch"):  # one launch for the whole epoch
                        losses = engine.run_epoch(order, lrs, settings.batch)
                    else:
                        losses = []
                        for step, lo in enumerate(steps):
                            try:
                                losses.append(engine.step(order[lo:lo + settings.batch], lrs[step]))
                            except NonFiniteWeights as bad:
                                raise stopped(f"the weight {bad.name} would become NaN or infinite at epoch "
                                              f"{epoch + 1}, step {step + 1} (learning rate {settings.lr}); "
                                              "training stopped before that step. Try a smaller --lr") from None
                            if not math.isfinite(losses[-1]):
                                break
                    bad = next((s for s, loss in enumerate(losses) if not math.isfinite(loss)), None)
                    if bad is not None:  # the engines never apply a step whose loss is not finite
                        raise stopped(f"the loss became {losses[bad]} at epoch {epoch + 1}, step {bad + 1} "
                                      f"(learning rate {settings.lr}); training stopped before that step. "
                                      "Try a smaller --lr")
                    updated = engine.params()
                    bad = next((k for k, w in updated.items() if not np.isfinite(w).all()), None)
                    if bad is not None:  # engines that update on the device are checked once an epoch
                        raise stopped(f"the weight {bad} became NaN or infinite in epoch {epoch + 1} (learning "
                                      f"rate {settings.lr}); training stopped with the weights of epoch {epoch}. "
                                      "Try a smaller --lr")
                    train_seconds += time.perf_counter() - started
                    with np.errstate(over="ignore", invalid="ignore"):  # finite weights near the float limit
                        metrics = task.evaluate(updated)
                    with interrupts.deferred():  # the epoch is complete, and saved when due, or not at all
                        params, rng_state = updated, rng.bit_generator.state
                        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), **metrics})
                        result.step_losses += losses
                        epoch += 1
                        if writer is not None and (epoch == settings.epochs
                                                   or time.monotonic() - last_save >= save_every):
                            save(epoch)
                    bar.update(epoch, task.progress_text(history[-1]))
            except KeyboardInterrupt:
                where = f"epoch {epoch + 1}" if epoch < settings.epochs else "the end of the run"
                raise stopped(f"interrupted during {where}", TrainingInterrupted) from None
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    result.params = engine.params()
    result.metrics = {**(history[-1] if history else {}), **task.final_metrics(result.params)}
    result.metrics.pop("epoch", None)
    ran = settings.epochs - start
    result.seconds_per_epoch = train_seconds / ran if ran > 0 else float("nan")
    result.summary = task.report(result)
    return result
