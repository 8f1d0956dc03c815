"""A deterministic Keras-style training run with BackupAndRestore; driven by the SIGKILL test.

    python backup_training.py FOLDER SAVE_FREQ

Trains the seed CNN (Adam) on synthetic 28x28 images for 3 epochs of 6 steps (one thread, CPU)
with `BackupAndRestore(FOLDER/backup, save_freq=SAVE_FREQ)` ("epoch" or a number of batches):
the same call every time it is started. Prints "training from step S" once training starts,
"step N" after each global step N (after the backup of that step, if any), writes
FOLDER/final.safetensors, then prints "done".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

EPOCHS, BATCH, SAMPLES = 3, 16, 96


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.random((SAMPLES, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int64)
    return x, y


def main(folder: Path, save_freq: str | int) -> None:
    from safetensors.torch import save_file

    import convscope
    from convscope import zoo
    from convscope.callbacks import BackupAndRestore, Callback

    class StepPrinter(Callback):
        """Announces where training starts and each finished step, so the test can kill at a
        chosen point of training."""

        def on_train_begin(self, logs: object = None) -> None:
            print(f"training from step {self.fit_state.position.global_step}", flush=True)

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            print(f"step {self.fit_state.position.global_step}", flush=True)
            time.sleep(0.02)  # a kill sent up to 40 ms later lands here or in the next step, never steps later

    torch.set_num_threads(1)
    convscope.set_seed(0)
    model = zoo.build("seed-cnn", num_classes=2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")
    x, y = data()
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
              callbacks=[BackupAndRestore(folder / "backup", save_freq=save_freq), StepPrinter()])
    weights = {f"w{index}": torch.from_numpy(array) for index, array in enumerate(model.get_weights())}
    save_file(weights, str(folder / "final.safetensors"))
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if sys.argv[2] == "epoch" else int(sys.argv[2]))
