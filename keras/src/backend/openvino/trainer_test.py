"""`predict` on the OpenVINO backend computes in float32."""

import numpy as np
import pytest

from keras.src import backend
from keras.src import layers
from keras.src import models
from keras.src import ops
from keras.src import testing

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Tests the OpenVINO backend's own trainer.",
)


def dense_model(rng, features, units):
    model = models.Sequential([layers.Input((features,)), layers.Dense(units)])
    kernel = rng.standard_normal((features, units)).astype("float32")
    bias = rng.standard_normal(units).astype("float32")
    model.layers[0].set_weights([kernel, bias])
    return model, kernel, bias


class PredictPrecisionTest(testing.TestCase):
    def test_predict_is_float32_accurate(self):
        # In bfloat16, the CPU plugin's default precision on CPUs that have
        # it, these sums of 256 products are off by about 1e-2.
        rng = np.random.default_rng(0)
        model, kernel, bias = dense_model(rng, 256, 8)
        x = rng.standard_normal((32, 256)).astype("float32")
        expected = x.astype("float64") @ kernel + bias
        result = model.predict(x, batch_size=32, verbose=0)
        self.assertAllClose(result, expected, rtol=1e-5, atol=1e-4)

    def test_predict_matches_the_eager_call(self):
        rng = np.random.default_rng(1)
        model, _, _ = dense_model(rng, 64, 4)
        x = rng.standard_normal((16, 64)).astype("float32")
        eager = ops.convert_to_numpy(model(x))
        predicted = model.predict(x, batch_size=16, verbose=0)
        self.assertAllClose(predicted, eager, rtol=1e-6, atol=1e-6)

    def test_compiled_for_float32_inference(self):
        model, _, _ = dense_model(np.random.default_rng(2), 4, 2)
        model.predict(np.ones((3, 4), "float32"), verbose=0)
        precision = model.ov_compiled_model.get_property(
            "INFERENCE_PRECISION_HINT"
        )
        self.assertEqual(str(precision), "<Type: 'float32'>")
