import numbers

import ml_dtypes
import numpy as np
import openvino as ov
import openvino.opset16 as ov_opset
from openvino import Type

from keras.src.backend.common import KerasVariable
from keras.src.backend.common import dtypes
from keras.src.backend.common import is_float_dtype
from keras.src.backend.common import standardize_dtype
from keras.src.backend.openvino.core import OPENVINO_DTYPES
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import compiled_model_cache
from keras.src.backend.openvino.core import constant_from_numpy
from keras.src.backend.openvino.core import convert_to_numpy
from keras.src.backend.openvino.core import convert_to_tensor
from keras.src.backend.openvino.core import is_concrete


def _nan_to_num_replacement(name, value, dtype):
    """`value` cast to `dtype` the way NumPy casts it, as a 0-d array."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ValueError(
                f"`{name}` must be a scalar, but received an array of shape "
                f"{value.shape}."
            )
        value = value[()]
    if isinstance(value, (list, tuple)):
        raise ValueError(f"`{name}` must be a scalar, but received {value!r}.")
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number (int or float), but received "
            f"{value!r} of type {type(value).__name__}."
        )
    try:
        value = np.float64(value)
    except OverflowError as error:
        raise ValueError(
            f"`{name}` is too large for any floating-point dtype: {value!r}."
        ) from error
    # Like NumPy, a value beyond the dtype's range becomes infinite.
    with np.errstate(over="ignore"):
        return np.asarray(value.astype(dtype))


def _nan_to_num_graph(x, dtype, nan, posinf, neginf):
    """Builds `nan_to_num` on the floating-point output `x`.

    `posinf` and `neginf` are None for the dtype's own largest and smallest
    finite values: a clamp then replaces infinities and leaves every finite
    value as it is, bit for bit, so no infinity mask is needed.
    """
    info = ml_dtypes.finfo(dtype)
    inf = constant_from_numpy(np.asarray(np.inf, dtype))
    if posinf is None and neginf is None:
        result = ov_opset.clamp(x, float(info.min), float(info.max))
    else:
        # `equal` rather than `is_inf`: the CPU plugin's `is_inf` misses f64.
        if posinf is None:
            result = ov_opset.minimum(x, constant_from_numpy(info.max))
        else:
            result = ov_opset.select(
                ov_opset.equal(x, inf), constant_from_numpy(posinf), x
            )
        if neginf is None:
            result = ov_opset.maximum(result, constant_from_numpy(info.min))
        else:
            result = ov_opset.select(
                ov_opset.equal(x, ov_opset.negative(inf)),
                constant_from_numpy(neginf),
                result,
            )
    is_nan = ov_opset.is_nan(x)
    return ov_opset.select(is_nan, constant_from_numpy(nan), result).output(0)


def _float64_words(value):
    """The (low, high) int32 halves of a float64 array, little-endian."""
    return value.reshape(value.shape + (1,)).view(np.int32)


def _float64_nan_to_num_graph(words, nan, posinf, neginf):
    """Builds `nan_to_num` on float64 values held as int32 word pairs.

    The CPU plugin runs f64 as f32, so float64 is handled on its bit
    pattern with integer ops it runs exactly: `bitwise_and`, `subtract`,
    `select`, and comparisons with zero (its other i32 comparisons go
    through float32).
    """
    info = np.finfo(np.float64)
    high_fraction_bits = info.nmant - 32
    exponent_mask = np.int32(((1 << info.nexp) - 1) << high_fraction_bits)
    fraction_mask = np.int32((1 << high_fraction_bits) - 1)
    zero = ov_opset.constant(np.int32(0))

    low, high = ov_opset.split(
        words, ov_opset.constant(np.int32(-1)), 2
    ).outputs()
    exponent = ov_opset.bitwise_and(high, ov_opset.constant(exponent_mask))
    exponent_all_ones = ov_opset.equal(
        ov_opset.subtract(exponent, ov_opset.constant(exponent_mask)), zero
    )
    fraction_is_zero = ov_opset.logical_and(
        ov_opset.equal(
            ov_opset.bitwise_and(high, ov_opset.constant(fraction_mask)), zero
        ),
        ov_opset.equal(low, zero),
    )
    is_nan = ov_opset.logical_and(
        exponent_all_ones, ov_opset.logical_not(fraction_is_zero)
    )
    is_inf = ov_opset.logical_and(exponent_all_ones, fraction_is_zero)
    is_negative = ov_opset.less(high, zero)
    result = ov_opset.select(
        ov_opset.logical_and(is_inf, ov_opset.logical_not(is_negative)),
        ov_opset.constant(_float64_words(posinf)),
        words,
    )
    result = ov_opset.select(
        ov_opset.logical_and(is_inf, is_negative),
        ov_opset.constant(_float64_words(neginf)),
        result,
    )
    result = ov_opset.select(
        is_nan, ov_opset.constant(_float64_words(nan)), result
    )
    return result.output(0)


def _nan_to_num_array(x, dtype, nan, posinf, neginf):
    """Eager `nan_to_num` of the C-ordered array `x`, compiled once per
    dtype, rank and replacement values."""
    if x.size == 0:
        return x.copy()
    key = ("nan_to_num", dtype, x.ndim) + tuple(
        None if value is None else value.tobytes()
        for value in (nan, posinf, neginf)
    )
    if dtype == "float64":
        info = np.finfo(np.float64)
        posinf = np.asarray(info.max) if posinf is None else posinf
        neginf = np.asarray(info.min) if neginf is None else neginf

        def build_model():
            words = ov_opset.parameter([-1] * x.ndim + [2], Type.i32)
            result = _float64_nan_to_num_graph(
                words.output(0), nan, posinf, neginf
            )
            return ov.Model([result], [words])

        (result,) = compiled_model_cache.run(
            key, build_model, [_float64_words(x)], [x.shape + (2,)]
        )
        return result.view(np.float64).reshape(x.shape)

    def build_model():
        parameter = ov_opset.parameter([-1] * x.ndim, OPENVINO_DTYPES[dtype])
        result = _nan_to_num_graph(
            parameter.output(0), dtype, nan, posinf, neginf
        )
        return ov.Model([result], [parameter])

    (result,) = compiled_model_cache.run(key, build_model, [x], [x.shape])
    return result


def _real_dtype(dtype):
    """The Keras name of `dtype`, which must be a real or boolean one."""
    try:
        name = standardize_dtype(dtype)
    except ValueError:
        name = str(dtype)
    if (
        name not in dtypes.ALLOWED_DTYPES
        or name == "string"
        or (name.startswith("complex"))
    ):
        raise TypeError(
            "`x` must hold real numbers or booleans, but received an array "
            f"of dtype {name}."
        )
    return name


def _numpy_input(x):
    """`x` as a native C-ordered array; Python values take Keras's dtypes."""
    if isinstance(x, (np.ndarray, np.generic)):
        x = np.asarray(x)
        _real_dtype(x.dtype)
    else:
        _real_dtype(np.asarray(x).dtype)
        x = convert_to_numpy(convert_to_tensor(x))
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if not x.flags.c_contiguous:
        x = np.array(x, order="C")
    return x


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x is None:
        raise TypeError("`x` must be a tensor or array-like, not None.")
    if isinstance(x, KerasVariable):
        x = x.value
    if isinstance(x, OpenVINOKerasTensor):
        dtype = _real_dtype(x.dtype)
    data = None
    if not isinstance(x, OpenVINOKerasTensor) or is_concrete(x.output):
        data = _numpy_input(x)
        dtype = standardize_dtype(data.dtype)
    float_dtype = dtype if is_float_dtype(dtype) else "float32"
    nan = _nan_to_num_replacement("nan", nan, float_dtype)
    if posinf is not None:
        posinf = _nan_to_num_replacement("posinf", posinf, float_dtype)
    if neginf is not None:
        neginf = _nan_to_num_replacement("neginf", neginf, float_dtype)
    if not is_float_dtype(dtype):
        # Integers and booleans hold no NaN or infinity.
        return x if data is None else convert_to_tensor(data)
    if data is None:
        return OpenVINOKerasTensor(
            _nan_to_num_graph(x.output, dtype, nan, posinf, neginf)
        )
    result = _nan_to_num_array(data, dtype, nan, posinf, neginf)
    return OpenVINOKerasTensor(constant_from_numpy(result))
