"""TimeDistributed(Conv2D) over short synthetic clips: a bright square moves left or right
across 6 frames of 16x16; the same small CNN reads every frame, an LSTM reads the frames in
order and says which way the square went."""

import keras
import numpy as np

rng = np.random.default_rng(5)
frames, size = 6, 16


def clip(direction):
    video = rng.normal(0, 0.1, (frames, size, size, 1))
    row = rng.integers(2, size - 6)
    start = rng.integers(0, 4) if direction else rng.integers(size - 8, size - 4)
    for f in range(frames):
        col = start + f if direction else start - f
        video[f, row:row + 4, col:col + 4, 0] += 1.0
    return video


labels = rng.integers(0, 2, 300)
clips = np.stack([clip(d) for d in labels]).astype("float32")  # (300, 6, 16, 16, 1)

model = keras.Sequential([
    keras.Input(shape=(frames, size, size, 1)),
    keras.layers.TimeDistributed(keras.layers.Conv2D(8, 3, activation="relu")),
    keras.layers.TimeDistributed(keras.layers.MaxPooling2D(2)),
    keras.layers.TimeDistributed(keras.layers.Flatten()),
    keras.layers.LSTM(16),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.summary()
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(clips[:250], labels[:250], batch_size=25, epochs=2, verbose=2)
loss, accuracy = model.evaluate(clips[250:], labels[250:], verbose=0)
print("Output shape:", model.predict(clips[:3], verbose=0).shape)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
