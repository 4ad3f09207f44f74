import numbers
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
from keras.src.backend.openvino.core import compiled_model_cache
from keras.src.backend.openvino.core import constant_from_numpy
from keras.src.backend.openvino.core import convert_to_numpy
from keras.src.backend.openvino.core import convert_to_tensor
from keras.src.backend.openvino.core import evaluate
from keras.src.backend.openvino.core import get_ov_output
from keras.src.backend.openvino.core import is_concrete
from keras.src.backend.openvino.core import numpy_dtype
from keras.src.backend.openvino.core import tensor_from_numpy
from keras.src.backend.openvino.numpy import cumprod
from keras.src.backend.openvino.numpy import cumsum


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

    A clamp to the dtype's finite range gives the default replacements and
    leaves every finite value as it is, bit for bit, without any infinity
    mask; its bounds are attributes, which a CPU plugin running in bf16
    keeps exact, unlike constants. Custom `posinf` and `neginf` (None
    otherwise) are then selected where `x` is infinite. `nan`, `posinf` and
    `neginf` are scalar outputs of the dtype.

    The CPU plugin computes float64 as float32 and may or may not saturate
    an infinity to float32's maximum on the way, so for float64 anything at
    or beyond float32's finite range counts as infinite.
    """
    output_type = x.get_element_type()
    if dtype in FLOAT8_DTYPES:
        # The CPU plugin has no float8 kernels; float32 holds every float8
        # value exactly. The replacements come in float32 too.
        x = ov_opset.convert(x, Type.f32)
    compute_dtype = numpy_dtype(x.get_element_type())
    info = ml_dtypes.finfo(dtype)
    result = ov_opset.clamp(x, float(info.min), float(info.max))
    if dtype == "float64":
        limit = np.asarray(np.finfo(np.float32).max, dtype)
        tests = ((ov_opset.greater_equal, limit), (ov_opset.less_equal, -limit))
    else:
        inf = np.asarray(np.inf, compute_dtype)
        tests = ((ov_opset.equal, inf), (ov_opset.equal, -inf))
    for replacement, (compare, limit) in zip((posinf, neginf), tests):
        if replacement is not None:
            is_inf = compare(x, constant_from_numpy(limit))
            result = ov_opset.select(is_inf, replacement, result)
    result = ov_opset.select(ov_opset.is_nan(x), nan, result)
    return ov_opset.convert(result, output_type).output(0)


FLOAT8_DTYPES = ("float8_e4m3fn", "float8_e5m2")
# Dtypes that `nan_to_num` handles on their bit pattern, and the integer
# words it is cut into. The CPU plugin runs f64 as f32, and turns bf16
# subnormals into zeros on the way to f32: neither survives a float graph.
BIT_PATTERN_WORD_DTYPES = {"float64": np.int32, "bfloat16": np.int16}


def _as_words(value, word_dtype):
    """The bit pattern of `value`, one row of words per value, least
    significant word first (as on every little-endian host)."""
    return value.reshape(-1, 1).view(word_dtype)


def _bit_pattern_nan_to_num_graph(words, replacement_words, dtype):
    """Builds `nan_to_num` on values held as integer words.

    Only ops that the CPU plugin runs exactly on integers are used: bitwise
    ops, `subtract`, comparisons with zero (its other i32 comparisons, and
    `select` of large values, go through float32), and data movement. NaN
    and infinities are rare, so the values with an all-ones exponent are
    found on their top word, and only those rows are classified and
    scattered over a copy of the input.

    Args:
        words: Integer output of shape `(size, n)`: the values' words,
            least significant first.
        replacement_words: Integer output of shape `(3, n)`: the words of
            the nan, posinf and neginf replacements. As constants, the
            plugin would round them through float32.
        dtype: The float dtype the words hold.
    """
    info = ml_dtypes.finfo(dtype)
    word_type = words.get_element_type()
    num_words = info.bits // word_type.bitwidth
    top_fraction_bits = info.nmant - word_type.bitwidth * (num_words - 1)
    exponent_mask = ov_opset.constant(
        np.int32(((1 << info.nexp) - 1) << top_fraction_bits)
    )
    fraction_mask = ov_opset.constant(np.int32((1 << top_fraction_bits) - 1))
    zero = ov_opset.constant(np.int32(0))
    axis_0 = ov_opset.constant(np.int32(0))
    axis_1 = ov_opset.constant(np.int32(1))
    top_index = ov_opset.constant(np.int32(num_words - 1))
    # Sign-extended to int32, the top word is negative iff the value is.
    words = ov_opset.convert(words, Type.i32)
    replacement_words = ov_opset.convert(replacement_words, Type.i32)

    top = ov_opset.gather(words, top_index, axis_1)
    exponent_all_ones = ov_opset.equal(
        ov_opset.subtract(
            ov_opset.bitwise_and(top, exponent_mask), exponent_mask
        ),
        zero,
    )
    # Rows holding NaN or an infinity, as an (count, 1) index tensor.
    rows = ov_opset.transpose(
        ov_opset.non_zero(exponent_all_ones, Type.i32),
        ov_opset.constant([1, 0]),
    )
    special = ov_opset.gather(words, ov_opset.squeeze(rows, [1]), axis_0)
    special_top = ov_opset.gather(special, top_index, axis_1)
    fraction_is_zero = ov_opset.equal(
        ov_opset.bitwise_and(special_top, fraction_mask), zero
    )
    if num_words > 1:
        lower_words_are_zero = ov_opset.reduce_logical_and(
            ov_opset.equal(
                ov_opset.slice(
                    special,
                    ov_opset.constant([0]),
                    ov_opset.constant([num_words - 1]),
                    ov_opset.constant([1]),
                    ov_opset.constant([1]),
                ),
                zero,
            ),
            ov_opset.constant([1]),
            False,
        )
        fraction_is_zero = ov_opset.logical_and(
            fraction_is_zero, lower_words_are_zero
        )
    # Row 0 of `replacement_words` for NaN, 1 for +inf, 2 for -inf.
    replacement_row = ov_opset.select(
        fraction_is_zero,
        ov_opset.select(
            ov_opset.less(special_top, zero),
            ov_opset.constant(np.int32(2)),
            ov_opset.constant(np.int32(1)),
        ),
        zero,
    )
    updates = ov_opset.gather(replacement_words, replacement_row, axis_0)
    result = ov_opset.scatter_nd_update(words, rows, updates)
    return ov_opset.convert(result, word_type).output(0)


def _nan_to_num_array(x, dtype, nan, posinf, neginf):
    """Eager `nan_to_num` of the C-ordered array `x`."""
    if x.size == 0:
        return x.copy()
    if dtype in BIT_PATTERN_WORD_DTYPES:
        word_dtype = BIT_PATTERN_WORD_DTYPES[dtype]
        words = _as_words(x, word_dtype)
        info = ml_dtypes.finfo(dtype)
        replacements = np.stack(
            [
                nan,
                np.asarray(info.max if posinf is None else posinf, dtype),
                np.asarray(info.min if neginf is None else neginf, dtype),
            ]
        )

        def build_model():
            word_type = Type(np.dtype(word_dtype))
            num_words = words.shape[1]
            x_words = ov_opset.parameter([-1, num_words], word_type)
            replacement_words = ov_opset.parameter([3, num_words], word_type)
            result = _bit_pattern_nan_to_num_graph(
                x_words.output(0), replacement_words.output(0), dtype
            )
            return ov.Model([result], [x_words, replacement_words])

        # One compiled model per dtype, whatever the shape or replacements.
        result = compiled_model_cache.run_rows(
            ("nan_to_num", dtype),
            build_model,
            words,
            _as_words(replacements, word_dtype),
        )
        return result.view(x.dtype).reshape(x.shape)

    custom = np.stack(
        [value for value in (nan, posinf, neginf) if value is not None]
    )
    if dtype in FLOAT8_DTYPES:
        custom = custom.astype(np.float32)

    def build_model():
        parameter = ov_opset.parameter([-1], OPENVINO_DTYPES[dtype])
        # Replacement values come in as an input: as constants, the plugin
        # would flush subnormal ones to zero.
        values = ov_opset.parameter(custom.shape, Type(custom.dtype))
        scalars = iter(
            ov_opset.squeeze(value, ov_opset.constant(np.int32(0)))
            for value in ov_opset.split(
                values, ov_opset.constant(np.int32(0)), len(custom)
            ).outputs()
        )
        nan_output, posinf_output, neginf_output = (
            None if value is None else next(scalars)
            for value in (nan, posinf, neginf)
        )
        result = _nan_to_num_graph(
            parameter.output(0),
            dtype,
            nan_output,
            posinf_output,
            neginf_output,
        )
        return ov.Model([result], [parameter, values])

    # One compiled model per dtype and choice of custom infinities, run on
    # the flattened values.
    key = ("nan_to_num", dtype, posinf is None, neginf is None)
    result = compiled_model_cache.run_rows(
        key, build_model, x.reshape(-1), custom
    )
    return result.reshape(x.shape)


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
        compute_dtype = np.float32 if dtype in FLOAT8_DTYPES else dtype
        nan, posinf, neginf = (
            None
            if value is None
            else constant_from_numpy(value.astype(compute_dtype))
            for value in (nan, posinf, neginf)
        )
        return OpenVINOKerasTensor(
            _nan_to_num_graph(x.output, dtype, nan, posinf, neginf)
        )
    return tensor_from_numpy(
        _nan_to_num_array(data, dtype, nan, posinf, neginf)
    )


def _first_index(x, axis, mode="max"):
    """The index of the first maximum (or minimum) of `x` along `axis`, kept
    as size 1; of the first True for a boolean mask."""
    one = ov_opset.constant(1, Type.i32)
    return ov_opset.topk(
        x, one, axis, mode, "value", Type.i32, stable=True
    ).output(1)


def _first_nan_or(indices, is_nan, axis):
    """`indices`, but the first NaN's index where `axis` holds a NaN, as
    NumPy picks it."""
    has_nan = ov_opset.reduce_logical_or(is_nan, [axis], True)
    first_nan = _first_index(is_nan, axis)
    return ov_opset.select(has_nan, first_nan, indices).output(0)


def _arg_extremum_indices(x, axis, mode):
    indices = _first_index(x, axis, mode)
    if not x.get_element_type().is_real():
        return indices
    # TopK orders NaN as it likes.
    return _first_nan_or(indices, ov_opset.is_nan(x), axis)


def _float64_arg_extremum_indices(words, axis, mode):
    """As `_arg_extremum_indices`, exactly, on float64 values held as their
    four 16-bit words (least significant first, along the last axis).

    The words become four digits, most significant first, whose
    lexicographic order is the values' order (reversed for `mode="min"`),
    with -0.0 equal to 0.0; each stays below 2**16, where the CPU plugin,
    which compares and selects integers through float32, is exact.
    """

    def constant(value):
        return ov_opset.constant(np.int32(value))

    low, middle, high, top = (
        ov_opset.squeeze(word, constant(-1))
        for word in ov_opset.split(
            ov_opset.convert(words, Type.i32), constant(-1), 4
        ).outputs()
    )
    negative = ov_opset.greater_equal(top, constant(0x8000))
    top = ov_opset.bitwise_and(top, constant(0x7FFF))
    lower_sum = ov_opset.add(ov_opset.add(low, middle), high)
    is_zero = ov_opset.equal(ov_opset.add(top, lower_sum), constant(0))
    # Beyond infinity's pattern (0x7FF0, 0, 0, 0) lies NaN.
    is_nan = ov_opset.logical_or(
        ov_opset.greater(top, constant(0x7FF0)),
        ov_opset.logical_and(
            ov_opset.equal(top, constant(0x7FF0)),
            ov_opset.greater(lower_sum, constant(0)),
        ),
    )
    # Negative values order by decreasing magnitude, below the positives.
    digits = [
        ov_opset.select(
            negative,
            ov_opset.subtract(constant(0x7FFF), top),
            ov_opset.add(top, constant(0x8000)),
        )
    ]
    for word in (high, middle, low):
        digits.append(
            ov_opset.select(
                negative, ov_opset.subtract(constant(0xFFFF), word), word
            )
        )
    zero_digits = (0x8000, 0, 0, 0)
    candidates = None
    for digit, zero_digit in zip(digits, zero_digits):
        digit = ov_opset.select(is_zero, constant(zero_digit), digit)
        if mode == "min":
            digit = ov_opset.subtract(constant(0xFFFF), digit)
        if candidates is not None:
            digit = ov_opset.select(candidates, digit, constant(-1))
        best = ov_opset.reduce_max(digit, [axis], True)
        is_best = ov_opset.equal(digit, best)
        candidates = (
            is_best
            if candidates is None
            else ov_opset.logical_and(candidates, is_best)
        )
    return _first_nan_or(_first_index(candidates, axis), is_nan, axis)


def _check_reduced_size(shape, axis, mode):
    """Raises NumPy's error for an empty reduced axis; `shape` holds None
    for dynamic dimensions."""
    reduced = shape if axis is None else [shape[axis]]
    if 0 in reduced:
        raise ValueError(
            f"`x` has no element along the reduced axis to take the arg{mode} "
            f"of: its shape is {tuple(shape)}."
        )


def _arg_extremum_graph(x, axis, keepdims, mode, rank, float64_words=False):
    """The indices' graph on the output `x` of rank `rank` (plus an axis of
    words with `float64_words`), `axis` already canonical."""
    if axis is None:
        flat_shape = [-1, 4] if float64_words else [-1]
        x = ov_opset.reshape(x, ov_opset.constant(flat_shape), False)
    reduced_axis = 0 if axis is None else axis
    if float64_words:
        indices = _float64_arg_extremum_indices(x, reduced_axis, mode)
    else:
        indices = _arg_extremum_indices(x, reduced_axis, mode)
    if axis is None:
        result_shape = [1] * rank if keepdims else []
        return ov_opset.reshape(
            indices, ov_opset.constant(result_shape, Type.i64), False
        ).output(0)
    if not keepdims:
        return ov_opset.squeeze(indices, [reduced_axis]).output(0)
    return indices


# Dtypes whose `argmax`/`argmin` graph the CPU plugin runs exactly (checked
# against NumPy in numpy_test.py): it compares them in their own type.
PLUGIN_EXACT_ARG_DTYPES = (
    "float32",
    "float16",
    "int32",
    "int16",
    "int8",
    "uint8",
)


def _compiled_arg_extremum(x, dtype, axis, keepdims, mode):
    """Eager `argmax`/`argmin` of the native C-ordered `x` of Keras dtype
    `dtype`, one the plugin compares exactly (float64 as its 16-bit words),
    through a model compiled once per dtype, rank, axis and keepdims."""
    words = dtype == "float64"
    if words:
        # The plugin would compare float64 as float32.
        x = x.reshape(x.shape + (1,)).view(np.uint16)
    rank = x.ndim - words

    def build_model():
        parameter = ov_opset.parameter(
            [-1] * x.ndim, Type.u16 if words else OPENVINO_DTYPES[dtype]
        )
        result = _arg_extremum_graph(
            parameter.output(0), axis, keepdims, mode, rank, words
        )
        return ov.Model([result], [parameter])

    key = ("arg_extremum", dtype, mode, rank, axis, keepdims)
    (result,) = compiled_model_cache.run(key, build_model, [x])
    return tensor_from_numpy(result)


def _arg_extremum(x, axis, keepdims, mode):
    """The index of the first maximum (`mode="max"`) or minimum along
    `axis`, or into the flattened `x`, as NumPy picks it: the first NaN
    comes before any number."""
    if axis is not None:
        try:
            axis = operator.index(axis)
        except TypeError:
            raise TypeError(
                f"`axis` must be an integer or None, but received {axis!r}."
            ) from None
    if isinstance(x, KerasVariable):
        x = x.value
    if isinstance(x, OpenVINOKerasTensor) and is_concrete(x.output):
        x = convert_to_numpy(x)
    if isinstance(x, (np.ndarray, np.generic)):
        x = _numpy_input(x)
        if axis is not None:
            axis = canonicalize_axis(axis, x.ndim)
        _check_reduced_size(x.shape, axis, mode)
        dtype = standardize_dtype(x.dtype)
        if dtype == "float64" or dtype in PLUGIN_EXACT_ARG_DTYPES:
            return _compiled_arg_extremum(x, dtype, axis, keepdims, mode)
        # Other dtypes (64-bit integers, bfloat16, booleans, ...) go to the
        # reference kernels, which compare them in their own type. A copy
        # that the graph owns: unlike the release's conversion, a constant
        # made of it takes one-element bf16 arrays of inf or NaN.
        rank = x.ndim
        graph = _arg_extremum_graph(
            constant_from_numpy(np.array(x)), axis, keepdims, mode, rank
        )
        return tensor_from_numpy(evaluate(graph, reference_kernels=True))
    else:
        x = get_ov_output(x)
        shape = x.get_partial_shape()
        if axis is not None:
            axis = canonicalize_axis(axis, shape.rank.get_length())
        _check_reduced_size(
            [dim.get_length() if dim.is_static else None for dim in shape],
            axis,
            mode,
        )
    rank = x.get_partial_shape().rank.get_length()
    return OpenVINOKerasTensor(
        _arg_extremum_graph(x, axis, keepdims, mode, rank)
    )


def argmax(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "max")


def argmin(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, "min")


def _nan_as(x, value):
    """`x` with each NaN replaced by `value`; infinities kept."""
    x = get_ov_output(x)
    element_type = x.get_element_type()
    if not element_type.is_real():
        return OpenVINOKerasTensor(x)
    replacement = ov_opset.constant(value, element_type)
    return OpenVINOKerasTensor(
        ov_opset.select(ov_opset.is_nan(x), replacement, x).output(0)
    )


def nancumsum(x, axis=None, dtype=None):
    # NumPy treats only NaN as zero: infinities stay.
    return cumsum(_nan_as(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    # NumPy treats only NaN as one: infinities stay.
    return cumprod(_nan_as(x, 1), axis=axis, dtype=dtype)
