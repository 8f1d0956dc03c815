"""Models built twice: by real Keras, in the fixture writers (tests/keras/make_keras_*_fixtures.py,
run with benchmarks/.keras-env), and by convscope, in the tests that compare with those fixtures.
Each builder takes the Keras namespace (`keras` or `convscope.keras`), so one definition makes both
twins with the same layers, made in the same order. Compiling is left to the caller.

No convscope, torch or NumPy import here: the Keras venv has no convscope, and the fixture
writers import this module by putting tests/ on sys.path.

    from convscope import keras
    model = keras_twins.residual(keras)     # the model tests/keras/fixtures/residual.keras holds
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


# -- Sequential models -----------------------------------------------------------------------------
def seed_cnn(keras: ModuleType) -> Any:
    """The seed CNN: two 64-filter convolutions, pooling, Dense 128 and Dense 10.
    (None, 28, 28, 1) -> (None, 10)."""
    layers = keras.layers
    return keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def small_seed_cnn(keras: ModuleType) -> Any:
    """The seed CNN's shape (two convs, pooling, dense softmax) with few filters, named "seed_cnn".
    (None, 28, 28, 1) -> (None, 10)."""
    layers = keras.layers
    return keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="seed_cnn")


def conv2d_groups(keras: ModuleType) -> Any:
    """Grouped 3x3 convolutions, the second followed by the 2x2 max pooling a fused kernel would
    take, then a depthwise-like (groups == channels) 1x2 convolution. (None, 10, 10, 4) -> (None, 3)."""
    layers = keras.layers
    return keras.Sequential([
        layers.Input((10, 10, 4)),
        layers.Conv2D(8, 3, groups=2, activation="relu"),
        layers.Conv2D(6, 3, groups=2, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, (1, 2), strides=2, groups=6, use_bias=False),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="conv2d_groups")


def conv1d_groups(keras: ModuleType) -> Any:
    """Grouped Conv1D, then a grouped causal dilated one. (None, 20, 6) -> (None, 2)."""
    layers = keras.layers
    return keras.Sequential([
        layers.Input((20, 6)),
        layers.Conv1D(6, 5, groups=3, activation="relu"),
        layers.Conv1D(4, 3, groups=2, padding="causal", dilation_rate=2),
        layers.GlobalMaxPooling1D(),
        layers.Dense(2),
    ], name="conv1d_groups")


# -- functional graphs -----------------------------------------------------------------------------
def residual(keras: ModuleType) -> Any:
    """A stem, an identity residual block and a downsampling block with a 1x1 projection.
    (None, 16, 16, 3) -> (None, 5)."""
    layers = keras.layers
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(8, 3, padding="same")(y)
    x = layers.ReLU()(layers.Add()([x, y]))
    y = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    y = layers.Conv2D(16, 3, padding="same")(y)
    shortcut = layers.Conv2D(16, 1, strides=2)(x)
    x = layers.Activation("relu")(layers.add([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="residual")


def inception(keras: ModuleType) -> Any:
    """One Inception block: 1x1, 1x1-3x3, 1x1-5x5 and pool-1x1 branches joined on the channels.
    (None, 12, 12, 4) -> (None, 3)."""
    layers = keras.layers
    inputs = keras.Input((12, 12, 4))
    branch1 = layers.Conv2D(4, 1, activation="relu")(inputs)
    branch2 = layers.Conv2D(3, 1, activation="relu")(inputs)
    branch2 = layers.Conv2D(6, 3, padding="same", activation="relu")(branch2)
    branch3 = layers.Conv2D(2, 1, activation="relu")(inputs)
    branch3 = layers.Conv2D(4, 5, padding="same", activation="relu")(branch3)
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same")(inputs)
    branch4 = layers.Conv2D(4, 1, activation="relu")(branch4)
    x = layers.Concatenate()([branch1, branch2, branch3, branch4])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="inception")


def merges(keras: ModuleType) -> Any:
    """Two inputs through one shared Dense, every element-wise merge, and two outputs.
    (None, 6) x 2 -> (None, 3) and (None, 1)."""
    layers = keras.layers
    left, right = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    shared = layers.Dense(4, activation="tanh", name="shared")
    a, b = shared(left), shared(right)
    merged = [layers.Subtract()([a, b]), layers.Multiply()([a, b]), layers.Average()([a, b]),
              layers.Maximum()([a, b]), layers.Minimum()([a, b]), layers.Add()([a, b, a])]
    x = layers.Concatenate()(merged)
    scores = layers.Dense(3, activation="softmax", name="scores")(x)
    value = layers.Dense(1, name="value")(x)
    return keras.Model([left, right], [scores, value], name="merges")


def two_heads(keras: ModuleType) -> Any:
    """Two inputs (an image and a vector), a shared trunk, a softmax and a regression output.
    (None, 8, 8, 1) and (None, 3) -> (None, 3) and (None, 1)."""
    layers = keras.layers
    image, extra = keras.Input((8, 8, 1), name="image"), keras.Input((3,), name="extra")
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Concatenate(name="joined")([x, layers.Dense(4, activation="relu", name="extra_dense")(extra)])
    x = layers.Dense(8, activation="relu", name="trunk")(x)
    class_out = layers.Dense(3, activation="softmax", name="class_out")(x)
    reg_out = layers.Dense(1, name="reg_out")(x)
    return keras.Model([image, extra], [class_out, reg_out], name="two_heads")


# -- models used as layers -------------------------------------------------------------------------
def probability(keras: ModuleType) -> Any:
    """The classification tutorial's `keras.Sequential([model, keras.layers.Softmax()])`; the
    inner model's BatchNormalization puts moving statistics between trainable weights.
    (None, 28, 28) -> (None, 10)."""
    layers = keras.layers
    model = keras.Sequential([
        layers.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(10),
    ])
    return keras.Sequential([model, layers.Softmax()], name="probability")


def transfer(keras: ModuleType) -> Any:
    """The transfer-learning idiom: a frozen functional base called with training=False.
    (None, 16, 16, 3) -> (None, 3)."""
    layers = keras.layers
    base_inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, activation="relu")(base_inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    base_model = keras.Model(base_inputs, x, name="base")
    base_model.trainable = False
    inputs = keras.Input((16, 16, 3), name="image")
    x = base_model(inputs, training=False)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="transfer")


def autoencoder(keras: ModuleType) -> Any:
    """An encoder and a decoder (Sequential models) called in a functional graph.
    (None, 8, 8, 1) -> (None, 8, 8, 1)."""
    layers = keras.layers
    encoder = keras.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
    ], name="encoder")
    decoder = keras.Sequential([
        layers.Input((4, 4, 4)),
        layers.UpSampling2D(2),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction"),
    ], name="decoder")
    inputs = keras.Input((8, 8, 1), name="image")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def seed_classifier(keras: ModuleType) -> Any:
    """The seed CNN (a Sequential model) used as one layer of a functional model with a Dense head.
    (None, 28, 28, 1) -> (None, 3)."""
    inputs = keras.Input((28, 28, 1), name="image")
    outputs = keras.layers.Dense(3, name="head")(seed_cnn(keras)(inputs))
    return keras.Model(inputs, outputs, name="classifier")


# -- recurrent and wrapped layers: names and summaries ---------------------------------------------
def time_distributed_dense(keras: ModuleType) -> Any:
    """TimeDistributed(Dense) then Dense: the wrapped Dense, made first, is `dense`, so the
    second is `dense_1`. (None, 5, 3) -> (None, 2)."""
    layers = keras.layers
    return keras.Sequential([layers.Input((5, 3)), layers.TimeDistributed(layers.Dense(4)), layers.Flatten(),
                             layers.Dense(2)])


def bidirectional_lstm_stack(keras: ModuleType) -> Any:
    """Bidirectional(LSTM) then LSTM: the LSTM Bidirectional copies is `lstm` (its copies
    forward_lstm and backward_lstm), so the second is `lstm_1`. (None, 6, 3) -> (None, 2)."""
    layers = keras.layers
    return keras.Sequential([layers.Input((6, 3)), layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                             layers.LSTM(2)])


def recurrent_stack(keras: ModuleType) -> Any:
    """SimpleRNN, two Bidirectional GRUs (the second with its own backward GRU), a
    TimeDistributed Dense, GRU and Dense. (None, 7, 3) -> (None, 1)."""
    layers = keras.layers
    return keras.Sequential([
        layers.Input((7, 3)),
        layers.SimpleRNN(5, return_sequences=True),
        layers.Bidirectional(layers.GRU(3, return_sequences=True)),
        layers.Bidirectional(layers.GRU(2, return_sequences=True),
                             backward_layer=layers.GRU(2, return_sequences=True, go_backwards=True)),
        layers.TimeDistributed(layers.Dense(3)),
        layers.GRU(2),
        layers.Dense(1),
    ])


def recurrent_states(keras: ModuleType) -> Any:
    """Layers returning several tensors in a functional model: LSTM(return_state=True) and
    Bidirectional(merge_mode=None); a SimpleRNN and a TimeDistributed Dense read them.
    (None, 5, 3) -> (None, 1) and (None, 5, 2)."""
    layers = keras.layers
    inputs = keras.Input((5, 3), name="sequence")
    sequence, state_h, state_c = layers.LSTM(4, return_state=True)(inputs)
    forward, backward = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=None)(inputs)
    summary = layers.SimpleRNN(2)(forward)
    frames = layers.TimeDistributed(layers.Dense(2))(backward)
    merged = layers.Concatenate()([sequence, state_h, state_c, summary])
    return keras.Model(inputs, [layers.Dense(1)(merged), frames], name="recurrent_states")


def recurrent_encoder(keras: ModuleType) -> Any:
    """A Sequential encoder (Bidirectional LSTM, TimeDistributed Dense) as a layer of a
    functional model with an LSTM head. (None, 6, 3) -> (None, 2)."""
    layers = keras.layers
    encoder = keras.Sequential([
        layers.Input((6, 3)),
        layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(2)),
    ], name="encoder")
    inputs = keras.Input((6, 3), name="sequence")
    outputs = layers.GRU(2, name="head")(encoder(inputs))
    return keras.Model(inputs, outputs, name="recurrent_encoder")
