"""Write what a Keras program sees of a model's training API (tests/keras/keras_model_api_cases.py:
params, callback state at each hook, metrics_names, metrics, get_metrics_result, result orders)
under real Keras, for test_keras_model_api.py to compare with convscope.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_model_api_fixtures.py
It writes tests/keras/fixtures/model_api.json ({"keras_version": ..., "seen": {name: value}}).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import keras_model_api_cases  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

if __name__ == "__main__":
    seen = keras_model_api_cases.observe(keras)
    record = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "seen": seen}
    (FIXTURES / "model_api.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {len(seen)} observations under Keras {keras.__version__}")
