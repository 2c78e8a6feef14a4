"""The training loop every task shares: mini-batches, progress, checkpoints, divergence.

A task (see ``tasks.py``) supplies the data, the initial weights, an *engine* per backend
(one SGD step on a mini-batch of example indices, returning the loss before the step)
and an evaluation of the weights. This module runs the epochs around them:

1. draw a random mini-batch (a fresh permutation of the examples each epoch);
2. compute the gradient of the mini-batch loss (the engine: generated kernels or torch);
3. move the weights a little against it;
4. repeat — the lecture's four steps.

A loss that is NaN or infinite stops training at once, naming the epoch and step, before
the bad step is applied; the last checkpoint written is the last good one.
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SymnetError

__all__ = ["Settings", "TrainResult", "TrainingDiverged", "fit", "save_checkpoint", "load_checkpoint"]


class TrainingDiverged(SymnetError):
    """The loss became NaN or infinite; ``.result`` holds the run up to the last good epoch."""

    def __init__(self, message: str, result: "TrainResult"):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Settings:
    epochs: int
    lr: float
    batch: int
    seed: int

    def check(self) -> "Settings":
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            raise SymnetError(f"--epochs must be a positive whole number, not {self.epochs!r}")
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise SymnetError(f"--batch must be a positive whole number, not {self.batch!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise SymnetError(f"--lr must be a positive finite learning rate, not {self.lr!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise SymnetError(f"--seed must be a non-negative whole number, not {self.seed!r}")
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


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(path, params: dict, meta: dict) -> None:
    """The weights and the run's state in one ``.npz``, written whole then moved into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **{f"param_{k}": v for k, v in params.items()})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path) -> tuple[dict, dict]:
    path = Path(path)
    if not path.is_file():
        raise SymnetError(f"no checkpoint at {path} to resume from (train once with --checkpoint {path})")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            params = {k[len("param_"):]: data[k] for k in data.files if k.startswith("param_")}
    except (OSError, ValueError, KeyError) as exc:
        raise SymnetError(f"{path} is not a symnet checkpoint ({exc})") from None
    return params, meta


# ---------------------------------------------------------------- the loop

def fit(task, backend: str, settings: Settings, *, checkpoint=None, resume: bool = False,
        progress: bool = False) -> TrainResult:
    """Train ``task`` with ``settings`` on ``backend``; see the module docstring."""
    settings.check()
    rng = np.random.default_rng(settings.seed)
    task.prepare(settings)
    params = task.init_params(rng)
    history: list = []
    start = 0
    if resume:
        if checkpoint is None:
            raise SymnetError("--resume needs --checkpoint FILE: the file to continue from")
        saved, meta = load_checkpoint(checkpoint)
        if meta.get("task") != task.name:
            raise SymnetError(f"{checkpoint} holds a {meta.get('task')!r} run, not {task.name!r}")
        if set(saved) != set(params) or any(saved[k].shape != params[k].shape for k in params):
            raise SymnetError(f"{checkpoint} holds weights of other shapes than this {task.name} model "
                              f"({', '.join(f'{k} {v.shape}' for k, v in saved.items())})")
        params = {k: saved[k].astype(params[k].dtype) for k in params}
        rng.bit_generator.state = meta["rng"]
        history, start = meta["history"], meta["epoch"]
    engine = task.engine(backend, params)
    n = task.examples
    result = TrainResult(task.name, backend, settings, metrics={}, history=history, start_epoch=start)
    bar = Progress(settings.epochs, f"{task.name} ({backend})", progress)
    train_seconds = 0.0
    per_epoch = -(-n // settings.batch)
    try:
        for epoch in range(start, settings.epochs):
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
                    losses.append(engine.step(order[lo:lo + settings.batch], lrs[step]))
                    if not math.isfinite(losses[-1]):
                        break
            bad = next((s for s, loss in enumerate(losses) if not math.isfinite(loss)), None)
            if bad is not None:  # the engines never apply a step whose loss is not finite
                result.params = engine.params()
                where = f"epoch {epoch + 1}, step {bad + 1}"
                kept = (f"; the last good checkpoint (epoch {epoch}) is kept in {checkpoint}"
                        if checkpoint and (epoch > start or resume) else "")
                raise TrainingDiverged(f"the loss became {losses[bad]} at {where} (learning rate {settings.lr}); "
                                       f"training stopped before that step{kept}. Try a smaller --lr.",
                                       result)
            train_seconds += time.perf_counter() - started
            result.step_losses += losses
            params = engine.params()
            record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), **task.evaluate(params)}
            history.append(record)
            if checkpoint is not None:
                save_checkpoint(checkpoint, params, {
                    "task": task.name, "backend": backend, "epoch": epoch + 1, "history": history,
                    "rng": rng.bit_generator.state,
                    "settings": {"epochs": settings.epochs, "lr": settings.lr, "batch": settings.batch,
                                 "seed": settings.seed}})
            bar.update(epoch + 1, task.progress_text(record))
    finally:
        bar.close()
    result.params = engine.params()
    result.metrics = {**(history[-1] if history else {}), **task.final_metrics(result.params)}
    result.metrics.pop("epoch", None)
    ran = settings.epochs - start
    result.seconds_per_epoch = train_seconds / ran if ran > 0 else float("nan")
    result.summary = task.report(result)
    return result
