import math
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
from keras.src.backend.openvino.core import has_value
from keras.src.backend.openvino.core import numpy_dtype
from keras.src.backend.openvino.core import raw_bits
from keras.src.backend.openvino.core import tensor_from_numpy
from keras.src.backend.openvino.numpy import cumprod
from keras.src.backend.openvino.numpy import cumsum


def _i32(value):
    return ov_opset.constant(np.int32(value))


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
# Values per run of the bit-pattern model, and runs queued at once: NumPy
# copies each run into the result just before the plugin reads it there,
# warm, while the plugin scans the runs before it. The plugin's work goes
# with the count of values, not their bytes: bfloat16 words need a
# reference kernel to become int32.
BIT_PATTERN_CHUNK_VALUES = 2**18
BIT_PATTERN_RUNS_IN_FLIGHT = 3


def _as_words(value, word_dtype):
    """The bit pattern of `value`, one row of words per value, least
    significant word first (as on every little-endian host)."""
    return value.reshape(-1, 1).view(word_dtype)


def _all_ones_exponent_graph(words, dtype):
    """Builds which values, held as integer words, are NaN or infinite.

    Only ops that the CPU plugin runs exactly on integers are used: a
    bitwise and, an equality whose both sides float32 (through which the
    plugin compares int32) holds exactly, and data movement.

    Args:
        words: Integer output of shape `(size, n)`: the values' words,
            least significant first.
        dtype: The float dtype the words hold.

    Returns:
        A uint8 output of shape `(size,)`: 1 where a value's exponent is
        all ones, else 0. Not boolean: the plugin converts a boolean
        output with a reference kernel, as long as the scan itself.
    """
    info = ml_dtypes.finfo(dtype)
    word_type = words.get_element_type()
    num_words = info.bits // word_type.bitwidth
    top_fraction_bits = info.nmant - word_type.bitwidth * (num_words - 1)
    exponent_mask = _i32(((1 << info.nexp) - 1) << top_fraction_bits)
    top = ov_opset.gather(words, _i32(num_words - 1), _i32(1))
    # Both sides are multiples of 2**top_fraction_bits with at most `nexp`
    # significant bits.
    all_ones = ov_opset.equal(
        ov_opset.bitwise_and(ov_opset.convert(top, Type.i32), exponent_mask),
        exponent_mask,
    )
    return ov_opset.convert(all_ones, Type.u8).output(0)


def _nan_to_num_array(x, dtype, nan, posinf, neginf):
    """Eager `nan_to_num` of the C-ordered array `x`."""
    if x.size == 0:
        return x.copy()
    if dtype in BIT_PATTERN_WORD_DTYPES:
        word_dtype = BIT_PATTERN_WORD_DTYPES[dtype]
        info = ml_dtypes.finfo(dtype)
        infinity_bits = raw_bits(np.asarray([np.inf, -np.inf], dtype))
        replacement_bits = raw_bits(
            np.stack(
                [
                    nan,
                    np.asarray(info.max if posinf is None else posinf, dtype),
                    np.asarray(info.min if neginf is None else neginf, dtype),
                ]
            )
        )

        values = x.reshape(-1)
        result = np.empty_like(values)
        result_bits = raw_bits(result)
        result_words = _as_words(result, word_dtype)

        def build_model():
            x_words = ov_opset.parameter(
                [-1, result_words.shape[1]], Type(result_words.dtype)
            )
            special = _all_ones_exponent_graph(x_words.output(0), dtype)
            return ov.Model([special], [x_words])

        # The plugin finds the NaN and infinities in the copy the call
        # returns, one run after NumPy has copied it there. NumPy then
        # writes the replacements over them, as raw bits: the plugin
        # copies integer arrays several times slower than NumPy does,
        # and finds the positions of a mask (`non_zero`) slower too.
        def copy_values(start, stop):
            result[start:stop] = values[start:stop]

        chunks = compiled_model_cache.run_chunks(
            ("nan_to_num", dtype),
            build_model,
            result_words,
            chunk_bytes=BIT_PATTERN_CHUNK_VALUES * x.itemsize,
            in_flight=BIT_PATTERN_RUNS_IN_FLIGHT,
            fill_chunk=copy_values,
        )
        for start, (special,) in chunks:
            positions = np.flatnonzero(special.view(np.bool_))
            positions += start
            # Told apart by their bits, which no float op (nor the warning
            # a signaling NaN raises in some) can change: 0 for NaN, 1 for
            # +inf, 2 for -inf.
            found = result_bits[positions]
            kinds = (found == infinity_bits[0]).view(np.uint8)
            kinds += 2 * (found == infinity_bits[1]).view(np.uint8)
            result_bits[positions] = replacement_bits.take(kinds)
        return result.reshape(x.shape)

    compute_dtype = np.float32 if dtype in FLOAT8_DTYPES else dtype
    # NaN's default replacement, +0.0, is a constant of the model: one input
    # fewer to set on every call. Other replacements come in as an input:
    # as constants, the plugin would flush subnormal ones to zero.
    nan_is_zero = not raw_bits(nan).any()
    fed = [
        value
        for value in (None if nan_is_zero else nan, posinf, neginf)
        if value is not None
    ]
    inputs = [np.stack(fed).astype(compute_dtype, copy=False)] if fed else []

    def build_model():
        parameters = [ov_opset.parameter([-1], OPENVINO_DTYPES[dtype])]
        scalars = iter(())
        if inputs:
            (custom,) = inputs
            parameters.append(
                ov_opset.parameter(custom.shape, Type(custom.dtype))
            )
            scalars = iter(
                ov_opset.squeeze(value, _i32(0))
                for value in ov_opset.split(
                    parameters[1], _i32(0), len(custom)
                ).outputs()
            )
        if nan_is_zero:
            nan_output = constant_from_numpy(np.zeros((), compute_dtype))
        else:
            nan_output = next(scalars)
        posinf_output, neginf_output = (
            None if value is None else next(scalars)
            for value in (posinf, neginf)
        )
        result = _nan_to_num_graph(
            parameters[0].output(0),
            dtype,
            nan_output,
            posinf_output,
            neginf_output,
        )
        return ov.Model([result], parameters)

    # One compiled model per dtype and choice of custom replacements, run on
    # the flattened values.
    key = ("nan_to_num", dtype, nan_is_zero, posinf is None, neginf is None)
    result = compiled_model_cache.run_rows(
        key, build_model, x.reshape(-1), *inputs
    )
    return result.reshape(x.shape)


# Keras names of the NumPy dtypes `_real_dtype` accepted: an eager op of a
# few values would otherwise spend longer naming its dtype than running.
_REAL_DTYPE_NAMES = {}


def _real_dtype(dtype):
    """The Keras name of `dtype`, which must be a real or boolean one."""
    if isinstance(dtype, np.dtype) and dtype in _REAL_DTYPE_NAMES:
        return _REAL_DTYPE_NAMES[dtype]
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
    if isinstance(dtype, np.dtype):
        _REAL_DTYPE_NAMES[dtype] = name
    return name


def _numpy_input(x):
    """`x` as a native C-ordered array, and its Keras dtype; Python values
    take Keras's dtypes."""
    if isinstance(x, (np.ndarray, np.generic)):
        x = np.asarray(x)
        dtype = _real_dtype(x.dtype)
    else:
        _real_dtype(np.asarray(x).dtype)
        x = convert_to_numpy(convert_to_tensor(x))
        dtype = standardize_dtype(x.dtype)
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if not x.flags.c_contiguous:
        x = np.array(x, order="C")
    return x, dtype


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x is None:
        raise TypeError("`x` must be a tensor or array-like, not None.")
    if isinstance(x, KerasVariable):
        x = x.value
    if isinstance(x, OpenVINOKerasTensor):
        dtype = _real_dtype(x.dtype)
    data = None
    if not isinstance(x, OpenVINOKerasTensor) or has_value(x):
        data, dtype = _numpy_input(x)
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


# The CPU plugin compares and reduces int32 through float32, which holds
# every integer up to this one: positions along an axis of at most this
# many values are found exactly by reductions.
EXACT_POSITIONS = 2 ** (np.finfo(np.float32).nmant + 1)
# Eager `argmax`/`argmin` over all values cuts them into rows of this many:
# the plugin reduces rows in parallel, and a whole array on one thread.
ARG_EXTREMUM_ROW = 4096


def _first_index(x, axis, mode="max"):
    """The index of the first maximum (or minimum) of `x` along `axis`, kept
    as size 1; of the first True for a boolean mask. Exact for any length,
    but the plugin's stable `TopK` is several times slower than reductions.
    """
    one = ov_opset.constant(1, Type.i32)
    return ov_opset.topk(
        x, one, axis, mode, "value", Type.i32, stable=True
    ).output(1)


def _first_true(mask, axis):
    """The position of the first True of `mask` along `axis`, kept as size
    1, and the axis' length, which stands for "none"; the length must be at
    most `EXACT_POSITIONS`."""
    rank = mask.get_output_partial_shape(0).rank.get_length()
    length = ov_opset.gather(
        ov_opset.shape_of(mask, Type.i32), _i32(axis), _i32(0)
    )
    positions = ov_opset.range(_i32(0), length, _i32(1), Type.i32)
    if axis < rank - 1:
        positions = ov_opset.unsqueeze(
            positions, ov_opset.constant(list(range(1, rank - axis)))
        )
    first = ov_opset.reduce_min(
        ov_opset.select(mask, positions, length), [axis], True
    )
    return first, length


def _best_mask(keys, axes):
    """Where the best value over `axes` lies (all ties).

    `keys` are (output, reduce) pairs, most significant first: the best
    value is the one whose keys are best in turn, each by its `reduce`
    over `axes`. A later key (int32, above int32's minimum) is reduced
    over the values still in the running only: the others get the minimum.
    """
    candidates = None
    for key, reduce in keys:
        if candidates is not None:
            lowest = _i32(np.iinfo(np.int32).min)
            key = ov_opset.select(candidates, key, lowest)
        is_best = ov_opset.equal(key, reduce(key, axes, True))
        candidates = (
            is_best
            if candidates is None
            else ov_opset.logical_and(candidates, is_best)
        )
    return candidates


def _float_keys(x, mode):
    reduce = ov_opset.reduce_max if mode == "max" else ov_opset.reduce_min
    return [(x, reduce)], ov_opset.is_nan(x)


def _float64_keys(words, mode):
    """The keys of float64 values held as their two int32 words (least
    significant first, along the last axis), and their NaN mask.

    The magnitude's 63 bits become four digits, most significant first,
    negated for negative values (and all of them for `mode="min"`), whose
    lexicographic order is the values' order; -0.0 and 0.0 both have zero
    digits. Each digit has at most 17 significant bits, so float32, through
    which the CPU plugin compares, selects and reduces int32, holds it
    exactly.
    """
    low = ov_opset.gather(words, _i32(0), _i32(-1))
    high = ov_opset.gather(words, _i32(1), _i32(-1))
    zero = _i32(0)
    # The exponent and top four fraction bits, times 2**16.
    top = ov_opset.bitwise_and(high, _i32(0x7FFF0000))
    digits = [
        top,
        # The next 16 fraction bits, then the low word's top bit.
        ov_opset.add(
            ov_opset.multiply(
                ov_opset.bitwise_and(high, _i32(0xFFFF)), _i32(2)
            ),
            ov_opset.select(ov_opset.less(low, zero), _i32(1), zero),
        ),
        ov_opset.bitwise_and(low, _i32(0x7FFF0000)),
        ov_opset.bitwise_and(low, _i32(0xFFFF)),
    ]
    infinity_top = _i32(0x7FF00000)
    is_nan = ov_opset.logical_or(
        ov_opset.greater(top, infinity_top),
        ov_opset.logical_and(
            ov_opset.equal(top, infinity_top),
            ov_opset.not_equal(
                ov_opset.bitwise_or(
                    ov_opset.bitwise_or(digits[1], digits[2]), digits[3]
                ),
                zero,
            ),
        ),
    )
    negate = ov_opset.less(high, zero)
    if mode == "min":
        negate = ov_opset.logical_not(negate)
    keys = [
        (
            ov_opset.select(negate, ov_opset.subtract(zero, digit), digit),
            ov_opset.reduce_max,
        )
        for digit in digits
    ]
    return keys, is_nan


def _extremum_keys(x, mode, float64_words):
    if float64_words:
        return _float64_keys(x, mode)
    return _float_keys(x, mode)


def _arg_extremum_indices(x, axis, mode, float64_words, by_reduction):
    """The first extremum's index along `axis`, kept as size 1; the first
    NaN's where the axis holds one, as NumPy picks it. `by_reduction`
    (faster) needs an axis of at most `EXACT_POSITIONS` values."""
    if not (float64_words or x.get_element_type().is_real()):
        return _first_index(x, axis, mode)
    keys, is_nan = _extremum_keys(x, mode, float64_words)
    if by_reduction:
        first, length = _first_true(_best_mask(keys, [axis]), axis)
        first_nan, _ = _first_true(is_nan, axis)
        has_nan = ov_opset.less(first_nan, length)
        # The plugin's reduction may start from the lowest finite value:
        # an axis of -inf alone (+inf for the minimum) then matches
        # nothing, and its first value is the answer.
        indices = ov_opset.select(ov_opset.less(first, length), first, _i32(0))
    else:
        if float64_words:
            indices = _first_index(_best_mask(keys, [axis]), axis)
        else:
            # TopK orders NaN as it likes: the first NaN is found apart.
            indices = _first_index(x, axis, mode)
        first_nan = _first_index(is_nan, axis)
        has_nan = ov_opset.reduce_logical_or(is_nan, [axis], True)
    return ov_opset.select(has_nan, first_nan, indices).output(0)


def _check_reduced_size(shape, axis, mode):
    """Raises NumPy's error for an empty reduced axis; `shape` holds None
    for dynamic dimensions."""
    reduced = shape if axis is None else [shape[axis]]
    if 0 in reduced:
        raise ValueError(
            f"`x` has no element along the reduced axis to take the arg{mode} "
            f"of: its shape is {tuple(shape)}."
        )


def _positions_are_exact(shape, axis):
    """Whether the reduced axis (all of `shape` for None) is known to hold
    at most `EXACT_POSITIONS` values; `shape` holds None where dynamic."""
    reduced = shape if axis is None else [shape[axis]]
    if None in reduced:
        return False
    return math.prod(reduced) <= EXACT_POSITIONS


def _arg_extremum_graph(
    x, axis, keepdims, mode, rank, by_reduction, float64_words=False
):
    """The indices' graph on the output `x` of rank `rank` (plus an axis of
    words with `float64_words`), `axis` already canonical."""
    if axis is None:
        flat_shape = [-1, 2] if float64_words else [-1]
        x = ov_opset.reshape(x, ov_opset.constant(flat_shape), False)
    reduced_axis = 0 if axis is None else axis
    indices = _arg_extremum_indices(
        x, reduced_axis, mode, float64_words, by_reduction
    )
    if axis is None:
        result_shape = [1] * rank if keepdims else []
        return ov_opset.reshape(
            indices, ov_opset.constant(result_shape, Type.i64), False
        ).output(0)
    if not keepdims:
        return ov_opset.squeeze(indices, [reduced_axis]).output(0)
    return indices


def _first_in_rows(columns, width):
    """The flat index of the first row's entry below `width` (which stands
    for "none"), or None."""
    hits = columns < width
    row = int(hits.argmax())
    if not hits[row]:
        return None
    return row * width + int(columns[row])


def _arg_extremum_by_rows(values, dtype, mode, result_shape):
    """Eager `argmax`/`argmin` of all of `values` (float16, float32, or
    float64 as int32 words along a last axis of 2), cut into rows."""
    float64_words = dtype == "float64"
    count = len(values)
    # `min` here is the backend's op.
    width = ARG_EXTREMUM_ROW if count > ARG_EXTREMUM_ROW else count
    num_rows = -(-count // width)
    if num_rows * width != count:
        # Copies of the first value never come first: they pad the rows.
        padded = np.empty((num_rows * width,) + values.shape[1:], values.dtype)
        padded[:count] = values
        padded[count:] = values[0]
        values = padded
    rows = values.reshape((num_rows, width) + values.shape[1:])

    def build_model():
        parameter = ov_opset.parameter(
            [-1] * rows.ndim,
            Type(rows.dtype) if float64_words else OPENVINO_DTYPES[dtype],
        )
        keys, is_nan = _extremum_keys(parameter.output(0), mode, float64_words)
        # Per row: where the first NaN, and the first of the best values of
        # all rows, lie; the row's width where there is none. Side by side
        # in one output: a small call pays for every output it reads.
        columns = [
            _first_true(mask, 1)[0]
            for mask in (is_nan, _best_mask(keys, [0, 1]))
        ]
        return ov.Model([ov_opset.concat(columns, 1)], [parameter])

    key = ("arg_extremum_by_rows", dtype, mode)
    (columns,) = compiled_model_cache.run(key, build_model, [rows])
    # NaN first, as NumPy finds it.
    index = _first_in_rows(columns[:, 0], width)
    if index is None:
        index = _first_in_rows(columns[:, 1], width)
    # No value matches the best one only when all are -inf (+inf for the
    # minimum) and the plugin started its reduction from a finite value.
    return np.full(result_shape, 0 if index is None else index, np.int32)


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
    `dtype`, one the plugin compares exactly (float64 as its int32 words),
    through a model compiled once per dtype, rank, axis and keepdims."""
    float64_words = dtype == "float64"
    if float64_words:
        # The plugin would compare float64 as float32.
        x = x.reshape(x.shape + (1,)).view(np.int32)
    rank = x.ndim - float64_words
    if axis is None and is_float_dtype(dtype):
        values = x.reshape((-1,) + x.shape[rank:])
        result_shape = (1,) * rank if keepdims else ()
        return tensor_from_numpy(
            _arg_extremum_by_rows(values, dtype, mode, result_shape)
        )
    by_reduction = _positions_are_exact(x.shape[:rank], axis)

    def build_model():
        parameter = ov_opset.parameter(
            [-1] * x.ndim, Type.i32 if float64_words else OPENVINO_DTYPES[dtype]
        )
        result = _arg_extremum_graph(
            parameter.output(0),
            axis,
            keepdims,
            mode,
            rank,
            by_reduction,
            float64_words,
        )
        return ov.Model([result], [parameter])

    key = ("arg_extremum", dtype, mode, rank, axis, keepdims, by_reduction)
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
    if isinstance(x, OpenVINOKerasTensor) and has_value(x):
        x = convert_to_numpy(x)
    if isinstance(x, (np.ndarray, np.generic)):
        x, dtype = _numpy_input(x)
        if axis is not None:
            axis = canonicalize_axis(axis, x.ndim)
        _check_reduced_size(x.shape, axis, mode)
        if x.size == 0:
            # Another axis is empty: so is the result, and OpenVINO's
            # reference kernels may crash on such a graph.
            shape = list(x.shape)
            if keepdims:
                shape[axis] = 1
            else:
                del shape[axis]
            return tensor_from_numpy(np.zeros(shape, np.int32))
        if dtype == "float64" or dtype in PLUGIN_EXACT_ARG_DTYPES:
            return _compiled_arg_extremum(x, dtype, axis, keepdims, mode)
        # Other dtypes (64-bit integers, bfloat16, booleans, ...) go to the
        # reference kernels, which compare them in their own type. A copy
        # that the graph owns: unlike the release's conversion, a constant
        # made of it takes one-element bf16 arrays of inf or NaN.
        graph = _arg_extremum_graph(
            constant_from_numpy(np.array(x)),
            axis,
            keepdims,
            mode,
            x.ndim,
            by_reduction=False,
        )
        return tensor_from_numpy(evaluate(graph, reference_kernels=True))
    x = get_ov_output(x)
    shape = x.get_partial_shape()
    rank = shape.rank.get_length()
    if axis is not None:
        axis = canonicalize_axis(axis, rank)
    shape = [dim.get_length() if dim.is_static else None for dim in shape]
    _check_reduced_size(shape, axis, mode)
    by_reduction = _positions_are_exact(shape, axis)
    return OpenVINOKerasTensor(
        _arg_extremum_graph(x, axis, keepdims, mode, rank, by_reduction)
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
