"""Keras's callbacks (re-exported from the engine)."""

from convscope.engine.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    OneCycleLR,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "History", "LearningRateScheduler",
           "ModelCheckpoint", "OneCycleLR", "ReduceLROnPlateau", "TerminateOnNaN"]
