"""End to end: a model that cleans tabular readings with `nan_to_num`.

A batch of sensor readings full of NaN (missing) and infinities (overflowed
counters) goes through `nan_to_num` and a Dense layer. The model predicts on
the OpenVINO backend, is exported to OpenVINO IR, and the IR is reloaded and
run by the OpenVINO runtime alone, in a process without Keras.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras
from keras.src import backend
from keras.src import testing

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Exercises the OpenVINO backend and its IR export.",
)

NUM_FEATURES = 8
# Where a reading overflowed, the sensor's full scale stands in.
FULL_SCALE = 1e4


class CleanReadings(keras.layers.Layer):
    def call(self, readings):
        return keras.ops.nan_to_num(
            readings, nan=0.0, posinf=FULL_SCALE, neginf=-FULL_SCALE
        )


def readings_batch(batch_size, seed):
    rng = np.random.default_rng(seed)
    readings = rng.normal(20.0, 5.0, (batch_size, NUM_FEATURES))
    readings = readings.astype("float32")
    readings[rng.random(readings.shape) < 0.2] = np.nan
    readings[rng.random(readings.shape) < 0.05] = np.inf
    readings[rng.random(readings.shape) < 0.05] = -np.inf
    return readings


def build_model():
    inputs = keras.Input((NUM_FEATURES,), dtype="float32")
    cleaned = CleanReadings()(inputs)
    outputs = keras.layers.Dense(
        3,
        kernel_initializer=keras.initializers.RandomNormal(seed=7),
        bias_initializer=keras.initializers.RandomNormal(seed=8),
    )(cleaned)
    return keras.Model(inputs, outputs)


def numpy_reference(model, readings):
    kernel, bias = (np.asarray(w) for w in model.layers[-1].get_weights())
    cleaned = np.nan_to_num(
        readings, nan=0.0, posinf=FULL_SCALE, neginf=-FULL_SCALE
    )
    return cleaned.astype("float64") @ kernel + bias


RUN_IR_WITH_OPENVINO_ONLY = textwrap.dedent(
    """
    import sys
    import numpy as np
    import openvino as ov

    model_path, input_path, output_path = sys.argv[1:]
    assert "keras" not in sys.modules
    compiled = ov.Core().compile_model(
        model_path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    np.save(output_path, compiled([np.load(input_path)])[0])
    """
)


class TabularCleaningTest(testing.TestCase):
    def test_predict_export_and_reload(self):
        model = build_model()
        readings = readings_batch(64, seed=0)
        original = readings.copy()

        predicted = model.predict(readings, batch_size=16, verbose=0)
        self.assertAllClose(
            predicted, numpy_reference(model, readings), atol=1e-2, rtol=1e-5
        )
        self.assertTrue(np.all(np.isfinite(predicted)))
        np.testing.assert_array_equal(readings, original)

        directory = self.get_temp_dir()
        model_path = os.path.join(directory, "cleaner.xml")
        input_path = os.path.join(directory, "readings.npy")
        output_path = os.path.join(directory, "outputs.npy")
        model.export(model_path, format="openvino", verbose=False)
        np.save(input_path, readings)
        subprocess.run(
            [
                sys.executable,
                "-c",
                RUN_IR_WITH_OPENVINO_ONLY,
                model_path,
                input_path,
                output_path,
            ],
            check=True,
            cwd=directory,
        )
        reloaded = np.load(output_path)
        self.assertEqual(reloaded.shape, predicted.shape)
        self.assertAllClose(reloaded, predicted, atol=1e-6, rtol=1e-6)

    def test_eager_call_matches_predict(self):
        model = build_model()
        readings = readings_batch(10, seed=1)
        eager = keras.ops.convert_to_numpy(model(readings))
        predicted = model.predict(readings, verbose=0)
        self.assertAllClose(eager, predicted, atol=1e-6, rtol=1e-6)
