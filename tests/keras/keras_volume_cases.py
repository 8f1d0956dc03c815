"""The volumetric (3-D) and per-sample normalization layer cases compared with real Keras: one
table read by the fixture writer (under real Keras, make_keras_volume_fixtures.py) and by the
tests (under convscope, test_keras_volumes.py). Plain data, so both sides import it.

Each case: (class name, constructor arguments, input shape with batch axis).
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, dict[str, Any], tuple[int, ...]]

VOLUMES = (2, 5, 6, 7, 3)  # a batch of small non-cubic 3-channel volumes

CASES: dict[str, Case] = {
    "conv3d": ("Conv3D", {"filters": 4, "kernel_size": 3}, VOLUMES),
    "conv3d_same_strided": ("Conv3D", {"filters": 4, "kernel_size": [2, 3, 3], "strides": 2, "padding": "same",
                                       "activation": "relu"}, VOLUMES),
    "conv3d_dilated_no_bias": ("Conv3D", {"filters": 2, "kernel_size": 2, "dilation_rate": [1, 2, 2],
                                          "use_bias": False}, VOLUMES),
    "conv3d_groups": ("Conv3D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, (2, 4, 5, 6, 4)),
    "conv3d_transpose": ("Conv3DTranspose", {"filters": 2, "kernel_size": 3}, VOLUMES),
    "conv3d_transpose_same_stride2": ("Conv3DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2,
                                                          "padding": "same"}, VOLUMES),
    "conv3d_transpose_output_padding": ("Conv3DTranspose", {"filters": 2, "kernel_size": [2, 3, 3],
                                                            "strides": [2, 2, 1], "output_padding": [1, 0, 0],
                                                            "activation": "tanh"}, VOLUMES),
    "max_pooling3d": ("MaxPooling3D", {"pool_size": 2}, VOLUMES),
    "max_pooling3d_same_strided": ("MaxPooling3D", {"pool_size": 3, "strides": 2, "padding": "same"}, VOLUMES),
    "average_pooling3d": ("AveragePooling3D", {"pool_size": [1, 2, 2]}, VOLUMES),
    "average_pooling3d_same": ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, VOLUMES),
    "global_max_pooling3d": ("GlobalMaxPooling3D", {}, VOLUMES),
    "global_average_pooling3d_keepdims": ("GlobalAveragePooling3D", {"keepdims": True}, VOLUMES),
    "up_sampling3d": ("UpSampling3D", {"size": [1, 2, 3]}, VOLUMES),
    "zero_padding3d": ("ZeroPadding3D", {"padding": [[1, 0], [2, 1], [0, 2]]}, VOLUMES),
    "zero_padding3d_channels_first": ("ZeroPadding3D", {"padding": 1, "data_format": "channels_first"}, VOLUMES),
    "cropping3d": ("Cropping3D", {"cropping": [[1, 0], [2, 1], [0, 2]]}, VOLUMES),
    "spatial_dropout3d_inference": ("SpatialDropout3D", {"rate": 0.3}, VOLUMES),
    "layer_normalization": ("LayerNormalization", {}, (2, 4, 6)),
    "layer_normalization_volume": ("LayerNormalization", {"axis": [1, 2, 3, 4], "epsilon": 1e-5}, VOLUMES),
    "layer_normalization_middle_axes": ("LayerNormalization", {"axis": [1, 2]}, (2, 3, 4, 5)),
    "layer_normalization_no_center": ("LayerNormalization", {"center": False}, (2, 3, 4, 5)),
    "layer_normalization_rms": ("LayerNormalization", {"rms_scaling": True}, (2, 4, 6)),
    "group_normalization": ("GroupNormalization", {"groups": 2}, (2, 3, 4, 5, 6)),
    "group_normalization_instance": ("GroupNormalization", {"groups": -1, "scale": False}, (2, 5, 4, 3)),
    "group_normalization_channels_first": ("GroupNormalization", {"groups": 3, "axis": 1, "epsilon": 1e-4},
                                           (2, 6, 4, 5)),
    "unit_normalization": ("UnitNormalization", {}, (2, 4, 6)),
    "unit_normalization_axes": ("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4, 5)),
}
