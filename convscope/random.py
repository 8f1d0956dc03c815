"""TensorFlow's `tf.random` for scripts that `import convscope as tf`: `tf.random.set_seed(0)`.

    >>> import convscope as tf
    >>> tf.random.set_seed(42)  # the same weights, shuffles, dropout masks and augmentations on every run
"""

from __future__ import annotations

from convscope.utils import set_seed as seed_everything

__all__ = ["set_seed"]


def set_seed(seed: int) -> None:
    """Seed every generator convscope draws from (Python's, NumPy's and torch's), as
    `keras.utils.set_random_seed` does.

    Raises:
        ValueError: when `seed` is not an integer.
    """
    seed_everything(seed)
