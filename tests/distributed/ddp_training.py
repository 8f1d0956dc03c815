"""Train a tiny CNN with N processes (gloo) or one, and save the final weights.

    python ddp_training.py NPROC OUT.safetensors

The same seed, data and global batch size for any NPROC, so the final weights should agree.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

EPOCHS, BATCH, SAMPLES = 2, 24, 200  # 200 = 8 full batches + one of 8, uneven on purpose


def train(out: str) -> None:
    import convscope
    from convscope import Sequential, distributed, layers

    torch.set_num_threads(1)
    convscope.set_seed(3)
    rng = np.random.default_rng(1)
    x = rng.random((SAMPLES, 10, 10, 1), dtype=np.float32)
    y = rng.integers(0, 3, SAMPLES)
    model = Sequential([layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1)), layers.MaxPooling2D(2),
                        layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32", device="cpu")
    history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=2)
    if distributed.is_main():
        from safetensors.torch import save_file

        save_file({f"w{i}": torch.from_numpy(w) for i, w in enumerate(model.get_weights())}, out,
                  metadata={"loss": repr(history.history["loss"]), "world": str(distributed.world_size())})
        print(f"rank {distributed.rank()} of {distributed.world_size()} wrote {out}", flush=True)


if __name__ == "__main__":
    from convscope import distributed

    distributed.launch(train, int(sys.argv[1]), sys.argv[2], threads=1)
