"""The same image pipelines under real Keras (benchmarks/.keras-env) and under convscope give the
same arrays: seeded ImageDataGenerator batches, flow_from_directory, image_dataset_from_directory
(file order, split, TensorFlow's resize) and load_img."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"

PIPELINES = '''
import sys
import numpy as np
{import_line}

root, target = sys.argv[1], sys.argv[2]
out = {{}}
x = (np.random.RandomState(0).rand(20, 16, 12, 3) * 255).astype("float32")
y = np.arange(20)
settings = {{
    "affine": dict(rescale=1 / 255.0, rotation_range=30, width_shift_range=0.2, height_shift_range=3,
                   shear_range=10, zoom_range=[0.8, 1.3], horizontal_flip=True, vertical_flip=True,
                   fill_mode="reflect", channel_shift_range=20.0, brightness_range=(0.5, 1.5)),
    "constant": dict(rotation_range=45, fill_mode="constant", cval=7.0, samplewise_center=True),
    "wrap": dict(width_shift_range=[-2, 0, 3], zoom_range=0.2, fill_mode="wrap"),
}}
for name, kwargs in settings.items():
    generator = keras.preprocessing.image.ImageDataGenerator(**kwargs)
    batches = generator.flow(x, y, batch_size=7, seed=42)
    for index in range(len(batches)):
        out[f"{{name}}_{{index}}_x"], out[f"{{name}}_{{index}}_y"] = batches[index]
    batches.on_epoch_end()
    out[f"{{name}}_epoch2_x"], out[f"{{name}}_epoch2_y"] = batches[0]
    out[f"{{name}}_next_x"] = next(generator.flow(x, y, batch_size=5, seed=1))[0]
generator = keras.preprocessing.image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                                                         rotation_range=10)
generator.fit(x, augment=True, rounds=2, seed=3)
out["fit_mean"], out["fit_std"] = generator.mean, generator.std

generator = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255.0, rotation_range=20, zoom_range=0.2,
                                                         validation_split=0.25)
for subset in ("training", "validation"):
    batches = generator.flow_from_directory(root, target_size=(12, 14), batch_size=6, seed=5, subset=subset)
    out[f"directory_{{subset}}_x"], out[f"directory_{{subset}}_y"] = batches[0]
    out[f"directory_{{subset}}_files"] = np.array(batches.filenames)

for interpolation in ("bilinear", "nearest"):
    for size in ((16, 16), (9, 13), (40, 30)):
        dataset = keras.utils.image_dataset_from_directory(root, image_size=size, batch_size=4, shuffle=False,
                                                           interpolation=interpolation)
        out[f"{{interpolation}}{{size}}"] = np.concatenate([np.asarray(images) for images, _ in dataset])
training, validation = keras.utils.image_dataset_from_directory(root, image_size=(16, 16), validation_split=0.3,
                                                                subset="both", seed=11)
out["training_files"], out["validation_files"] = np.array(training.file_paths), np.array(validation.file_paths)
out["class_names"] = np.array(training.class_names)
image = keras.utils.load_img(root + "/cat/c0.png", target_size=(10, 10), interpolation="bilinear")
out["load_img"] = keras.utils.img_to_array(image)
np.savez(target, **out)
'''


def write_images(root: Path) -> None:
    rng = np.random.RandomState(0)
    for name, count in (("cat", 7), ("dog", 5)):
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = (rng.rand(rng.randint(10, 30), rng.randint(10, 30), 3) * 255).astype("uint8")
            Image.fromarray(pixels, "RGB").save(root / name / f"{name[0]}{index}.png")


def run(python: str, import_line: str, root: Path, target: Path) -> dict[str, np.ndarray]:
    script = target.with_name(f"pipelines_{target.stem}.py")  # not keras.py: it would shadow the package
    script.write_text(PIPELINES.format(import_line=import_line))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([python, str(script), str(root), str(target)], capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(target) as arrays:
        return {name: arrays[name] for name in arrays.files}


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_image_pipelines_match_real_keras(tmp_path: Path) -> None:
    write_images(tmp_path / "images")
    theirs = run(str(KERAS_PYTHON), "from tensorflow import keras", tmp_path / "images", tmp_path / "keras.npz")
    ours = run(sys.executable, "from convscope import keras", tmp_path / "images", tmp_path / "convscope.npz")
    assert sorted(ours) == sorted(theirs)
    for name, expected in theirs.items():
        assert ours[name].shape == expected.shape, name
        if expected.dtype.kind in "US":
            assert ours[name].tolist() == expected.tolist(), name
        else:
            assert ours[name].dtype == expected.dtype, name
            np.testing.assert_allclose(ours[name], expected, atol=1e-5, rtol=1e-6, err_msg=name)
