"""Differential fuzzing of the OpenVINO backend's numpy ops against NumPy.

Hypothesis draws dtypes, shapes, memory layouts and values rich in NaN,
signed infinities, signed zeros, subnormals and extremes, and compares each
op's answer with NumPy's, eagerly and through a compiled OpenVINO model.
The normal test run draws a bounded number of examples;
`pytest --hypothesis-profile=long` runs a long one (profiles in the root
`conftest.py`).
"""

import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from keras.src import backend
from keras.src import ops
from keras.src import testing
from keras.src.backend.openvino import numpy_test

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Tests the OpenVINO backend's own implementation.",
)

LAYOUTS = {
    "c_order": lambda a: a,
    "fortran": np.asfortranarray,
    "reversed": lambda a: a[::-1],
    "strided": lambda a: a[::2],
    "transposed": lambda a: a.T,
}


@st.composite
def float_arrays(draw, dtypes):
    dtype = draw(st.sampled_from(dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))
    specials = numpy_test.special_values(dtype)
    size = int(np.prod(shape))
    width = 64 if dtype == "float64" else 32
    picks = draw(
        st.lists(
            st.one_of(
                st.integers(0, len(specials) - 1),
                st.floats(width=width),
            ),
            min_size=size,
            max_size=size,
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = [
            specials[pick] if isinstance(pick, int) else np.asarray(pick, dtype)
            for pick in picks
        ]
        x = np.array(values, dtype).reshape(shape)
    # Strides and order come from an array twice as long where needed.
    if x.ndim == 0:
        return x
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    if layout == "strided":
        x = np.repeat(x, 2, axis=0)
    return LAYOUTS[layout](x)


replacement_values = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e10, -1e10, 1e300, -1e300, 65504.0]),
)


@st.composite
def replacements(draw):
    nan = draw(st.one_of(replacement_values, st.just(np.nan)))
    return {
        "nan": 0.0 if nan is None else nan,
        "posinf": draw(replacement_values),
        "neginf": draw(replacement_values),
    }


def same_bits_or_both_nan(actual, expected):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    # np.testing rather than `assert`, which Keras's ruff settings forbid.
    np.testing.assert_equal(actual.dtype, expected.dtype)
    np.testing.assert_equal(actual.shape, expected.shape)
    as_bits = f"u{expected.dtype.itemsize}"
    same = actual.view(as_bits) == expected.view(as_bits)
    if expected.dtype == ml_dtypes.bfloat16:
        both_nan = np.isnan(actual.astype("float32")) & np.isnan(
            expected.astype("float32")
        )
    else:
        both_nan = np.isnan(actual) & np.isnan(expected)
    np.testing.assert_array_equal(
        same | both_nan, True, err_msg=f"{actual!r} != {expected!r}"
    )


class NanToNumFuzzTest(testing.TestCase):
    @given(
        x=float_arrays(numpy_test.FLOAT_DTYPES + numpy_test.FLOAT8_DTYPES),
        kwargs=replacements(),
    )
    def test_eager_matches_reference(self, x, kwargs):
        original = x.copy()
        result = ops.convert_to_numpy(ops.nan_to_num(x, **kwargs))
        expected = numpy_test.reference_nan_to_num(x, **kwargs)
        # NumPy's and JAX's own NaN replacement is a canonical NaN: bits.
        numpy_test.NanToNumParityTest.assertSameBits(self, result, expected)
        numpy_test.NanToNumParityTest.assertSameBits(self, x, original)

    @given(x=float_arrays(numpy_test.GRAPH_DTYPES), kwargs=replacements())
    def test_compiled_graph_matches_reference(self, x, kwargs):
        assume(x.size)
        assume(
            not any(
                numpy_test.is_subnormal(value, x.dtype)
                for value in kwargs.values()
                if value is not None
            )
        )
        result = numpy_test.run_compiled("nan_to_num", x, **kwargs)
        expected = numpy_test.reference_nan_to_num(x, **kwargs)
        same_bits_or_both_nan(result, expected)


@st.composite
def arg_extremum_calls(draw, dtypes):
    x = draw(float_arrays(dtypes))
    axis = None
    if x.ndim:
        axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    return {
        "op": draw(st.sampled_from(sorted(numpy_test.ARG_OPS))),
        "x": x,
        "axis": axis,
        "keepdims": draw(st.booleans()),
    }


def reference_arg_extremum(op, x, axis, keepdims):
    """NumPy's answer; None where NumPy refuses an empty axis."""
    reduced = x.size if axis is None else x.shape[axis]
    if reduced == 0:
        return None
    reference = numpy_test.ARG_OPS[op]
    return reference(numpy_test.numpy_comparable(x), axis, keepdims=keepdims)


class ArgExtremumFuzzTest(testing.TestCase):
    assertSameIndices = numpy_test.ArgExtremumParityTest.assertSameIndices

    @given(call=arg_extremum_calls(numpy_test.FLOAT_DTYPES))
    def test_eager_matches_numpy(self, call):
        op, x = call.pop("op"), call.pop("x")
        expected = reference_arg_extremum(op, x, **call)
        if expected is None:
            with self.assertRaisesRegex(ValueError, "`x` has no element"):
                getattr(ops, op)(x, **call)
            return
        self.assertSameIndices(
            ops.convert_to_numpy(getattr(ops, op)(x, **call)), expected
        )

    @given(call=arg_extremum_calls(["float16", "float32"]))
    def test_compiled_graph_matches_numpy(self, call):
        op, x = call.pop("op"), call.pop("x")
        expected = reference_arg_extremum(op, x, **call)
        if expected is None:
            return
        result = numpy_test.run_compiled(op, x, **call)
        self.assertSameIndices(result, expected)
