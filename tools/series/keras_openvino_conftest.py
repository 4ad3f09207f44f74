"""pytest set-up for keras-openvino's own tests."""

import os

from hypothesis import HealthCheck
from hypothesis import settings

os.environ.setdefault("KERAS_BACKEND", "openvino")

# Keras loads its pluggable backend, this package, while it initializes;
# collecting a test module of this package first would import the backend
# into a half-initialized Keras.
import keras  # noqa: E402, F401

# Hypothesis draws a bounded number of examples per test; set
# HYPOTHESIS_PROFILE=long for a long run.
for name, examples in (("default", 60), ("long", 5000)):
    settings.register_profile(
        name,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
