"""pytest set-up for keras-openvino's own tests."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "openvino")

# Keras loads its pluggable backend, this package, while it initializes;
# collecting a test module of this package first would import the backend
# into a half-initialized Keras.
import keras  # noqa: E402

FUNCTIONAL_CALL_BUG = (
    "Keras #23397 (https://github.com/keras-team/keras/pull/23397): "
    "Functional.call still calls the `operation_fn` that #23364 removed, "
    "so every functional model call raises NameError (master has the fix)"
)


def functional_call_works():
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    try:
        model(np.zeros((1, 1), "float32"))
    except NameError:
        return False
    return True


def pytest_collection_modifyitems(items):
    # Where functional models cannot be called, a test that fails with that
    # NameError is expected to; any other failure still fails, and the
    # tests pass again (XPASS) once the checkout has the fix.
    if not functional_call_works():
        mark = pytest.mark.xfail(
            raises=NameError, strict=False, reason=FUNCTIONAL_CALL_BUG
        )
        for item in items:
            item.add_marker(mark)
