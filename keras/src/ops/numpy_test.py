import numpy as np
import pytest
from absl.testing import parameterized

from keras.src import backend
from keras.src import ops
from keras.src import testing
from keras.src.backend.common import standardize_dtype
from keras.src.ops import numpy as knp
from keras.src.testing.test_utils import named_product


def _runs_64_bit_dtypes():
    """Whether the backend keeps float64 and int64 inputs as they are (JAX
    turns them into 32-bit types unless `jax_enable_x64` is set)."""
    x = ops.convert_to_tensor(np.zeros((1,)), dtype="float64")
    return standardize_dtype(x.dtype) == "float64"


requires_64_bit_dtypes = pytest.mark.skipif(
    not _runs_64_bit_dtypes(),
    reason="The backend turns 64-bit inputs into 32-bit types.",
)


class NanToNumExactTest(testing.TestCase):
    """`nan_to_num` returns what NumPy returns, bit for bit."""

    def assertSameBits(self, actual, desired):
        """Same dtype, same shape, and the same bits everywhere, but for
        NaNs, which only need to be NaN where `desired` has one."""
        actual = ops.convert_to_numpy(actual)
        desired = np.asarray(desired)
        self.assertEqual(
            standardize_dtype(actual.dtype), standardize_dtype(desired.dtype)
        )
        self.assertEqual(actual.shape, desired.shape)
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(desired))
        bits = f"uint{8 * desired.dtype.itemsize}"
        keep = ~np.isnan(desired)
        np.testing.assert_array_equal(
            actual[keep].view(bits), desired[keep].view(bits)
        )

    def special_values(self, dtype):
        """NaN, both infinities, signed zeros, subnormals, the dtype's
        limits and an ordinary value."""
        info = np.finfo(dtype)
        return np.array(
            [
                np.nan,
                np.inf,
                -np.inf,
                0.0,
                -0.0,
                info.smallest_subnormal,
                -info.smallest_subnormal,
                info.smallest_normal,
                info.max,
                info.min,
                1.5,
                -2.75,
            ],
            dtype=dtype,
        )

    @parameterized.named_parameters(named_product(dtype=["float16", "float32"]))
    def test_defaults_are_the_dtype_limits(self, dtype):
        x = self.special_values(dtype)
        result = knp.nan_to_num(x)
        self.assertSameBits(result, np.nan_to_num(x))
        info = np.finfo(dtype)
        self.assertSameBits(
            ops.convert_to_numpy(result)[:3],
            np.array([0.0, info.max, info.min], dtype=dtype),
        )

    @requires_64_bit_dtypes
    def test_defaults_are_the_float64_limits(self):
        x = self.special_values("float64")
        result = knp.nan_to_num(x)
        self.assertSameBits(result, np.nan_to_num(x))
        info = np.finfo("float64")
        self.assertSameBits(
            ops.convert_to_numpy(result)[:3],
            np.array([0.0, info.max, info.min]),
        )

    @parameterized.named_parameters(named_product(dtype=["float16", "float32"]))
    def test_keeps_signed_zeros_and_subnormals(self, dtype):
        info = np.finfo(dtype)
        x = np.array(
            [
                -0.0,
                0.0,
                info.smallest_subnormal,
                -info.smallest_subnormal,
                info.smallest_normal - info.smallest_subnormal,
                np.nan,
            ],
            dtype=dtype,
        )
        result = ops.convert_to_numpy(knp.nan_to_num(x))
        self.assertSameBits(result, np.nan_to_num(x))
        self.assertAllEqual(np.signbit(result), np.signbit(np.nan_to_num(x)))

    @requires_64_bit_dtypes
    def test_keeps_float64_values_beyond_float32(self):
        x = np.array(
            [
                1e300,
                -1e300,
                1e-300,
                np.finfo("float64").smallest_subnormal,
                1.0 + np.finfo("float64").eps,
                float(2**53 + 2),
                -0.0,
                np.inf,
                -np.inf,
                np.nan,
            ]
        )
        self.assertSameBits(knp.nan_to_num(x), np.nan_to_num(x))

    @parameterized.named_parameters(
        named_product(
            [
                {
                    "testcase_name": "floats",
                    "nan": 1.5,
                    "posinf": 100.0,
                    "neginf": -100.0,
                },
                {
                    "testcase_name": "ints",
                    "nan": 7,
                    "posinf": 8,
                    "neginf": -9,
                },
                {
                    "testcase_name": "numpy_ints",
                    "nan": np.int64(7),
                    "posinf": np.int32(8),
                    "neginf": np.int8(-9),
                },
                {
                    "testcase_name": "numpy_bools",
                    "nan": np.True_,
                    "posinf": np.False_,
                    "neginf": np.True_,
                },
                {
                    "testcase_name": "signed_zeros",
                    "nan": -0.0,
                    "posinf": 0.0,
                    "neginf": -0.0,
                },
                {
                    "testcase_name": "rounded",
                    "nan": 1 / 3,
                    "posinf": 0.1,
                    "neginf": -np.float64(2.0 / 3.0),
                },
                {
                    "testcase_name": "overflowing",
                    "nan": 1e-60,
                    "posinf": 1e60,
                    "neginf": -1e60,
                },
                {
                    "testcase_name": "only_posinf",
                    "nan": 0.0,
                    "posinf": 7.0,
                    "neginf": None,
                },
                {
                    "testcase_name": "nan_kept",
                    "nan": np.nan,
                    "posinf": None,
                    "neginf": None,
                },
            ],
            dtype=["float16", "float32"],
        )
    )
    def test_custom_replacements_cast_as_numpy_does(
        self, nan, posinf, neginf, dtype
    ):
        if backend.backend() == "tensorflow" and posinf == 0.0:
            self.skipTest("TensorFlow replaces inf with -0.0 for posinf=0.0")
        x = self.special_values(dtype)
        self.assertSameBits(
            knp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
            np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
        )

    @requires_64_bit_dtypes
    def test_custom_float64_replacements(self):
        x = self.special_values("float64")
        self.assertSameBits(
            knp.nan_to_num(x, nan=1e300, posinf=-1e-300, neginf=0.1),
            np.nan_to_num(x, nan=1e300, posinf=-1e-300, neginf=0.1),
        )

    @parameterized.named_parameters(
        named_product(dtype=["bool", "int8", "int16", "int32", "uint8"])
    )
    def test_integers_and_bools_unchanged(self, dtype):
        if dtype == "bool":
            x = np.array([[True, False], [False, True]])
        else:
            info = np.iinfo(dtype)
            x = np.array([[info.min, 0], [1, info.max]], dtype=dtype)
        self.assertSameBits(knp.nan_to_num(x), x)
        self.assertSameBits(knp.nan_to_num(x, nan=1, posinf=2, neginf=3), x)

    @requires_64_bit_dtypes
    def test_int64_unchanged(self):
        info = np.iinfo("int64")
        x = np.array([info.min, -1, 0, 2**53 + 1, info.max])
        self.assertSameBits(knp.nan_to_num(x), x)

    @parameterized.named_parameters(
        ("zero_dim_inf", np.array(np.inf, "float32")),
        ("zero_dim_nan", np.array(np.nan, "float16")),
        ("empty", np.zeros((0, 3), "float32")),
        ("matrix", np.array([[np.inf, 1.0], [-np.inf, np.nan]], "float32")),
    )
    def test_shapes(self, x):
        self.assertSameBits(knp.nan_to_num(x), np.nan_to_num(x))


class ArgmaxArgminNumpyParityTest(testing.TestCase):
    """`argmax` and `argmin` return the indices NumPy returns."""

    def assertSameIndices(self, actual, desired):
        actual = ops.convert_to_numpy(actual)
        self.assertEqual(actual.shape, np.shape(desired))
        self.assertAllEqual(actual, desired)

    @parameterized.named_parameters(
        named_product(
            op=["argmax", "argmin"],
            dtype=["float16", "bfloat16", "float32", "float64"],
        )
    )
    def test_first_nan_wins(self, op, dtype):
        if backend.backend() == "tensorflow":
            self.skipTest("TensorFlow's argmax and argmin skip NaN")
        # Values that every float dtype holds exactly.
        x = np.array(
            [
                [1.0, np.nan, 3.0, np.nan],
                [np.nan, 5.0, 5.0, 1.0],
                [2.0, -np.inf, np.inf, 0.5],
                [np.inf, -np.inf, np.nan, np.nan],
            ],
            dtype="float32",
        )
        tensor = ops.convert_to_tensor(x, dtype=dtype)
        numpy_op = getattr(np, op)
        for axis in (None, 0, 1, -1):
            self.assertSameIndices(
                getattr(knp, op)(tensor, axis=axis), numpy_op(x, axis=axis)
            )

    @parameterized.named_parameters(
        named_product(
            op=["argmax", "argmin"],
            dtype=["float32", "int8", "int32", "uint8", "bool"],
        )
    )
    def test_ties_go_to_the_first_index(self, op, dtype):
        if dtype == "bool":
            x = np.array([[False, True, True], [True, True, False]])
        else:
            x = np.array([[3, 1, 3, 1], [1, 1, 3, 3], [2, 2, 2, 2]])
            x = x.astype(dtype)
        numpy_op = getattr(np, op)
        for axis in (None, 0, 1, -1):
            self.assertSameIndices(
                getattr(knp, op)(x, axis=axis), numpy_op(x, axis=axis)
            )

    @parameterized.named_parameters(
        named_product(
            op=["argmax", "argmin"],
            axis=[None, 0, 1, 2, -1],
            keepdims=[False, True],
        )
    )
    def test_shape_as_numpy(self, op, axis, keepdims):
        x = np.random.default_rng(0).permutation(24).reshape(2, 3, 4)
        x = x.astype("float32")
        self.assertSameIndices(
            getattr(knp, op)(x, axis=axis, keepdims=keepdims),
            getattr(np, op)(x, axis=axis, keepdims=keepdims),
        )

    @parameterized.named_parameters(named_product(op=["argmax", "argmin"]))
    def test_zero_dim_input(self, op):
        x = np.array(3.5, "float32")
        self.assertSameIndices(getattr(knp, op)(x), getattr(np, op)(x))
        self.assertSameIndices(
            getattr(knp, op)(x, keepdims=True),
            getattr(np, op)(x, keepdims=True),
        )

    @parameterized.named_parameters(named_product(op=["argmax", "argmin"]))
    def test_reduce_across_an_empty_axis(self, op):
        # Reducing the length-3 axis of a (3, 0) input: no index to give.
        x = np.zeros((3, 0), "float32")
        self.assertSameIndices(
            getattr(knp, op)(x, axis=0), getattr(np, op)(x, axis=0)
        )
