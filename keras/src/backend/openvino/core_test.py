"""The OpenVINO backend's cache of compiled models for eager execution."""

import threading

import numpy as np
import openvino as ov
import openvino.opset16 as ov_opset
import pytest
from absl.testing import parameterized

from keras.src import backend
from keras.src import ops
from keras.src import testing

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Tests the OpenVINO backend's own implementation.",
)

if backend.backend() == "openvino":
    from keras.src.backend.openvino import core


def special_float32(size, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size).astype("float32")
    x[rng.integers(0, size, size // 4)] = np.nan
    x[rng.integers(0, size, size // 8)] = np.inf
    x[rng.integers(0, size, size // 8)] = -np.inf
    x[rng.integers(0, size, size // 8)] = -0.0
    return x


class CompiledModelCacheTest(testing.TestCase):
    def compilations_during(self, function):
        before = core.compiled_model_cache.compilations
        result = function()
        return result, core.compiled_model_cache.compilations - before

    def assertSameBits(self, actual, expected):
        actual = ops.convert_to_numpy(actual)
        self.assertEqual(actual.dtype, expected.dtype)
        self.assertEqual(actual.shape, expected.shape)
        np.testing.assert_array_equal(
            actual.view(f"u{expected.dtype.itemsize}"),
            expected.view(f"u{expected.dtype.itemsize}"),
        )

    def test_new_data_reuses_the_compiled_model(self):
        first = special_float32(64, seed=1)
        self.assertSameBits(ops.nan_to_num(first), np.nan_to_num(first))
        for seed in range(2, 6):
            x = special_float32(64, seed)
            result, compilations = self.compilations_during(
                lambda: ops.nan_to_num(x)
            )
            self.assertEqual(compilations, 0)
            self.assertSameBits(result, np.nan_to_num(x))

    def test_new_shape_of_the_same_rank_reuses_the_compiled_model(self):
        ops.nan_to_num(special_float32(10, seed=1))
        for size in (1, 7, 1000, 4096):
            x = special_float32(size, seed=size)
            result, compilations = self.compilations_during(
                lambda: ops.nan_to_num(x)
            )
            self.assertEqual(compilations, 0)
            self.assertSameBits(result, np.nan_to_num(x))
        x = special_float32(12, seed=3).reshape(3, 4)
        result, compilations = self.compilations_during(
            lambda: ops.nan_to_num(x)
        )
        self.assertSameBits(result, np.nan_to_num(x))

    @parameterized.named_parameters(
        ("float32", "float32"), ("float16", "float16"), ("float64", "float64")
    )
    def test_new_replacement_values(self, dtype):
        x = special_float32(64, seed=7).astype(dtype)
        for nan, posinf, neginf in [
            (1, 2, 3),
            (4, 5, 6),
            (1, 2, 3),
            (-0.0, 0, 0),
        ]:
            result = ops.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
            self.assertSameBits(
                result,
                np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
            )
        # Values seen before, and float64 whatever its values, compile nothing.
        _, compilations = self.compilations_during(
            lambda: ops.nan_to_num(x, nan=4, posinf=5, neginf=6)
        )
        self.assertEqual(compilations, 0)
        if dtype == "float64":
            _, compilations = self.compilations_during(
                lambda: ops.nan_to_num(x, nan=9, posinf=8, neginf=7)
            )
            self.assertEqual(compilations, 0)

    def test_new_dtype(self):
        x = special_float32(64, seed=11)
        for dtype in ("float32", "float16", "float64", "float32"):
            self.assertSameBits(
                ops.nan_to_num(x.astype(dtype)),
                np.nan_to_num(x.astype(dtype)),
            )

    def test_eager_ops_compile_once_per_graph_structure(self):
        def graph(a, b, scalar):
            return ops.multiply(ops.add(a, b), scalar)

        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((2, 100)).astype("float32")
        self.assertAllClose(graph(a, b, 2.0), (a + b) * 2)
        for _ in range(3):
            a, b = rng.standard_normal((2, 100)).astype("float32")
            result, compilations = self.compilations_during(
                lambda: ops.convert_to_numpy(graph(a, b, 2.0))
            )
            self.assertEqual(compilations, 0)
            self.assertAllClose(result, (a + b) * 2)
        # A different scalar constant is a different graph.
        result, compilations = self.compilations_during(
            lambda: ops.convert_to_numpy(graph(a, b, 3.0))
        )
        self.assertEqual(compilations, 1)
        self.assertAllClose(result, (a + b) * 3)
        # So is a different shape.
        a3, b3 = rng.standard_normal((2, 3, 5)).astype("float32")
        self.assertAllClose(graph(a3, b3, 2.0), (a3 + b3) * 2)

    def test_fed_constants_keep_signed_zeros_and_subnormals(self):
        x = np.array([-0.0, 1e-45, -1e-40, np.nan, 3.0], "float32")
        reshaped = ops.reshape(ops.convert_to_tensor(x), (5, 1))
        self.assertSameBits(reshaped, x.reshape(5, 1))

    def test_cache_stays_within_its_bound(self):
        cache = core.CompiledModelCache(max_size=3)

        def build_model(scale):
            parameter = ov_opset.parameter([-1], ov.Type.f32)
            constant = ov_opset.constant(np.float32(scale))
            return ov.Model(
                [ov_opset.multiply(parameter, constant)], [parameter]
            )

        x = np.arange(5, dtype="float32")
        for scale in [1, 2, 3, 4, 5, 1, 5]:
            (result,) = cache.run(scale, lambda: build_model(scale), [x])
            np.testing.assert_array_equal(result, x * scale)
            self.assertLessEqual(len(cache), 3)
        # 1 was evicted before it came back; 5 was still cached.
        self.assertEqual(cache.compilations, 6)

    def test_results_belong_to_the_caller(self):
        x = special_float32(32, seed=3)
        first = ops.convert_to_numpy(ops.nan_to_num(x))
        expected = np.nan_to_num(x)
        second = ops.convert_to_numpy(ops.nan_to_num(special_float32(32, 4)))
        np.testing.assert_array_equal(first, expected)
        # Writable, as Keras asks of `convert_to_numpy`, and nobody else's.
        first[...] = 7.0
        np.testing.assert_array_equal(
            second, np.nan_to_num(special_float32(32, 4))
        )

    def test_convert_to_numpy_copies_constants_it_does_not_own(self):
        x = np.array([1.0, np.nan], "float32")
        tensor = ops.convert_to_tensor(x)
        value = ops.convert_to_numpy(tensor)
        value[0] = 5.0
        np.testing.assert_array_equal(
            ops.convert_to_numpy(tensor), np.array([1.0, np.nan], "float32")
        )
        lazy = ops.convert_to_numpy(ops.add(tensor, 1.0))
        lazy[0] = 5.0
        np.testing.assert_array_equal(
            ops.convert_to_numpy(ops.add(tensor, 1.0)), x + 1
        )

    def test_concurrent_eager_calls(self):
        inputs = [special_float32(1000 + i, seed=i) for i in range(16)]
        inputs += [x.astype("float64") for x in inputs[:8]]
        results = [None] * len(inputs)

        def work(index):
            for _ in range(5):
                results[index] = ops.convert_to_numpy(
                    ops.nan_to_num(inputs[index], nan=index)
                )

        threads = [
            threading.Thread(target=work, args=(i,)) for i in range(len(inputs))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for index, x in enumerate(inputs):
            expected = np.nan_to_num(x, nan=index)
            np.testing.assert_array_equal(
                results[index].view(f"u{x.itemsize}"),
                expected.view(f"u{x.itemsize}"),
            )


class ReleaseConversionLimitTest(testing.TestCase):
    @parameterized.named_parameters(
        ("inf", np.inf, (1,)), ("nan", np.nan, ()), ("neg_inf", -np.inf, ())
    )
    def test_one_element_bfloat16_of_inf_or_nan(self, value, shape):
        # A known limit of the release's conversion, which this tree leaves
        # as is: OpenVINO's Python API refuses such a bf16 constant. Larger
        # arrays convert, and nan_to_num, argmax and argmin take these.
        import ml_dtypes

        from keras.src.backend.openvino import numpy_test

        x = np.full(shape, value, ml_dtypes.bfloat16)
        with self.assertRaisesRegex(RuntimeError, "out of range for bf16"):
            ops.convert_to_tensor(x)
        bigger = np.full((3,), value, ml_dtypes.bfloat16)
        np.testing.assert_array_equal(
            ops.convert_to_numpy(ops.convert_to_tensor(bigger)).view("u2"),
            bigger.view("u2"),
        )
        self.assertEqual(ops.convert_to_numpy(ops.argmax(x)), 0)
        result = ops.convert_to_numpy(ops.nan_to_num(x, nan=1.0))
        expected = numpy_test.reference_nan_to_num(x, nan=1.0)
        np.testing.assert_array_equal(result.view("u2"), expected.view("u2"))
