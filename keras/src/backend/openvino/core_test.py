"""The OpenVINO backend's eager evaluation and `convert_to_numpy`."""

import threading
from unittest import mock

import ml_dtypes
import numpy as np
import openvino as ov
import pytest
from absl.testing import parameterized

from keras.src import backend
from keras.src import ops
from keras.src import random
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


class ConvertToNumpyTest(testing.TestCase):
    @parameterized.named_parameters(
        ("constant", lambda x: ops.convert_to_tensor(x)),
        ("graph_of_constants", lambda x: ops.add(x, 0.0)),
        ("nan_to_num", lambda x: ops.nan_to_num(x)),
        ("variable", lambda x: backend.Variable(x)),
    )
    def test_results_are_writable_copies(self, make_tensor):
        x = np.array([1.0, 2.0, 3.0], "float32")
        tensor = make_tensor(x)
        value = ops.convert_to_numpy(tensor)
        self.assertTrue(value.flags.writeable)
        value[0] = 42.0
        np.testing.assert_array_equal(ops.convert_to_numpy(tensor), x)
        np.testing.assert_array_equal(
            ops.convert_to_numpy(ops.add(tensor, 0.0)), x
        )

    @parameterized.named_parameters(
        ("dict", {"a": 1}), ("object", object()), ("set", {1, 2})
    )
    def test_unsupported_types_raise(self, value):
        with self.assertRaisesRegex(ValueError, "unsupported type"):
            ops.convert_to_numpy(value)


class EagerResultsTest(testing.TestCase):
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

    def test_convert_to_numpy_copies_constants(self):
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


# Eager calls the CPU plugin's runtime kernels get wrong (issue: NaN lost,
# int32 through float32, uint8 saturated, 0 / subnormal), with NumPy's
# answer.
NAN = np.float32(np.nan)
INT32_MAX = np.iinfo("int32").max
RUNTIME_KERNEL_CASES = [
    ("exp_nan", lambda: ops.exp(np.full(20, NAN)), np.full(20, NAN)),
    ("relu_nan", lambda: ops.relu(np.full(20, NAN)), np.full(20, NAN)),
    (
        "maximum_nan",
        lambda: ops.maximum(np.full(20, NAN), 0.0),
        np.full(20, NAN),
    ),
    (
        "clip_nan",
        lambda: ops.clip(np.full(20, NAN), -1.5, 2.75),
        np.full(20, NAN),
    ),
    (
        "greater_nan",
        lambda: ops.greater(np.full(20, NAN), np.full(20, NAN)),
        np.zeros(20, bool),
    ),
    ("any_nan", lambda: ops.any(np.full(20, NAN)), np.array(True)),
    (
        "all_nan",
        lambda: ops.all(np.array([1, NAN, 3, -np.inf] * 5, "float32")),
        np.array(True),
    ),
    (
        "equal_int32_beyond_2_24",
        lambda: ops.equal(
            np.full(20, 2**24, "int32"), np.full(20, 2**24 + 1, "int32")
        ),
        np.zeros(20, bool),
    ),
    (
        "max_int32",
        lambda: ops.max(np.array([INT32_MAX] * 17 + [1], "int32")),
        np.array(INT32_MAX, "int32"),
    ),
    (
        "floor_divide_int32",
        lambda: ops.floor_divide(
            np.ones(20, "int32"), np.full(20, -7, "int32")
        ),
        np.full(20, -1, "int32"),
    ),
    (
        "power_int32",
        lambda: ops.power(np.full(20, 3, "int32"), np.full(20, 19, "int32")),
        np.full(20, 3**19, "int32"),
    ),
    (
        "add_uint8_wraps",
        lambda: ops.add(np.full(20, 255, "uint8"), np.ones(20, "uint8")),
        np.zeros(20, "uint8"),
    ),
    (
        "subtract_uint8_wraps",
        lambda: ops.subtract(np.zeros(20, "uint8"), np.ones(20, "uint8")),
        np.full(20, 255, "uint8"),
    ),
    (
        "divide_by_subnormal",
        lambda: ops.divide(
            np.zeros(20, "float32"), np.full(20, 1e-45, "float32")
        ),
        np.zeros(20, "float32"),
    ),
    (
        "heaviside_nan",
        lambda: ops.heaviside(np.full(20, NAN), np.full(20, NAN)),
        np.full(20, NAN),
    ),
]


class EagerEvaluationTest(testing.TestCase):
    def compilations_during(self, function):
        with mock.patch.object(
            core, "compile_model", wraps=core.compile_model
        ) as compile_model:
            result = ops.convert_to_numpy(function())
        return result, compile_model.call_count

    @parameterized.named_parameters(RUNTIME_KERNEL_CASES)
    def test_numpy_values_without_compiling(self, call, expected):
        result, compilations = self.compilations_during(call)
        self.assertEqual(compilations, 0)
        self.assertEqual(result.dtype, expected.dtype)
        self.assertEqual(result.shape, expected.shape)
        np.testing.assert_array_equal(result, expected)

    def test_softmax_of_a_row_with_nan(self):
        x = np.array([[1.0, NAN, 2.0], [1.0, 2.0, 3.0]], "float32")
        result, compilations = self.compilations_during(lambda: ops.softmax(x))
        self.assertEqual(compilations, 0)
        self.assertTrue(np.all(np.isnan(result[0])))
        expected = np.exp(x[1] - 3) / np.exp(x[1] - 3).sum()
        self.assertAllClose(result[1], expected)

    @parameterized.named_parameters(
        ("float16", "float16"),
        ("bfloat16", "bfloat16"),
        ("float64", "float64"),
        ("int64", "int64"),
    )
    def test_types_the_plugin_changes_are_compiled(self, dtype):
        # The plugin computes these in other types than their own, so that
        # their reference kernels could give another answer than the
        # plugin's: they are compiled. Values exact in every type.
        x = np.array([1.5, -2.0, 3.0, 0.25, 64.0] * 4).astype(dtype)
        result, compilations = self.compilations_during(
            lambda: ops.multiply(ops.add(x, x), x)
        )
        self.assertEqual(compilations, 1)
        result_dtype = ops.multiply(ops.add(x, x), x).dtype
        expected = (x.astype("float64") * 2 * x).astype(result_dtype)
        self.assertEqual(result.dtype, expected.dtype)
        bits = f"u{result.itemsize}"
        np.testing.assert_array_equal(result.view(bits), expected.view(bits))

    @parameterized.named_parameters(
        ("float32", "float32"), ("float64", "float64"), ("float16", "float16")
    )
    def test_moved_values_keep_their_bits(self, dtype):
        # Compiled, the folded constants lost -0.0 and subnormals.
        info = ml_dtypes.finfo(dtype)
        x = np.array([-0.0, info.smallest_subnormal, 1e300, -np.inf, np.nan])
        x = x.astype(dtype)
        result, compilations = self.compilations_during(
            lambda: ops.reshape(ops.flip(ops.reshape(x, (5, 1)), 0), (5,))
        )
        self.assertEqual(compilations, 0)
        bits = f"u{x.itemsize}"
        np.testing.assert_array_equal(result.view(bits), x[::-1].view(bits))

    @parameterized.named_parameters(("float32", "float32"), ("int32", "int32"))
    def test_abs_of_a_computed_value(self, dtype):
        # Compiled, the CPU plugin returned `x - 1` for `abs(x - 1)` of
        # constants: it drops an `Abs` of a 1-D value computed from
        # constants.
        x = np.array([1.5, -2.0, 3.0, -5.0]).astype(dtype)
        result, compilations = self.compilations_during(
            lambda: ops.abs(ops.subtract(x, x[:1]))
        )
        np.testing.assert_array_equal(result, np.abs(x - x[:1]))
        self.assertEqual(compilations, 0)

    @parameterized.named_parameters(
        ("float16", "float16"), ("bfloat16", "bfloat16")
    )
    @pytest.mark.xfail(
        strict=False,
        reason="The CPU plugin drops an `Abs` of a 1-D value computed from "
        "constants when it compiles (openvino#38166)",
    )
    def test_abs_of_a_computed_value_compiled(self, dtype):
        # These types are compiled (see above). Values exact in both.
        x = np.array([1.5, -2.0, 3.0, -0.5]).astype(dtype)
        result = ops.convert_to_numpy(ops.abs(ops.subtract(x, x[:1])))
        expected = np.abs(x - x[:1])
        self.assertEqual(result.dtype, expected.dtype)
        np.testing.assert_array_equal(result, expected)

    def test_other_evaluation_errors_propagate(self):
        x = np.array([1.0, -2.5, np.nan], "float32")
        with mock.patch.object(
            ov.Model, "evaluate", side_effect=RuntimeError("out of memory")
        ):
            with self.assertRaisesRegex(RuntimeError, "convert_to_numpy"):
                ops.convert_to_numpy(ops.abs(x))

    def test_a_missing_reference_kernel_falls_back_to_compiling(self):
        x = np.array([1.0, -2.5, np.nan], "float32")
        with mock.patch.object(
            ov.Model,
            "evaluate",
            side_effect=RuntimeError("Evaluation failed on opset1::Abs"),
        ):
            result, compilations = self.compilations_during(lambda: ops.abs(x))
        self.assertEqual(compilations, 1)
        np.testing.assert_array_equal(result, np.abs(x))

    def test_compile_errors_keep_their_message(self):
        # A graph the plugin cannot compile.
        x = np.array([True, False] * 10)
        with self.assertRaisesRegex(RuntimeError, "convert_to_numpy"):
            ops.convert_to_numpy(ops.floor_divide(x, x))

    @parameterized.named_parameters(
        ("randint", lambda: random.randint((64,), 0, 1000, seed=42)),
        ("uniform", lambda: random.uniform((64,), seed=7)),
        ("normal", lambda: random.normal((64,), seed=3)),
        (
            "categorical",
            lambda: random.categorical(np.zeros((2, 5)), 8, seed=9),
        ),
    )
    def test_a_random_tensor_has_one_value(self, draw):
        # OpenVINO's reference kernels advance a random node's generator at
        # every run: such graphs are compiled.
        x = draw()
        first = ops.convert_to_numpy(x)
        np.testing.assert_array_equal(ops.convert_to_numpy(x), first)
        np.testing.assert_array_equal(
            ops.convert_to_numpy(ops.argmax(ops.reshape(x, (-1,)))),
            np.argmax(first),
        )


class Bfloat16ConstantLimitTest(testing.TestCase):
    # OpenVINO's Python API builds a one-element array's constant from its
    # value, and refuses inf and NaN as out of bf16's range.
    @parameterized.named_parameters(
        ("inf", np.inf, (1,)), ("nan", np.nan, ()), ("neg_inf", -np.inf, ())
    )
    @pytest.mark.xfail(
        strict=False,
        raises=RuntimeError,
        reason="OpenVINO refuses a one-element bf16 constant of inf or NaN "
        "(no OpenVINO issue found)",
    )
    def test_one_element_bfloat16_of_inf_or_nan(self, value, shape):
        x = np.full(shape, value, ml_dtypes.bfloat16)
        result = ops.convert_to_numpy(ops.convert_to_tensor(x))
        np.testing.assert_array_equal(result.view("u2"), x.view("u2"))

    def test_larger_bfloat16_arrays_of_inf_or_nan(self):
        x = np.array([np.inf, np.nan, -np.inf], ml_dtypes.bfloat16)
        result = ops.convert_to_numpy(ops.convert_to_tensor(x))
        np.testing.assert_array_equal(result.view("u2"), x.view("u2"))


class StridedArrayTest(testing.TestCase):
    @parameterized.named_parameters(
        ("strided", lambda a: a[::3]),
        ("reversed", lambda a: a[::-1]),
        ("fortran", lambda a: np.asfortranarray(a.reshape(3, 4))),
        ("transposed", lambda a: a.reshape(3, 4).T),
    )
    def test_float16_layouts_keep_their_dtype_and_values(self, layout):
        # OpenVINO read a strided float16 array's bits as int16 values.
        x = layout(np.linspace(-2.0, 3.5, 12, dtype="float16"))
        for tensor in (ops.convert_to_tensor(x), ops.add(x, 0.0)):
            self.assertEqual(tensor.dtype, "float16")
            np.testing.assert_array_equal(ops.convert_to_numpy(tensor), x)


class Float8ToNumpyTest(testing.TestCase):
    """A float8 tensor converts to its own values, which OpenVINO hands out
    as their uint8 bits, from a `Constant` and from an inference."""

    def float8_constant(self, dtype):
        # Every bit pattern, made from the bits.
        bits = np.arange(256, dtype="uint8")
        element_type = ov.Type.f8e4m3 if "e4m3" in dtype else ov.Type.f8e5m2
        constant = ov.op.Constant(ov.Tensor(bits, [256], element_type))
        return core.OpenVINOKerasTensor(constant.output(0)), bits

    @parameterized.named_parameters(
        ("e4m3fn", "float8_e4m3fn"), ("e5m2", "float8_e5m2")
    )
    def test_every_bit_pattern(self, dtype):
        tensor, bits = self.float8_constant(dtype)
        value = ops.convert_to_numpy(tensor)
        self.assertEqual(value.dtype, dtype)
        np.testing.assert_array_equal(value.view("uint8"), bits)

    @parameterized.named_parameters(
        ("e4m3fn_transpose", "float8_e4m3fn", "transpose"),
        ("e5m2_transpose", "float8_e5m2", "transpose"),
        ("e4m3fn_index", "float8_e4m3fn", "index"),
        ("e5m2_index", "float8_e5m2", "index"),
    )
    def test_every_bit_pattern_compiled(self, dtype, op):
        tensor, bits = self.float8_constant(dtype)
        square = ops.reshape(tensor, (16, 16))
        if op == "transpose":
            graph, expected = ops.transpose(square), bits.reshape(16, 16).T
        else:
            graph, expected = square[3], bits[48:64]
        # The plugin computes the graph, as it does where the reference
        # kernels have no float8 kernel (`Transpose`, `Squeeze`).
        with mock.patch.object(core, "evaluate_constant_graph") as evaluate:
            evaluate.return_value = None
            value = ops.convert_to_numpy(graph)
        self.assertEqual(value.dtype, dtype)
        np.testing.assert_array_equal(value.view("uint8"), expected)

    @parameterized.named_parameters(
        ("e4m3fn_tensor", "float8_e4m3fn", ops.convert_to_tensor),
        ("e5m2_tensor", "float8_e5m2", ops.convert_to_tensor),
        ("e4m3fn_variable", "float8_e4m3fn", backend.Variable),
        ("e5m2_variable", "float8_e5m2", backend.Variable),
    )
    def test_tensors_and_variables(self, dtype, make_tensor):
        x = np.arange(256, dtype="uint8").view(dtype)
        value = ops.convert_to_numpy(make_tensor(x))
        self.assertEqual(value.dtype, x.dtype)
        expected = x.view("uint8")
        if dtype == "float8_e5m2":
            # `convert_to_tensor` builds the constant from the values,
            # which canonicalises float8_e5m2's NaN payloads, keeping signs.
            is_nan = np.isnan(x.astype("float32"))
            expected = np.where(is_nan, expected & 0x80 | 0x7E, expected)
        np.testing.assert_array_equal(value.view("uint8"), expected)
