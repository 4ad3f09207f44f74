import operator

import numpy as np
import openvino as ov
import openvino.opset16 as ov_opset
from openvino import Type

from keras.src.backend.common import KerasVariable
from keras.src.backend.common import dtypes
from keras.src.backend.common import is_float_dtype
from keras.src.backend.common import standardize_dtype
from keras.src.backend.common.backend_utils import canonicalize_axis
from keras.src.backend.openvino.core import OPENVINO_DTYPES
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import convert_to_numpy
from keras.src.backend.openvino.core import convert_to_tensor
from keras.src.backend.openvino.core import depends_on_parameter
from keras.src.backend.openvino.core import evaluate_with_reference_kernels
from keras.src.backend.openvino.core import get_ov_output
from keras.src.backend.openvino.core import ov_to_keras_type
from keras.src.backend.openvino.numpy import cumprod
from keras.src.backend.openvino.numpy import cumsum


def _i32(value):
    return ov_opset.constant(np.asarray(value, np.int32)).output(0)


# Types that TopK's reference kernels lack, compared as int32 instead.
_NARROW_INTEGER_TYPES = (Type.boolean, Type.i8, Type.u8, Type.i16, Type.u16)


def _float64_keys(values):
    """int64 keys in the order of the float64 `values`, and their NaN mask,
    from their bits: the reference kernels lack most float64 kernels."""
    bits = ov_opset.constant(values.view(np.int64))
    lowest = ov_opset.constant(np.iinfo(np.int64).min)
    # A negative value's bits count up from -0.0 as it goes down.
    keys = ov_opset.select(
        ov_opset.less(bits, ov_opset.constant(np.int64(0))),
        ov_opset.subtract(lowest, bits),
        bits,
    )
    inf = np.asarray(np.inf).view(np.int64)
    is_nan = ov_opset.logical_or(
        ov_opset.greater(keys, ov_opset.constant(inf)),
        ov_opset.less(keys, ov_opset.constant(-inf)),
    )
    return keys.output(0), is_nan.output(0)


def _arg_extremum_graph(keys, is_nan, axis, keepdims, rank, mode):
    """The index of the first extremum of `keys` along `axis` (or of all
    values), or of the first True of `is_nan` where there is one."""
    reduced_axis = 0 if axis is None else axis
    if axis is None:
        flat = _i32([-1])
        keys = ov_opset.reshape(keys, flat, False)
        if is_nan is not None:
            is_nan = ov_opset.reshape(is_nan, flat, False)
    if keys.get_element_type() in _NARROW_INTEGER_TYPES:
        keys = ov_opset.convert(keys, Type.i32)

    def first(values, mode):
        # Stable: the first of equal values, `-0.0` and `0.0` included.
        return ov_opset.topk(
            values,
            k=_i32(1),
            axis=reduced_axis,
            mode=mode,
            sort="value",
            index_element_type=Type.i32,
            stable=True,
        ).output(1)

    indices = first(keys, mode)
    if is_nan is not None:
        indices = ov_opset.select(
            ov_opset.reduce_logical_or(is_nan, [reduced_axis], True),
            first(ov_opset.convert(is_nan, Type.i32), "max"),
            indices,
        ).output(0)
    if axis is None:
        shape = _i32([1] * rank if keepdims else [])
        return ov_opset.reshape(indices, shape, False).output(0)
    if keepdims:
        return indices
    return ov_opset.squeeze(indices, _i32([axis])).output(0)


def _arg_extremum(x, axis, keepdims, mode):
    if axis is not None:
        # As in NumPy, a boolean is not an axis.
        if isinstance(axis, bool) or not hasattr(type(axis), "__index__"):
            raise TypeError(
                f"`axis` must be an integer or None, but received {axis!r}."
            )
        axis = operator.index(axis)
    data, dtype = _eager_data(x)
    shape = list(x.shape if data is None else data.shape)
    if data is None:
        keys = get_ov_output(x)
        is_nan = ov_opset.is_nan(keys) if is_float_dtype(dtype) else None
    elif dtype == "float64":
        keys, is_nan = _float64_keys(data)
    else:
        keys = _constant(data).output(0)
        if dtype.startswith("float8"):
            # No reference kernels for float8; float32 holds every value.
            keys = ov_opset.convert(keys, Type.f32).output(0)
        is_nan = None
        if is_float_dtype(dtype):
            is_nan = ov_opset.logical_not(ov_opset.equal(keys, keys))
    if axis is not None:
        # NumPy takes a scalar as having one axis.
        axis = canonicalize_axis(axis, len(shape) or 1)
    if not shape:
        return OpenVINOKerasTensor(_constant(np.zeros((), np.int32)).output(0))
    if 0 in (shape if axis is None else [shape[axis]]):
        raise ValueError(
            f"`x` has no element along the reduced axis to take the arg{mode} "
            f"of: its shape is {tuple(shape)}."
        )
    indices = _arg_extremum_graph(
        keys, is_nan, axis, keepdims, len(shape), mode
    )
    if data is not None:
        result = evaluate_with_reference_kernels(ov.Model([indices], []))
        if result is not None:
            return OpenVINOKerasTensor(_constant(result).output(0))
    return OpenVINOKerasTensor(indices)


def argmax(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "max")


def argmin(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "min")


def _constant(array):
    """A `Constant` holding a copy of `array`, ml_dtypes' types included:
    from its bits, since OpenVINO refuses a bf16 `inf` made from a number."""
    ov_type = OPENVINO_DTYPES[standardize_dtype(array.dtype)]
    tensor = ov.Tensor(ov_type, ov.Shape(list(array.shape)))
    bits = f"u{array.itemsize}"
    tensor.data.view(bits)[...] = array.view(bits)
    return ov.op.Constant(tensor)


def _checked_dtype(dtype):
    """The Keras name of `dtype`, which must hold real numbers or booleans."""
    name = getattr(dtype, "name", dtype)  # NumPy's names are Keras's.
    if name not in dtypes.ALLOWED_DTYPES or name.startswith(("c", "s")):
        raise TypeError(
            "`x` must hold real numbers or booleans, but received an array "
            f"of dtype {dtype}."
        )
    return name


def _eager_data(x):
    """The values of `x` as a native C-ordered array (maybe `x`'s memory)
    and their Keras dtype; None for a graph of a model's inputs."""
    if isinstance(x, (list, tuple, int, float)):
        # Python numbers take Keras's default dtypes.
        x = convert_to_tensor(x)
    if isinstance(x, KerasVariable):
        x = x.value
    if isinstance(x, OpenVINOKerasTensor):
        dtype = _checked_dtype(x.dtype)
        if depends_on_parameter(x.output):  # The op extends the graph.
            return None, dtype
        data = convert_to_numpy(x)
    else:
        data = np.asarray(x)
    dtype = _checked_dtype(data.dtype)
    native = data.dtype.newbyteorder("=")
    return data.astype(native, order="C", copy=False), dtype


def _nan_to_num_constant(value, dtype, element_type):
    """A Constant of `element_type`: `value` cast to `dtype` as NumPy does."""
    array = np.asarray(value)
    if type(value) is int and not -(2**53) <= value <= 2**53:
        # NumPy takes it as a Python float: one rounding, to float64, first.
        try:
            array = np.asarray(float(value))
        except OverflowError:
            raise ValueError(
                "`nan`, `posinf` and `neginf` must fit in float64, but "
                f"received an integer of {value.bit_length()} bits."
            )
    floats = dtypes.FLOAT_TYPES + dtypes.FLOAT8_TYPES  # ml_dtypes' too.
    real = array.dtype.kind in "biuf" or array.dtype.name in floats
    if not real or array.size != 1:
        raise TypeError(
            "`nan`, `posinf` and `neginf` must be real numbers, but received "
            f"{value!r}."
        )
    with np.errstate(over="ignore"):
        array = array.reshape(()).astype(dtype)
    return _constant(array.astype(ov_to_keras_type(element_type)))


def _nan_as(x, value):
    """`x` with each NaN replaced by `value`; infinities kept."""
    x = get_ov_output(x)
    if not x.get_element_type().is_real():
        return OpenVINOKerasTensor(x)
    replacement = ov_opset.constant(value, x.get_element_type())
    return OpenVINOKerasTensor(
        ov_opset.select(ov_opset.is_nan(x), replacement, x).output(0)
    )


def nancumsum(x, axis=None, dtype=None):
    # NumPy treats only NaN as zero: infinities stay.
    return cumsum(_nan_as(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    # NumPy treats only NaN as one: infinities stay.
    return cumprod(_nan_as(x, 1), axis=axis, dtype=dtype)
