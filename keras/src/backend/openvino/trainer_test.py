"""`predict` and `evaluate` on the OpenVINO backend: the precision they
compute in and the dtype they return."""

import os
import warnings

import ml_dtypes
import numpy as np
import openvino as ov
import pytest
from absl.testing import parameterized

from keras.src import backend
from keras.src import layers
from keras.src import models
from keras.src import ops
from keras.src import testing
from keras.src.dtype_policies import dtype_policy

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Tests the OpenVINO backend's own trainer.",
)


def dense_model(rng, features, units, dtype=None):
    model = models.Sequential(
        [layers.Input((features,)), layers.Dense(units, dtype=dtype)]
    )
    kernel = rng.standard_normal((features, units)).astype("float32")
    bias = rng.standard_normal(units).astype("float32")
    model.layers[0].set_weights([kernel, bias])
    return model, kernel, bias


def cpu_has_bf16():
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in capabilities


class PredictPrecisionTest(testing.TestCase):
    def setUp(self):
        super().setUp()
        if not cpu_has_bf16():
            self.skipTest(
                "The CPU lacks BF16 (OPTIMIZATION_CAPABILITIES): the CPU "
                "plugin's default precision is f32 already."
            )

    def test_predict_is_float32_accurate(self):
        # In bfloat16, the CPU plugin's default precision on CPUs that have
        # it, these sums of 256 products are off by about 1e-2.
        rng = np.random.default_rng(0)
        model, kernel, bias = dense_model(rng, 256, 8)
        x = rng.standard_normal((32, 256)).astype("float32")
        expected = x.astype("float64") @ kernel + bias
        result = model.predict(x, batch_size=32, verbose=0)
        self.assertAllClose(result, expected, rtol=1e-5, atol=1e-5)

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
        self.assertEqual(precision, ov.Type.f32)

    @parameterized.named_parameters(
        ("float32", "float32", "f32"),
        # The way to bf16 speed with the float32 hint: a bfloat16 policy.
        ("mixed_bfloat16", "mixed_bfloat16", "bf16"),
    )
    def test_products_run_at_the_policy_precision(self, policy, precision):
        model, _, _ = dense_model(np.random.default_rng(3), 256, 8, policy)
        model.predict(np.ones((4, 256), "float32"), verbose=0)
        runtime = model.ov_compiled_model.get_runtime_model()
        precisions = {
            op.get_rt_info()["runtimePrecision"].astype(str)
            for op in runtime.get_ordered_ops()
            if op.get_rt_info()["layerType"].astype(str) == "FullyConnected"
        }
        self.assertEqual(precisions, {precision})

    def test_exported_model_compiled_at_float32_matches_predict(self):
        # The IR cannot carry the hint: compiled without it, the exported
        # model runs in bf16 on these CPUs.
        rng = np.random.default_rng(5)
        model, _, _ = dense_model(rng, 256, 8)
        x = rng.standard_normal((32, 256)).astype("float32")
        predicted = model.predict(x, batch_size=32, verbose=0)
        path = os.path.join(self.get_temp_dir(), "model.xml")
        model.export(path, format="openvino", verbose=False)
        compiled = ov.compile_model(
            path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
        )
        self.assertAllClose(compiled([x])[0], predicted, rtol=1e-6, atol=1e-6)


def bfloat16_reference(x, kernel, bias):
    """The Dense layer's output for bfloat16 inputs and weights, computed in
    float32."""

    def rounded(array):
        return array.astype(ml_dtypes.bfloat16).astype("float32")

    return rounded(rounded(x) @ rounded(kernel) + rounded(bias))


class BFloat16PredictTest(testing.TestCase):
    @parameterized.named_parameters(
        ("layer_dtype", False),
        ("global_dtype_policy", True),
    )
    def test_predict_returns_bfloat16_values(self, global_policy):
        if global_policy:
            self.addCleanup(
                dtype_policy.set_dtype_policy, dtype_policy.dtype_policy()
            )
            dtype_policy.set_dtype_policy("bfloat16")
        rng = np.random.default_rng(3)
        model, kernel, bias = dense_model(
            rng, 16, 4, dtype=None if global_policy else "bfloat16"
        )
        self.assertEqual(model.layers[0].compute_dtype, "bfloat16")
        x = rng.standard_normal((8, 16)).astype("float32")
        result = model.predict(x, batch_size=8, verbose=0)
        self.assertEqual(backend.standardize_dtype(result.dtype), "bfloat16")
        # Read as float16, the same bits are far off: 1.0 becomes 1.875.
        self.assertAllClose(
            result.astype("float32"),
            bfloat16_reference(x, kernel, bias),
            rtol=2e-2,
            atol=2e-2,
        )

    def test_evaluate_reads_bfloat16_predictions(self):
        rng = np.random.default_rng(4)
        model, kernel, bias = dense_model(rng, 16, 4, dtype="bfloat16")
        model.compile(loss="mean_squared_error")
        x = rng.standard_normal((8, 16)).astype("float32")
        y = np.zeros((8, 4), "float32")
        loss = model.evaluate(x, y, batch_size=8, verbose=0)
        expected = np.mean(bfloat16_reference(x, kernel, bias) ** 2)
        self.assertAllClose(loss, expected, rtol=3e-2)


def float64_warnings(caught):
    return [w for w in caught if "openvino#34138" in str(w.message)]


def to64(x):
    return ops.cast(x, "float64")


# Shape ops that move values without computing on them.
FLOAT64_MOVES = {
    "sliced": lambda x: x[:, 1:3],
    "reshaped": lambda x: ops.reshape(x, (-1, 2, 2)),
    "tiled": lambda x: ops.tile(x, (2, 1)),
    "padded": lambda x: ops.pad(x, ((0, 1), (0, 0))),
    "rolled": lambda x: ops.roll(x, 1),
    "split": lambda x: ops.split(x, 2, axis=1)[0],
    "flipped": lambda x: ops.flip(x),
    "taken": lambda x: ops.take(x, [0], axis=1),
    "taken_along_axis": lambda x: ops.take_along_axis(
        x, ops.zeros((1, 1), "int32"), axis=1
    ),
    "diagonal": lambda x: ops.diagonal(
        ops.reshape(x, (-1, 2, 2)), axis1=1, axis2=2
    ),
    "repeated": lambda x: ops.repeat(x, 2, axis=1),
    "expanded": lambda x: ops.expand_dims(x, 1),
    "transposed": lambda x: ops.transpose(x),
}


class Float64WarningTest(testing.TestCase):
    @parameterized.named_parameters(
        ("float64_layer", "float64", lambda: layers.Dense(2, dtype="float64")),
        (
            # Its kernel goes to float32 before the product: no float64
            # node, but the layer's dtype says float64.
            "bias_free_float64_layer",
            "float32",
            lambda: layers.Dense(2, use_bias=False, dtype="float64"),
        ),
        (
            "float64_inside",
            "float32",
            lambda: layers.Lambda(lambda x: ops.sqrt(ops.cast(x, "float64"))),
        ),
    )
    def test_predict_warns_once_per_model(self, dtype, make_layer):
        inputs = layers.Input((4,), dtype=dtype)
        model = models.Sequential([inputs, make_layer()])
        x = np.ones((3, 4), dtype)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.predict(x, verbose=0)
            model.predict(x, verbose=0)
            model.predict(np.ones((5, 4), dtype), batch_size=5, verbose=0)
        (warning,) = float64_warnings(caught)
        self.assertIs(warning.category, UserWarning)
        self.assertIn("openvino#34138", str(warning.message))

    def test_evaluate_warns(self):
        model = models.Sequential(
            [
                layers.Input((4,), dtype="float64"),
                layers.Dense(2, dtype="float64"),
            ]
        )
        model.compile(loss="mean_squared_error")
        x, y = np.ones((3, 4), "float64"), np.zeros((3, 2), "float64")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.evaluate(x, y, verbose=0)
            model.evaluate(x, y, verbose=0)
        self.assertLen(float64_warnings(caught), 1)

    def test_export_warns(self):
        model = models.Sequential(
            [
                layers.Input((4,), dtype="float64"),
                layers.Dense(2, dtype="float64"),
            ]
        )
        path = os.path.join(self.get_temp_dir(), "model.xml")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.export(path, format="openvino", verbose=False)
        self.assertLen(float64_warnings(caught), 1)

    @parameterized.named_parameters(
        ("dense", None),
        # Its bin boundaries are a float64 constant, converted down.
        ("discretization", layers.Discretization(bin_boundaries=[0.2, 0.5])),
        # A float64 input that a float32 layer casts down.
        ("float64_input", "float64"),
        # A float32 result converted to float64 at the end.
        ("float64_output", layers.Lambda(lambda x: ops.cast(x, "float64"))),
        # Moves of a float32 result converted to float64 at the end.
        *[
            (f"float64_output_{name}", layers.Lambda(lambda x, f=f: f(to64(x))))
            for name, f in FLOAT64_MOVES.items()
        ],
    )
    def test_float32_model_does_not_warn(self, layer):
        model, _, _ = dense_model(np.random.default_rng(6), 4, 2)
        if layer == "float64":
            inputs = layers.Input((4,), dtype="float64")
            model = models.Sequential([inputs, layers.Dense(2)])
        elif layer is not None:
            model = models.Sequential([layers.Input((4,)), layer])
        path = os.path.join(self.get_temp_dir(), "model.xml")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.predict(np.ones((3, 4), "float32"), verbose=0)
            model.export(path, format="openvino", verbose=False)
        self.assertEqual(float64_warnings(caught), [])
