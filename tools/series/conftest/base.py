"""pytest set-up for keras-openvino's own tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "openvino")

# Keras loads its pluggable backend, this package, while it initializes;
# collecting a test module of this package first would import the backend
# into a half-initialized Keras.
import keras  # noqa: E402, F401
