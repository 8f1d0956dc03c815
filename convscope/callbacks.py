"""Keras's callbacks (re-exported from the engine)."""

from convscope.engine.backup import BackupAndRestore
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
from convscope.engine.keras_callbacks import LambdaCallback, ProgbarLogger, TensorBoard

__all__ = ["BackupAndRestore", "Callback", "CSVLogger", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "OneCycleLR", "ProgbarLogger", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN"]
