"""A small deterministic training run that resumes from its checkpoints; driven by the SIGKILL test.

    python resumable_training.py FOLDER PRECISION

Trains the seed CNN on synthetic 28x28 images for 3 epochs (float32 or bfloat16, one thread, CPU;
CONVSCOPE_CPU_KERNELS turns the compiled kernels on or off), writing a checkpoint every 3 steps
and at each epoch end into FOLDER/checkpoints, resuming from the newest good one when started
again. Prints "training from epoch E step S" once it starts, "step N"
after each global step N, writes FOLDER/final.safetensors, then prints "done".
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

EPOCHS, BATCH, SAMPLES = 3, 16, 480


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.random((SAMPLES, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int64)
    return x, y


def build(precision: str) -> object:
    import convscope
    from convscope import zoo

    convscope.set_seed(0)
    model = zoo.build("seed-cnn", num_classes=2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], precision=precision, device="cpu")
    return model


def main(folder: Path, precision: str) -> None:
    from safetensors.torch import save_file

    from convscope.callbacks import Callback
    from convscope.engine.checkpoint import Checkpointer, restore_latest

    class StepPrinter(Callback):
        """Announces each finished step, so the test can kill at a chosen point of training."""

        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            print(f"step {self.epoch * (SAMPLES // BATCH) + batch + 1}", flush=True)

    torch.set_num_threads(1)
    model = build(precision)
    checkpoints = folder / "checkpoints"
    point = restore_latest(model, checkpoints)
    print(f"training from epoch {point.epoch} step {point.step} of {EPOCHS} x {SAMPLES // BATCH}", flush=True)
    x, y = data()
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, initial_epoch=point.epoch, resume=point,
              callbacks=[Checkpointer(checkpoints, every_steps=3), StepPrinter()])
    weights = {f"w{index}": torch.from_numpy(array) for index, array in enumerate(model.get_weights())}
    save_file(weights, str(folder / "final.safetensors"))
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
