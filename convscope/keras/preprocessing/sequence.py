"""Keras's `keras.preprocessing.sequence`: `pad_sequences`.

    from convscope.keras.preprocessing.sequence import pad_sequences
    padded = pad_sequences([[1], [2, 3]], maxlen=4, padding="post")
"""

from convscope.data.sequences import pad_sequences

__all__ = ["pad_sequences"]
