"""Crash-safe training checkpoints and exact resume.

A checkpoint is a saved-model folder (config.json, model.safetensors, optimizer.safetensors with
every random-number generator's state) plus:
    resume.safetensors   where training stood: epoch, step within it, the generator state
                         before this epoch's shuffle, and the epoch's running loss/metric sums
    manifest.json        written last: epoch, step, and the SHA-256 of every other file
Each one is written into a hidden temporary folder, fsynced and renamed into place, so a crash
(even SIGKILL) leaves either the whole checkpoint or none. A checkpoint whose manifest is missing
or whose hashes do not match is reported and skipped in favour of the previous good one.

    >>> checkpointer = Checkpointer("runs/mnist/checkpoints", every_steps=100)
    >>> point = restore_latest(model, "runs/mnist/checkpoints")
    >>> model.fit(x, y, epochs=10, initial_epoch=point.epoch, resume=point, callbacks=[checkpointer])

`restore_latest` loads weights, optimizer state and generator states into a compiled model and
returns where the checkpoint stood (a `ResumePoint`; epoch 0, step 0 when there is nothing to
resume); `fit(..., resume=point)` then continues exactly at that step, so the final weights
equal those of an uninterrupted run (float32, deterministic kernels). To rebuild the model from
the checkpoint itself, use `convscope.models.load_latest`.
Put the Checkpointer after callbacks that change the learning rate, so the saved optimizer
state includes the change; callbacks' own counters (EarlyStopping's patience) are not saved.
The engine reads and writes the model's files through its `write_checkpoint_files` and
`read_checkpoint_files` (`convscope.engine.protocol.TrainableModel`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from convscope import distributed
from convscope._atomic import discard_folder, write_folder
from convscope.engine.callbacks import Callback

if TYPE_CHECKING:
    from convscope.engine.protocol import TrainableModel

FORMAT = "convscope.checkpoint"
MANIFEST, RESUME_FILE = "manifest.json", "resume.safetensors"
PREFIX = "ckpt-"


@dataclass
class ResumePoint:
    """Where a restored checkpoint stood: `fit(..., initial_epoch=point.epoch, resume=point)`
    continues at `step` of `epoch` with the epoch's shuffle and running sums as they were."""

    epoch: int
    step: int
    steps_per_epoch: int
    epoch_rng: torch.Tensor | None = None
    sums: torch.Tensor | None = None
    count: int = 0


@dataclass
class TrainingPosition:
    """What the training loop shares with callbacks through `fit_state.position`."""

    epoch: int = 0
    step: int = 0  # steps finished in the current epoch
    global_step: int = 0  # steps finished since training began (resumes included)
    steps_per_epoch: int = 0
    epoch_rng: torch.Tensor | None = None  # generator state before this epoch's shuffle
    totals: Any = None  # the loop's Accumulator for this epoch
    nonfinite_step: torch.Tensor | None = None  # device scalar: first global step with a bad loss, or -1
    last_checkpoint: Path | None = None
    resume: ResumePoint | None = field(default=None, repr=False)

    def first_nonfinite_step(self) -> int | None:
        """The first global step whose loss was NaN or infinite, or None (reads the device)."""
        if self.nonfinite_step is None:
            return None
        step = int(self.nonfinite_step.item())
        return None if step < 0 else step


# -- generator state ------------------------------------------------------------------------
def generator_state(device: torch.device) -> torch.Tensor:
    """The state of the generator that shuffles on `device`."""
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def set_generator_state(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


def epoch_order(samples: int, device: torch.device, position: TrainingPosition, epoch: int) -> torch.Tensor:
    """This epoch's shuffle: drawn fresh, or, when resuming mid-epoch, redrawn from the saved
    pre-shuffle state without disturbing the generator's current (restored) state."""
    resume = position.resume
    if resume is not None and resume.epoch == epoch and resume.epoch_rng is not None:
        current = generator_state(device)
        set_generator_state(device, resume.epoch_rng)
        position.epoch_rng = resume.epoch_rng
        order = torch.randperm(samples, device=device)
        set_generator_state(device, current)
        return order
    position.epoch_rng = generator_state(device)
    return torch.randperm(samples, device=device)


# -- files ----------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_name(global_step: int) -> str:
    return f"{PREFIX}{global_step:010d}"


def write_checkpoint(model: TrainableModel, folder: Path, position: TrainingPosition) -> Path:
    """Write one checkpoint for `position` atomically and durably; returns its folder."""
    target = folder / checkpoint_name(position.global_step)
    state = {"format": FORMAT, "epoch": position.epoch, "step": position.step,
             "global_step": position.global_step, "steps_per_epoch": position.steps_per_epoch}

    def writer(staging: Path) -> None:
        model.write_checkpoint_files(staging)
        tensors: dict[str, torch.Tensor] = {}
        totals = position.totals
        if position.step and position.epoch_rng is not None:
            tensors["epoch_rng"] = position.epoch_rng.cpu()
        if position.step and totals is not None and totals.sums is not None:
            tensors["sums"] = totals.sums.detach().float().cpu()
            state["count"] = int(totals.count)
        tensors["marker"] = torch.zeros(1)  # safetensors needs at least one tensor to be useful
        save_file(tensors, str(staging / RESUME_FILE), metadata={"state": json.dumps(state)})
        files = {file.name: sha256(file) for file in sorted(staging.iterdir())}
        (staging / MANIFEST).write_text(json.dumps({**state, "files": files}, indent=2))

    write_folder(target, writer)
    return target


def verify(checkpoint: Path) -> dict[str, Any]:
    """The manifest of a complete, uncorrupted checkpoint.

    Raises:
        ValueError: naming the checkpoint and what is wrong (missing manifest or file, hash
            mismatch), so the caller can fall back to an earlier one.
    """
    try:
        manifest = json.loads((checkpoint / MANIFEST).read_text())
    except FileNotFoundError as error:
        raise ValueError(f"{checkpoint}: no {MANIFEST} (the write did not finish).") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{checkpoint / MANIFEST}: unreadable ({error}).") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{checkpoint / MANIFEST}: not a convscope checkpoint manifest.")
    for name, expected in manifest["files"].items():
        file = checkpoint / str(name)
        if not file.is_file() or "/" in str(name):
            raise ValueError(f"{checkpoint}: {name} is missing.")
        if sha256(file) != expected:
            raise ValueError(f"{checkpoint}: {name} is corrupted (SHA-256 differs from the manifest).")
    return manifest


def candidates(folder: str | os.PathLike[str]) -> list[Path]:
    """Checkpoint folders under `folder`, newest first (hidden temporary folders excluded)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if path.is_dir() and path.name.startswith(PREFIX)
             and path.name[len(PREFIX):].isdigit()]
    return sorted(found, key=lambda path: int(path.name[len(PREFIX):]), reverse=True)


def clear_staging(folder: Path) -> None:
    """Remove the hidden folders a killed run left under `folder`: checkpoints being written,
    and ones being discarded (`convscope._atomic.discard_folder`)."""
    for stale in folder.glob(f".{PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def latest_good(folder: str | os.PathLike[str], report: bool = True) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that verifies, with its manifest; bad ones are reported (a warning
    naming each and why) and skipped. None when there is no good checkpoint."""
    for checkpoint in candidates(folder):
        try:
            return checkpoint, verify(checkpoint)
        except ValueError as error:
            if report:
                warnings.warn(f"skipping checkpoint: {error} Falling back to the previous one.", stacklevel=2)
    return None


# -- resume ---------------------------------------------------------------------------------
def read_resume_point(checkpoint: Path, manifest: dict[str, Any]) -> ResumePoint:
    try:
        tensors = load_file(str(checkpoint / RESUME_FILE))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{checkpoint / RESUME_FILE}: unreadable ({error}).") from error
    return ResumePoint(epoch=int(manifest["epoch"]), step=int(manifest["step"]),
                       steps_per_epoch=int(manifest.get("steps_per_epoch", 0)),
                       epoch_rng=tensors.get("epoch_rng"), sums=tensors.get("sums"),
                       count=int(manifest.get("count", 0)))


def restore_latest(model: TrainableModel, folder: str | os.PathLike[str]) -> ResumePoint:
    """Load the newest good checkpoint in `folder` into the compiled `model`.

    Returns where it stood: pass it on, `fit(..., initial_epoch=point.epoch, resume=point)`,
    and `fit` continues at `point.step` of that epoch. Epoch 0, step 0 when `folder` holds no
    good checkpoint.

    >>> point = restore_latest(model, "runs/mnist/checkpoints")
    >>> point.epoch, point.step
    (1, 2)

    Raises:
        ValueError: if the model is not compiled, or the checkpoint does not fit the model.
    """
    compiled = model.require_compiled("restore_latest")
    found = latest_good(folder)
    if found is None:
        return ResumePoint(epoch=0, step=0, steps_per_epoch=0)
    checkpoint, manifest = found
    model.read_checkpoint_files(checkpoint)
    point = read_resume_point(checkpoint, manifest)
    compiled.epochs_done = point.epoch
    return point


def nonfinite_report(position: TrainingPosition) -> str:
    """The message printed when training stops on a NaN or infinite loss."""
    step = position.first_nonfinite_step()
    where = (f"at global step {step} (epoch {step // max(position.steps_per_epoch, 1) + 1}, "
             f"step {step % max(position.steps_per_epoch, 1) + 1})") if step is not None else f"in epoch {position.epoch + 1}"
    good = (f"the last good checkpoint is {position.last_checkpoint}" if position.last_checkpoint
            else "no checkpoint was written (pass a Checkpointer to keep one)")
    return (f"training stopped: the loss became non-finite {where}; {good}. Try a lower learning rate, "
            "check the inputs for extreme values, or use precision='float32'.")


# -- the callback ---------------------------------------------------------------------------
class Checkpointer(Callback):
    """Write a checkpoint at the end of each epoch and, with `every_steps`, every N steps.

    Only rank 0 writes under torch.distributed. The newest `keep` checkpoints are kept (at
    least 2, so a checkpoint damaged later still has a good predecessor). A state with a
    non-finite loss is never saved: training stops instead (see `nonfinite_report`).
    """

    def __init__(self, folder: str | os.PathLike[str], every_steps: int | None = None, keep: int = 3) -> None:
        if every_steps is not None and (not isinstance(every_steps, int) or isinstance(every_steps, bool)
                                        or every_steps <= 0):
            raise ValueError(f"Checkpointer: every_steps must be a positive integer or None; got {every_steps!r}.")
        if not isinstance(keep, int) or keep < 2:
            raise ValueError(f"Checkpointer: keep must be an integer >= 2; got {keep!r}.")
        self.folder, self.every_steps, self.keep = Path(folder), every_steps, keep
        self.written: list[Path] = []

    @property
    def position(self) -> TrainingPosition:
        assert self.fit_state.position is not None  # fit sets it before training begins
        return self.fit_state.position

    def on_train_begin(self, logs: Any = None) -> None:
        self.is_writer = distributed.is_main()
        if self.is_writer:
            self.folder.mkdir(parents=True, exist_ok=True)
            clear_staging(self.folder)
        found = latest_good(self.folder, report=False)
        self.position.last_checkpoint = found[0] if found else None

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        position = self.position
        if self.every_steps and position.global_step % self.every_steps == 0 \
                and position.step < position.steps_per_epoch:
            self.save()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.save()

    def save(self) -> None:
        position = self.position
        if position.first_nonfinite_step() is not None:
            self.model.stop_training = True
            return
        if self.is_writer:
            position.last_checkpoint = write_checkpoint(self.model, self.folder, position)
            self.prune()
        else:
            position.last_checkpoint = self.folder / checkpoint_name(position.global_step)

    def prune(self) -> None:
        for old in candidates(self.folder)[self.keep:]:
            discard_folder(old)


# -- hooks the training loop calls ---------------------------------------------------------------
def start_position(initial_epoch: int, steps: int, resume: ResumePoint | None = None) -> TrainingPosition:
    """The position `fit` starts from: the first step of `initial_epoch`, or the step a
    mid-epoch `resume` point stopped at."""
    if resume is not None and resume.step == 0:
        resume = None  # an epoch-end checkpoint: the epoch starts from its first step anyway
    if resume is not None and resume.epoch != initial_epoch:
        warnings.warn(f"restored checkpoint stopped in epoch {resume.epoch} (0-based) but fit starts at "
                      f"initial_epoch={initial_epoch}; starting that epoch from its first step.", stacklevel=3)
        resume = None
    if resume is not None and resume.steps_per_epoch != steps:
        raise ValueError(f"the restored checkpoint was written with {resume.steps_per_epoch} steps per epoch; "
                         f"this fit has {steps}. Resume with the same data and batch size.")
    step = resume.step if resume is not None else 0
    return TrainingPosition(epoch=initial_epoch, step=step, global_step=initial_epoch * steps + step,
                            steps_per_epoch=steps, resume=resume)


def resume_epoch(position: TrainingPosition, totals: Any, device: torch.device) -> int:
    """The first step of this epoch: 0, or the resumed step with its running sums restored."""
    resume = position.resume
    position.totals = totals
    if resume is None or resume.epoch != position.epoch:
        position.step = 0
        return 0
    position.resume = None
    if resume.sums is not None:
        totals.sums, totals.count = resume.sums.to(device), resume.count
    position.step = resume.step
    return resume.step


def track_nonfinite(position: TrainingPosition, loss: torch.Tensor) -> None:
    """Remember the first global step whose loss is NaN or infinite, on the device (no sync)."""
    flag = position.nonfinite_step
    if flag is None:
        flag = torch.full((), -1, dtype=torch.long, device=loss.device)
    bad = ~torch.isfinite(loss) & (flag < 0)
    position.nonfinite_step = torch.where(bad, flag.new_full((), position.global_step), flag)
