"""Train a CNN with N processes (gloo) or one, and save the final weights.

    python ddp_training.py NPROC OUT.safetensors [tiny|tiny-weighted|seed-cnn]

The same seed, data and global batch size for any NPROC, so the final weights should agree.
`tiny` (one 6-filter conv) trains with Adam; `seed-cnn` (two 64-filter convs, channels-last
kernels, the first one through the fused CPU kernel) with SGD and momentum: Adam divides by the
gradient's own size, so where a gradient is near zero the last bits of an all-reduced sum, whose
order differs from one process's, decide a whole step; SGD's update is linear in the gradient.
`tiny-weighted` trains `tiny` with per-sample weights and a weighted metric.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

EPOCHS, BATCH, SAMPLES = 2, 24, 200  # 200 = 8 full batches + one of 8, uneven on purpose


def train(out: str, model_name: str) -> None:
    import convscope
    from convscope import Sequential, distributed, layers, optimizers, zoo

    torch.set_num_threads(1)
    convscope.set_seed(3)
    rng = np.random.default_rng(1)
    if model_name == "seed-cnn":
        x = rng.random((SAMPLES, 28, 28, 1), dtype=np.float32)
        model = zoo.build("seed-cnn", num_classes=3)
        optimizer = optimizers.SGD(learning_rate=0.05, momentum=0.9)
    else:
        x = rng.random((SAMPLES, 10, 10, 1), dtype=np.float32)
        model = Sequential([layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1)), layers.MaxPooling2D(2),
                            layers.Flatten(), layers.Dense(3, activation="softmax")])
        optimizer = "adam"
    y = rng.integers(0, 3, SAMPLES)
    weighted = model_name == "tiny-weighted"
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32", device="cpu",
                  weighted_metrics=["accuracy"] if weighted else None)
    initial = model.get_weights()
    sample_weight = rng.uniform(0.1, 3.0, SAMPLES).astype(np.float32) if weighted else None
    history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=2, sample_weight=sample_weight)
    if distributed.is_main():
        from safetensors.torch import save_file

        final = {f"w{i}": torch.from_numpy(w) for i, w in enumerate(model.get_weights())}
        save_file({**final, **{f"initial{i}": torch.from_numpy(w) for i, w in enumerate(initial)}}, out,
                  metadata={"loss": repr(history.history["loss"]), "world": str(distributed.world_size()),
                            "weighted_accuracy": repr(history.history.get("weighted_accuracy"))})
        print(f"rank {distributed.rank()} of {distributed.world_size()} wrote {out}", flush=True)


if __name__ == "__main__":
    from convscope import distributed

    distributed.launch(train, int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "tiny",
                       threads=1)
