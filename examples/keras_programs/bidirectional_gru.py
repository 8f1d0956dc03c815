"""A Bidirectional(GRU) sequence classifier: does a sequence of random tokens contain the pair
(3, 7) next to each other? Embedding, two stacked bidirectional layers, a sigmoid output."""

import numpy as np
from tensorflow import keras

rng = np.random.default_rng(3)
vocabulary, length = 12, 20
tokens = rng.integers(1, vocabulary, size=(800, length))
plant = rng.random(800) < 0.5
positions = rng.integers(0, length - 1, size=800)
tokens[plant, positions[plant]] = 3
tokens[plant, positions[plant] + 1] = 7
labels = np.array([any(a == 3 and b == 7 for a, b in zip(row[:-1], row[1:])) for row in tokens], dtype="float32")

model = keras.Sequential([
    keras.Input(shape=(length,), dtype="int32"),
    keras.layers.Embedding(vocabulary, 8),
    keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True)),
    keras.layers.Bidirectional(keras.layers.GRU(8)),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.summary()
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(tokens[:700], labels[:700], batch_size=32, epochs=2, verbose=2)
loss, accuracy = model.evaluate(tokens[700:], labels[700:], verbose=0)
probabilities = model.predict(tokens[700:705], verbose=0)
print("Predictions:", probabilities.shape)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
