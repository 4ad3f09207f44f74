import operator

import ml_dtypes
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
from keras.src.backend.openvino.core import evaluate_constant_graph
from keras.src.backend.openvino.core import get_device
from keras.src.backend.openvino.core import get_ov_output
from keras.src.backend.openvino.numpy import cumprod
from keras.src.backend.openvino.numpy import cumsum


def _i32(value):
    return ov_opset.constant(np.asarray(value, np.int32)).output(0)


def _constant(array):
    """A `Constant` holding a copy of `array`, ml_dtypes' types included."""
    ov_type = OPENVINO_DTYPES[standardize_dtype(array.dtype)]
    tensor = ov.Tensor(ov_type, ov.Shape(list(array.shape)))
    bits = f"u{array.itemsize}"
    tensor.data.view(bits)[...] = array.view(bits)
    return ov.op.Constant(tensor).output(0)


def _shared_tensor(array):
    """An `ov.Tensor` over the C-ordered `array`'s memory, ml_dtypes'
    types included."""
    dtype = standardize_dtype(array.dtype)
    if dtype.startswith("float8"):
        ov_type = OPENVINO_DTYPES[dtype]
        return ov.Tensor(array.view(np.uint8), array.shape, ov_type)
    return ov.Tensor(array, shared_memory=True)


def _eager_tensor(array):
    return OpenVINOKerasTensor(_constant(array))


def _checked_dtype(dtype):
    """The Keras name of `dtype`, which must hold real numbers or booleans."""
    try:
        name = standardize_dtype(dtype)
    except ValueError:
        name = str(dtype)
    if (
        name not in dtypes.ALLOWED_DTYPES
        or name == "string"
        or name.startswith("complex")
    ):
        raise TypeError(
            "`x` must hold real numbers or booleans, but received an array "
            f"of dtype {name}."
        )
    return name


def _eager_data(x):
    """The values of `x` as a native C-ordered array (maybe `x`'s memory)
    and their Keras dtype; None for a symbolic tensor."""
    if isinstance(x, KerasVariable):
        x = x.value
    if isinstance(x, OpenVINOKerasTensor):
        _checked_dtype(x.dtype)
        try:
            data = convert_to_numpy(x)
        except RuntimeError:
            # A graph of the model's inputs: the op extends it.
            return None, x.dtype
    else:
        data = np.asarray(x)
    dtype = _checked_dtype(data.dtype)
    native = data.dtype.newbyteorder("=")
    return data.astype(native, order="C", copy=False), dtype


# Types that TopK's reference kernels lack, compared as int32 instead.
_NARROW_INTEGER_TYPES = (Type.boolean, Type.i8, Type.u8, Type.i16, Type.u16)


def _float64_keys(values):
    """int64 keys whose order is the order of the float64 `values`, and
    `values`' NaN mask, from their bits: the reference kernels compare
    int64 exactly, and lack most float64 kernels."""
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
    """The index of the first extremum of `keys` along `axis` (canonical,
    or None for all values), or of the first True of `is_nan` (None for
    types without NaN) where there is one, as NumPy picks it."""
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
            values, _i32(1), reduced_axis, mode, "value", Type.i32, True
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
        try:
            axis = operator.index(axis)
        except TypeError:
            raise TypeError(
                f"`axis` must be an integer or None, but received {axis!r}."
            ) from None
    data, dtype = _eager_data(x)
    if data is None:
        keys = get_ov_output(x)
        shape = [
            dim.get_length() if dim.is_static else None
            for dim in keys.get_partial_shape()
        ]
        is_nan = ov_opset.is_nan(keys) if is_float_dtype(dtype) else None
    elif dtype == "float64":
        shape = list(data.shape)
        keys, is_nan = _float64_keys(data)
    else:
        shape = list(data.shape)
        keys = _constant(data)
        if dtype.startswith("float8"):
            # No reference kernels for float8; float32 holds every value.
            keys = ov_opset.convert(keys, Type.f32).output(0)
        is_nan = None
        if is_float_dtype(dtype):
            is_nan = ov_opset.logical_not(ov_opset.equal(keys, keys))
    if not shape:
        # NumPy takes a scalar as having one axis.
        if axis not in (None, 0, -1):
            raise ValueError(
                f"`axis` {axis} is out of bounds for a 0-d input to arg{mode}."
            )
        return _eager_tensor(np.zeros((), np.int32))
    if axis is not None:
        axis = canonicalize_axis(axis, len(shape))
    if 0 in (shape if axis is None else [shape[axis]]):
        raise ValueError(
            f"`x` has no element along the reduced axis to take the arg{mode} "
            f"of: its shape is {tuple(shape)}."
        )
    if data is not None and data.size == 0:
        # Another axis is empty: so is the result.
        shape[axis] = 1
        if not keepdims:
            del shape[axis]
        return _eager_tensor(np.zeros(shape, np.int32))
    indices = _arg_extremum_graph(
        keys, is_nan, axis, keepdims, len(shape), mode
    )
    if data is not None:
        result = evaluate_constant_graph(indices, any_element_type=True)
        if result is not None:
            return _eager_tensor(result)
    return OpenVINOKerasTensor(indices)


def argmax(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "max")


def argmin(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "min")


def _nan_to_num_replacement(name, value, dtype):
    """`value` cast to `dtype` as NumPy casts it, as a 0-d array."""
    try:
        array = np.asarray(value)
        if array.dtype == object and type(value) is int:
            # Beyond int64: NumPy takes it as a Python float.
            array = np.asarray(float(value))
    except OverflowError:
        raise ValueError(
            f"`{name}` is too large for any float dtype: {value!r}."
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`{name}` must be a real number, but received {value!r} of type "
            f"{type(value).__name__}."
        )
    if array.size != 1:
        raise ValueError(
            f"`{name}` must be a scalar, but received an array of shape "
            f"{array.shape}."
        )
    # As in NumPy, a value beyond the dtype's range becomes infinite.
    with np.errstate(over="ignore"):
        return array.reshape(()).astype(dtype)


def _nan_to_num_graph(x, dtype, nan, posinf, neginf):
    """`nan_to_num` of the float output `x`, as the CPU plugin computes it.

    The clamp's bounds are attributes, exact in any precision, unlike
    constants. The plugin computes float64 as float32 (openvino#34138) and
    may saturate infinities: for float64, anything at or beyond float32's
    range counts as infinite. `posinf` and `neginf` are None for defaults.
    """
    output_type = x.get_element_type()
    if dtype.startswith("float8"):
        # The plugin has no float8 kernels; float32 holds every float8 value.
        x = ov_opset.convert(x, Type.f32).output(0)
    compute_dtype = np.float32 if dtype.startswith("float8") else dtype
    info = ml_dtypes.finfo(dtype)
    result = ov_opset.clamp(x, float(info.min), float(info.max))
    inf = np.asarray(np.inf, compute_dtype)
    tests = ((ov_opset.equal, inf), (ov_opset.equal, -inf))
    if dtype == "float64":
        limit = np.asarray(np.finfo(np.float32).max, dtype)
        tests = ((ov_opset.greater_equal, limit), (ov_opset.less_equal, -limit))
    for replacement, (compare, bound) in zip((posinf, neginf), tests):
        if replacement is not None:
            result = ov_opset.select(
                compare(x, _constant(bound)),
                _constant(replacement.astype(compute_dtype)),
                result,
            )
    nan = _constant(nan.astype(compute_dtype))
    result = ov_opset.select(ov_opset.is_nan(x), nan, result)
    return ov_opset.convert(result, output_type).output(0)


def _bit_words(values):
    """The bits of 1-d 16, 32 or 64-bit floats as rows of int16 or int32
    words, least significant first."""
    word = np.int16 if values.itemsize == 2 else np.int32
    return values.reshape(-1, 1).view(word)


def _nan_to_num_bits(words, dtype, nan, posinf, neginf):
    """`nan_to_num` of float values held as int32 words (a list of outputs
    of shape `(n,)`, least significant first, 16 bits sign-extended), which
    it returns replaced.

    Integer ops only: the CPU plugin runs bitwise ops exactly, and compares
    integers through float32, which is exact against zero and against the
    exponent masks. `nan`, `posinf` and `neginf` are 0-d arrays of `dtype`.
    """
    info = ml_dtypes.finfo(dtype)
    exponent_shift = info.nmant - 32 * (len(words) - 1)
    exponent = _i32(((1 << info.nexp) - 1) << exponent_shift)
    top = words[-1]
    # Both sides hold at most `nexp` significant bits.
    all_ones = ov_opset.equal(ov_opset.bitwise_and(top, exponent), exponent)
    fraction = ov_opset.bitwise_and(top, _i32((1 << exponent_shift) - 1))
    for word in words[:-1]:
        fraction = ov_opset.bitwise_or(fraction, word)
    has_fraction = ov_opset.not_equal(fraction, _i32(0))
    is_inf = ov_opset.logical_and(all_ones, ov_opset.logical_not(has_fraction))
    negative = ov_opset.less(top, _i32(0))
    kinds = (
        (ov_opset.logical_and(all_ones, has_fraction), nan),
        (ov_opset.logical_and(is_inf, ov_opset.logical_not(negative)), posinf),
        (ov_opset.logical_and(is_inf, negative), neginf),
    )
    # Bitwise selects: the plugin's `select` on int32 goes through float32.
    special, *masks = (
        ov_opset.select(mask, _i32(-1), _i32(0))
        for mask in [all_ones] + [mask for mask, _ in kinds]
    )
    replaced = []
    for index, word in enumerate(words):
        result = ov_opset.bitwise_and(word, ov_opset.bitwise_not(special))
        for mask, (_, value) in zip(masks, kinds):
            value_word = _i32(int(_bit_words(value.reshape(1))[0, index]))
            result = ov_opset.bitwise_or(
                result, ov_opset.bitwise_and(mask, value_word)
            )
        replaced.append(result.output(0))
    return replaced


def _nan_to_num_model(dtype, num_words, replacements):
    """A compiled `nan_to_num` for values of `dtype`, held as float8 or as
    `num_words` words each (`_bit_words`); `replacements` holds the bytes
    of `nan`, `posinf` and `neginf` in `dtype`."""
    nan, posinf, neginf = np.frombuffer(replacements, dtype)
    if dtype.startswith("float8"):
        parameter = ov_opset.parameter([-1], OPENVINO_DTYPES[dtype])
        result = _nan_to_num_graph(parameter, dtype, nan, posinf, neginf)
    else:
        word_type = Type.i16 if np.dtype(dtype).itemsize == 2 else Type.i32
        parameter = ov_opset.parameter([-1, num_words], word_type)
        words = [
            ov_opset.convert(
                ov_opset.gather(parameter, _i32(index), _i32(1)), Type.i32
            ).output(0)
            for index in range(num_words)
        ]
        words = _nan_to_num_bits(words, dtype, nan, posinf, neginf)
        result = ov_opset.convert(
            ov_opset.concat([ov_opset.unsqueeze(w, _i32(1)) for w in words], 1),
            word_type,
        )
    model = ov.Model([result], [parameter])
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    return ov.compile_model(model, get_device(), config)


def _nan_to_num_array(x, dtype, nan, posinf, neginf):
    """`nan_to_num` of the native C-ordered float array `x`."""
    info = ml_dtypes.finfo(dtype)
    replacements = np.stack(
        [
            nan,
            np.asarray(info.max, dtype) if posinf is None else posinf,
            np.asarray(info.min, dtype) if neginf is None else neginf,
        ]
    )
    if not x.flags.writeable:
        # OpenVINO shares writeable memory only; it never writes inputs.
        x = x.copy()
    result = np.empty_like(x)
    values, output = x.reshape(-1), result.reshape(-1)
    num_words = 0
    if not dtype.startswith("float8"):
        values, output = _bit_words(values), _bit_words(output)
        num_words = values.shape[1]
    model = _nan_to_num_model(dtype, num_words, replacements.tobytes())
    # A request of this call's own, writing into the result: the model
    # keeps no values.
    request = model.create_infer_request()
    request.set_input_tensor(_shared_tensor(values))
    request.set_output_tensor(_shared_tensor(output))
    request.infer()
    return result


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x is None:
        raise TypeError("`x` must be a tensor or array-like, not None.")
    data, dtype = _eager_data(x)
    float_dtype = dtype if is_float_dtype(dtype) else "float32"
    nan = _nan_to_num_replacement("nan", nan, float_dtype)
    posinf, neginf = (
        None
        if value is None
        else _nan_to_num_replacement(name, value, float_dtype)
        for name, value in (("posinf", posinf), ("neginf", neginf))
    )
    if data is None:
        x = get_ov_output(x)
        if is_float_dtype(dtype):
            x = _nan_to_num_graph(x, dtype, nan, posinf, neginf)
        return OpenVINOKerasTensor(x)
    if is_float_dtype(dtype) and data.size:
        data = _nan_to_num_array(data, dtype, nan, posinf, neginf)
    # Integers and booleans hold no NaN or infinity.
    return _eager_tensor(data)


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
