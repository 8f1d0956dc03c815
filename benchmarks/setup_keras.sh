#!/usr/bin/env bash
# Build the Keras/TensorFlow peer's own virtual environment at benchmarks/.keras-env/.
# TensorFlow is a peer for comparison only, never a convscope dependency, so it lives apart
# from the project's .venv. Re-running is cheap: an environment that imports keras is kept.
#
# Usage: benchmarks/setup_keras.sh [PYTHON]    (PYTHON defaults to python3)
# Pin a version with TF_SPEC, e.g. TF_SPEC="tensorflow-cpu==2.21.0" benchmarks/setup_keras.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_dir="$here/.keras-env"
python="${1:-python3}"
tf_spec="${TF_SPEC:-tensorflow-cpu}"

if [ -x "$env_dir/bin/python" ] && "$env_dir/bin/python" -c "import keras, tensorflow, scipy, PIL" 2>/dev/null; then
  echo "Keras environment ready: $env_dir"
  exit 0
fi
"$python" -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --upgrade pip
# scipy and pillow: Keras's ImageDataGenerator and image loading need them (examples/keras_programs/)
"$env_dir/bin/python" -m pip install --quiet "$tf_spec" keras numpy scipy pillow
"$env_dir/bin/python" - <<'PY'
import keras
import tensorflow as tf
print(f"Keras environment ready: TensorFlow {tf.__version__}, Keras {keras.__version__}")
PY
