"""The plain PyTorch peer: the seed model in the loop most tutorials write; prints one JSON line.

NCHW float32, a DataLoader over a TensorDataset (shuffled), Adam at its defaults, and
`loss.item()` every step. This is the baseline convscope's engine is meant to beat, so it
is deliberately left untuned.

    python benchmarks/torch_peer.py --batch 128 --epochs 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_common  # noqa: E402


def build_model(nn: Any) -> Any:
    return nn.Sequential(
        nn.Conv2d(1, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # (N, 64, 13, 13)
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # (N, 64, 5, 5)
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    bench_common.add_common_arguments(parser)
    args = parser.parse_args()

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = bench_common.load_fashion(args.train_images, args.test_images)
    to_nchw = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    train = DataLoader(TensorDataset(to_nchw(x_train), torch.from_numpy(y_train)),
                       batch_size=args.batch, shuffle=True)
    x_test_t, y_test_t = to_nchw(x_test), torch.from_numpy(y_test)
    loaded_s = bench_common.since_start()
    model = build_model(nn)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def predict(batch: int | None) -> Any:
        assert batch is not None
        model.eval()
        with torch.no_grad():
            outputs = torch.cat([model(x_test_t[i : i + batch]) for i in range(0, len(x_test_t), batch)])
        model.train()
        return outputs

    epochs: list[dict[str, Any]] = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        running_loss = 0.0
        for xb, yb in train:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        train_s = time.perf_counter() - start
        accuracy = (predict(1000).argmax(1) == y_test_t).float().mean().item()
        epochs.append({"images": len(x_train), "train_s": train_s, "test_accuracy": accuracy,
                       "since_start_s": bench_common.since_start()})
        if (args.until_target and accuracy >= bench_common.TARGET_ACCURACY) or \
                bench_common.since_start() > args.max_seconds:
            break

    result = {"peer": "torch", "version": f"PyTorch {torch.__version__}", "precision": "float32",
              "threads": torch.get_num_threads(), "data_loaded_s": round(loaded_s, 2),
              **bench_common.summarize_epochs(epochs, args.batch)}
    if args.predict:
        # A plain loop has no default batch size.
        result.update(bench_common.time_predict_batches(predict, args.predict_batch, len(x_test_t), has_default=False))
    bench_common.emit(result)


if __name__ == "__main__":
    main()
