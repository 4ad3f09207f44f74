"""Differential audit of the OpenVINO backend's eager ops.

Runs each eager op of `keras.ops` (numpy, math and nn namespaces) twice in
one process, with this backend as it is and with the definitions it
replaced (kept by the tree's overlay in each module's `__overlaid__`), on
inputs rich in edge cases, and checks the rule the backend keeps: a result
may differ from the replaced definitions' only where it matches NumPy's (or
JAX's, where NumPy has no such function).

Not part of the upstream patch: it needs the overlay to find the replaced
definitions. `python -m integration_tests.openvino_eager_audit` writes the
report, `docs/records/eager_audit.md`; `openvino_eager_audit_test.py`
enforces the rule.
"""

import os

# Run as a command, the audit chooses its backend before Keras is imported.
os.environ.setdefault("KERAS_BACKEND", "openvino")

import contextlib  # noqa: E402
import inspect  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

from keras.src import ops  # noqa: E402
from keras.src.backend.common import standardize_dtype  # noqa: E402

DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int32",
    "int64",
    "uint8",
    "bool",
)
# Arrays longer than 16 values: the CPU plugin's runtime kernels change
# strategy there (int32 compared through float32, for one).
LENGTH = 24
NAMESPACES = ("numpy", "math", "nn")


def _float_values(dtype):
    info = ml_dtypes.finfo(dtype)
    values = [
        np.nan,
        np.inf,
        -np.inf,
        -0.0,
        0.0,
        float(info.smallest_subnormal),
        -float(info.smallest_subnormal),
        float(info.smallest_normal),
        float(info.max),
        float(info.min),
        1.0,
        -1.0,
        0.5,
        -2.5,
        3.0,
        2.0,
        0.75,
        -7.0,
        100.0,
        -0.5,
        np.nan,
        1.5,
        42.0,
        -3.0,
    ]
    return np.array(values, dtype=np.float64).astype(dtype)


def _int_values(dtype):
    info = np.iinfo(dtype)
    values = [int(info.max), int(info.min), 0, 1, -1, -7, 3, 19, 2, 5]
    if info.bits >= 32:
        values += [2**24 + 1, 2**24, -(2**24) - 1, 2**31 - 1, -(2**31)]
    if info.bits >= 64:
        values += [2**40 + 1, -(2**40) - 1, 2**53 + 1]
    values = [value for value in values if info.min <= value <= info.max]
    values += [11, -13, 6, 4, 9, -2, 8, 12, 10]
    return np.array(values[:LENGTH], dtype=dtype)


def _uint8_values():
    values = [255, 254, 0, 1, 128, 127, 3, 7, 200, 2, 250, 17]
    return np.array(values * 2, dtype="uint8")


def edge_values(dtype):
    """`LENGTH` values of `dtype`, rich in its edge cases."""
    if dtype == "bool":
        return np.array([True, False, False, True, True, True] * 4)
    if dtype == "uint8":
        return _uint8_values()
    if dtype.startswith("int"):
        return _int_values(dtype)
    return _float_values(dtype)


def second_operand(dtype):
    """A partner for `edge_values(dtype)` in binary ops: the same kinds of
    values in another order. No integer zero, nor the smallest integer, nor
    -1 facing it: kernels die (SIGFPE) dividing those."""
    x = edge_values(dtype)
    if dtype == "bool":
        return ~np.roll(x, 1)
    if dtype == "uint8":
        # 255 + 1, 254 + 2, 0 - 1: wrap-around both ways.
        return np.array([1, 2, 1, 3, 128, 129, 5, 2, 100, 1, 7, 3] * 2, "u1")
    y = np.roll(x, 3)
    if dtype.startswith("int"):
        y = np.where(y == 0, 3, y).astype(dtype)
        y[:4] = [1, 1, -1, 2]
        smallest = np.iinfo(dtype).min
        y = np.where((y == -1) & (x == smallest), 2, y)
        y = np.where(y == smallest, -13, y).astype(dtype)
    return y


# --- Running one call with the tree and with the replaced definitions ---

_SWAPS = None


def _replaced_definitions():
    """(namespace, name, tree value, replaced value) for every global of a
    loaded Keras module that holds a definition the tree replaced."""
    replaced = {}
    for module in list(sys.modules.values()):
        for name, old in getattr(module, "__overlaid__", {}).items():
            new = module.__dict__.get(name)
            if new is not None:
                replaced[id(new)] = (new, old)
    swaps = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("keras.") or module is None:
            continue
        namespace = getattr(module, "__dict__", {})
        for name, value in list(namespace.items()):
            if id(value) in replaced and replaced[id(value)][0] is value:
                swaps.append((namespace, name, value, replaced[id(value)][1]))
    return swaps


@contextlib.contextmanager
def release_definitions():
    """Runs its body with the definitions the tree replaced, everywhere they
    were imported. Not thread-safe: for tests and benchmarks."""
    global _SWAPS
    if _SWAPS is None:
        _SWAPS = _replaced_definitions()
    for namespace, name, _, old in _SWAPS:
        namespace[name] = old
    try:
        yield
    finally:
        for namespace, name, new, _ in _SWAPS:
            namespace[name] = new


def _outcome(call):
    """The NumPy value of `call()`, or the exception's type name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
            if isinstance(result, (list, tuple)):
                return tuple(ops.convert_to_numpy(r) for r in result)
            return ops.convert_to_numpy(result)
    except Exception as error:  # Compared as an outcome, never hidden.
        return type(error).__name__


# --- Comparing results ---


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _float_bits(array):
    """Bits of a float array with every NaN alike and the sign of zero
    dropped: neither is specified for the ops compared here (NumPy, JAX and
    OpenVINO's reference kernels pick differently for `maximum(-0.0, 0.0)`)."""
    array = np.where(np.isnan(array), np.nan, array).astype(array.dtype)
    array = np.where(array == 0, 0, array).astype(array.dtype)
    return array.view(f"u{array.dtype.itemsize}")


def _is_float(array):
    return standardize_dtype(array.dtype).startswith(("float", "bfloat"))


def same_result(a, b):
    """Whether two outcomes are the same: equal exception types, or arrays
    of the same dtype and shape holding the same values."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    a, b = _as_tuple(a), _as_tuple(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype != y.dtype or x.shape != y.shape:
            return False
        if _is_float(x):
            if not np.array_equal(_float_bits(x), _float_bits(y)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def _same_values(x, y):
    """Elementwise: `x` and `y` (same dtype) hold the same value."""
    if _is_float(x):
        return _float_bits(x) == _float_bits(y)
    return x == y


def _close_values(x, y, ulps):
    """Elementwise: `x` holds the reference value `y`, rounded to `x`'s
    dtype: the same NaN and infinities, finite floats within `ulps` units
    in the last place of that dtype, anything else exactly."""
    if not _is_float(x):
        with np.errstate(all="ignore"):
            return x == y.astype(x.dtype)
    info = ml_dtypes.finfo(standardize_dtype(x.dtype))
    with np.errstate(all="ignore"):
        x = x.astype(np.float64)
        y = y.astype(np.float64)
        tolerance = ulps * np.maximum(
            float(info.eps) * np.abs(y), float(info.smallest_subnormal)
        )
        close = np.abs(x - y) <= tolerance
    return close | (np.isnan(x) & np.isnan(y)) | (x == y)


def _aligned(x, y):
    """`y` laid out as `x`, or None: a reference of another shape but as
    many values is compared in C order (both backends may get a shape
    wrong the same way)."""
    y = np.asarray(y)
    if y.dtype.kind in "OUSVc" and not _is_float(y):
        return None
    if y.shape == x.shape:
        return y
    if y.size == x.size:
        return y.reshape(x.shape)
    return None


def _flushed(x, r):
    """Elementwise: `r` is `x` with its subnormals and negative zeros
    flushed to +0.0, as the CPU plugin flushes them when it folds a graph of
    constants at compile time (the release's eager path)."""
    if not _is_float(x):
        return np.zeros(x.shape, bool)
    info = ml_dtypes.finfo(standardize_dtype(x.dtype))
    with np.errstate(all="ignore"):
        tiny = np.abs(x.astype(np.float64)) < float(info.smallest_normal)
    return tiny & (r.astype(np.float64) == 0)


def unexplained_differences(tree, release, expected, ulps=2):
    """How many values of the tree's outcome differ from the release's
    without being the reference's; 0 when the outcomes are the same.

    A value may differ from the release's only where it is the
    reference's value at that position, or where the release's is the
    tree's subnormal or zero flushed to +0.0 (the release's compile-time
    folding flushes them, so its results lose them). With no usable
    reference (none, an error, another size), any difference counts.
    """
    if same_result(tree, release):
        return 0
    if isinstance(tree, str) or isinstance(release, str):
        if isinstance(tree, str) or isinstance(expected, str):
            return 1
        return 0 if matches_reference(tree, expected, ulps) else 1
    tree, release = _as_tuple(tree), _as_tuple(release)
    expected = _as_tuple(expected) if not isinstance(expected, str) else None
    if len(tree) != len(release) or (
        expected is not None and len(expected) != len(tree)
    ):
        return 1
    count = 0
    for index, (x, r) in enumerate(zip(tree, release)):
        x, r = np.asarray(x), np.asarray(r)
        if x.dtype != r.dtype or x.shape != r.shape:
            if expected is None:
                return 1
            count += 0 if matches_reference(x, expected[index], ulps) else 1
            continue
        differs = ~_same_values(x, r) & ~_flushed(x, r)
        y = None if expected is None else _aligned(x, expected[index])
        if y is None:
            count += int(np.count_nonzero(differs))
            continue
        count += int(np.count_nonzero(differs & ~_close_values(x, y, ulps)))
    return count


def matches_reference(result, expected, ulps=2):
    """Whether `result` holds `expected`'s values, of its shape."""
    if isinstance(result, str) or isinstance(expected, str):
        return False
    result, expected = _as_tuple(result), _as_tuple(expected)
    if len(result) != len(expected):
        return False
    for x, y in zip(result, expected):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or y.dtype.kind in "OUSc":
            return False
        if not np.all(_close_values(x, y, ulps)):
            return False
    return True


# --- The ops and how to call them ---


def _square(x):
    return x[:16].reshape(4, 4)


def _matrix(x):
    return x.reshape(4, 6)


# Ops that take more than arrays `x` (and `y`): name -> function of the
# inputs returning the arguments (positional, keyword), passed alike to
# the Keras op and its reference.
ARGUMENTS = {
    "allclose": lambda x, y: ((x, y), {}),
    "amax": lambda x, y: ((x,), {"axis": 0}),
    "amin": lambda x, y: ((x,), {"axis": 0}),
    "append": lambda x, y: ((x, y), {}),
    "argpartition": lambda x, y: ((x, 3), {}),
    "array_split": lambda x, y: ((x, 5), {}),
    "bincount": lambda x, y: ((x,), {}),
    "broadcast_to": lambda x, y: ((x, (2, LENGTH)), {}),
    "cdist": lambda x, y: ((_matrix(x), _matrix(y)), {}),
    "clip": lambda x, y: ((x, -1.5, 2.75), {}),
    "concatenate": lambda x, y: (([x, y],), {}),
    "correlate": lambda x, y: ((x, y[:5]), {}),
    "cross": lambda x, y: ((x[:12].reshape(4, 3), y[:12].reshape(4, 3)), {}),
    "diag": lambda x, y: ((_square(x),), {}),
    "diagflat": lambda x, y: ((x[:5],), {}),
    "diagonal": lambda x, y: ((_square(x),), {}),
    "digitize": lambda x, y: ((x, np.array([-1.0, 0.0, 2.5, 50.0])), {}),
    "dot": lambda x, y: ((_matrix(x), _matrix(y).T), {}),
    "dsplit": lambda x, y: ((x.reshape(2, 2, 6), 2), {}),
    "dstack": lambda x, y: (([x, y],), {}),
    "einsum": lambda x, y: (("ij,jk->ik", _matrix(x), _matrix(y).T), {}),
    "expand_dims": lambda x, y: ((x, 0), {}),
    "extract_sequences": lambda x, y: ((x, 6, 4), {}),
    "flip": lambda x, y: ((_matrix(x),), {"axis": 1}),
    "fliplr": lambda x, y: ((_matrix(x),), {}),
    "flipud": lambda x, y: ((_matrix(x),), {}),
    "full_like": lambda x, y: ((x, 7), {}),
    "get_item": lambda x, y: ((x, slice(2, 9)), {}),
    "heaviside": lambda x, y: ((x, y), {}),
    "hsplit": lambda x, y: ((x, 4), {}),
    "hstack": lambda x, y: (([x, y],), {}),
    "in_top_k": lambda x, y: ((np.array([1, 0, 3, 2]), _matrix(x), 2), {}),
    "inner": lambda x, y: ((x, y), {}),
    "isin": lambda x, y: ((x, y[:6]), {}),
    "ldexp": lambda x, y: ((x, np.arange(-12, 12, dtype="int32")), {}),
    "kron": lambda x, y: ((x[:4], y[:3]), {}),
    "logdet": lambda x, y: ((_square(x),), {}),
    "matmul": lambda x, y: ((_matrix(x), _matrix(y).T), {}),
    "meshgrid": lambda x, y: ((x[:4], y[:3]), {}),
    "moveaxis": lambda x, y: ((_matrix(x), 0, 1), {}),
    "nanpercentile": lambda x, y: ((x, 30.0), {}),
    "nanquantile": lambda x, y: ((x, 0.3), {}),
    "outer": lambda x, y: ((x[:5], y[:4]), {}),
    "pad": lambda x, y: ((x, 2), {}),
    "percentile": lambda x, y: ((x, 30.0), {}),
    "quantile": lambda x, y: ((x, 0.3), {}),
    "repeat": lambda x, y: ((x, 2), {}),
    "reshape": lambda x, y: ((x, (6, 4)), {}),
    "roll": lambda x, y: ((x, 5), {}),
    "rot90": lambda x, y: ((_matrix(x),), {}),
    "searchsorted": lambda x, y: ((np.sort(x), y), {}),
    "segment_max": lambda x, y: ((x, np.arange(LENGTH) // 5), {}),
    "segment_min": lambda x, y: ((x, np.arange(LENGTH) // 5), {}),
    "segment_prod": lambda x, y: ((x, np.arange(LENGTH) // 5), {}),
    "segment_sum": lambda x, y: ((x, np.arange(LENGTH) // 5), {}),
    "slogdet": lambda x, y: ((_square(x),), {}),
    "split": lambda x, y: ((x, 4), {}),
    "squeeze": lambda x, y: ((x.reshape(1, LENGTH),), {}),
    "stack": lambda x, y: (([x, y],), {}),
    "swapaxes": lambda x, y: ((_matrix(x), 0, 1), {}),
    "take": lambda x, y: ((x, np.array([0, 3, 23, 5, 3])), {}),
    "take_along_axis": lambda x, y: (
        (_matrix(x), np.array([[0, 5, 1]] * 4), 1),
        {},
    ),
    "tensordot": lambda x, y: ((_matrix(x), _matrix(y)), {"axes": 2}),
    "tile": lambda x, y: ((x, 2), {}),
    "top_k": lambda x, y: ((x, 3), {}),
    "trace": lambda x, y: ((_square(x),), {}),
    "transpose": lambda x, y: ((_matrix(x),), {}),
    "tril": lambda x, y: ((_matrix(x),), {}),
    "triu": lambda x, y: ((_matrix(x),), {}),
    "vander": lambda x, y: ((x[:5],), {}),
    "vdot": lambda x, y: ((x, y), {}),
    "vsplit": lambda x, y: ((_matrix(x), 2), {}),
    "vstack": lambda x, y: (([x, y],), {}),
    "where": lambda x, y: ((x > y, x, y), {}),
    "select": lambda x, y: (([x > y, x < y], [x, y]), {}),
    # nn ops on a (batch, features) matrix, or with their labels.
    "binary_crossentropy": lambda x, y: ((y, x), {}),
    "categorical_crossentropy": lambda x, y: ((_matrix(y), _matrix(x)), {}),
    "sparse_categorical_crossentropy": lambda x, y: (
        (np.array([1, 0, 5, 2]), _matrix(x)),
        {},
    ),
    "glu": lambda x, y: ((_matrix(x),), {}),
    "layer_normalization": lambda x, y: ((_matrix(x),), {}),
    "rms_normalization": lambda x, y: ((_matrix(x),), {}),
    "log_softmax": lambda x, y: ((_matrix(x),), {}),
    "softmax": lambda x, y: ((_matrix(x),), {}),
    "sparsemax": lambda x, y: ((_matrix(x),), {}),
    "moments": lambda x, y: ((_matrix(x), [1]), {}),
    "normalize": lambda x, y: ((_matrix(x),), {}),
    "batch_normalization": lambda x, y: (
        (_matrix(x), y[:6], np.abs(y[6:12]), 1),
        {},
    ),
    "one_hot": lambda x, y: ((x, 5), {}),
    "multi_hot": lambda x, y: ((_matrix(x), 5), {}),
    "psnr": lambda x, y: ((x, y, 255.0), {}),
    "polar": lambda x, y: ((x, y), {}),
    "threshold": lambda x, y: ((x, 0.5, -1.0), {}),
}

# Ops that take no data, or data of a shape these edge values cannot fill
# (images, sequences, complex numbers), and the reason.
NOT_AUDITED = {
    "arange": "creates values from Python scalars",
    "bartlett": "creates values from a Python int",
    "blackman": "creates values from a Python int",
    "empty": "creates values from a shape",
    "eye": "creates values from Python ints",
    "full": "creates values from a shape and a scalar",
    "geomspace": "creates values from Python scalars",
    "hamming": "creates values from a Python int",
    "hanning": "creates values from a Python int",
    "identity": "creates values from a Python int",
    "kaiser": "creates values from Python scalars",
    "linspace": "creates values from Python scalars",
    "logspace": "creates values from Python scalars",
    "ones": "creates values from a shape",
    "tri": "creates values from Python ints",
    "zeros": "creates values from a shape",
    "ndim": "returns a Python int",
    "size": "returns a Python int",
    "vectorize": "wraps a Python function",
    "unravel_index": "takes indices, not values",
    "view": "reinterprets bits between dtypes",
    "view_as_complex": "complex numbers",
    "view_as_real": "complex numbers",
    "fft": "complex numbers (pairs of arrays)",
    "fft2": "complex numbers (pairs of arrays)",
    "ifft2": "complex numbers (pairs of arrays)",
    "irfft": "complex numbers (pairs of arrays)",
    "rfft": "complex results",
    "stft": "complex results of sequences",
    "istft": "complex input",
    "ctc_decode": "sequences of class scores",
    "ctc_loss": "sequences of class scores",
    "adaptive_average_pool": "images",
    "adaptive_max_pool": "images",
    "average_pool": "images",
    "conv": "images and kernels",
    "conv_transpose": "images and kernels",
    "depth_to_space": "images",
    "depthwise_conv": "images and kernels",
    "dot_product_attention": "query, key and value tensors",
    "fold": "images",
    "max_pool": "images",
    "separable_conv": "images and kernels",
    "space_to_depth": "images",
    "unfold": "images",
}

# Ops that never return on float input, with the replaced definitions as
# with the tree: a graph loop runs Euclid's algorithm, which NaN and
# infinities never end. NumPy refuses float input to both.
FLOAT_INPUT_HANGS = ("gcd", "lcm")


def _scipy_special(name):
    import scipy.special

    return getattr(scipy.special, name)


def _jax_reference(function):
    def reference(*args, **kwargs):
        import jax

        with jax.enable_x64(True):
            converted = [
                jax.numpy.asarray(a) if isinstance(a, np.ndarray) else a
                for a in args
            ]
            result = function(*converted, **kwargs)
            if isinstance(result, (list, tuple)):
                return tuple(np.asarray(r) for r in result)
            return np.asarray(result)

    return reference


def _jax_nn(name):
    def function(*args, **kwargs):
        import jax

        return getattr(jax.nn, name)(*args, **kwargs)

    return _jax_reference(function)


# References where NumPy has no function of the op's name, or a different
# contract.
REFERENCES = {
    "erf": lambda x: _scipy_special("erf")(x),
    "erfc": lambda x: _scipy_special("erfc")(x),
    "erfinv": lambda x: _scipy_special("erfinv")(x),
    "logsumexp": lambda x: _scipy_special("logsumexp")(x),
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "divide_no_nan": lambda x, y: np.where(y == 0, 0, np.divide(x, y)),
    "get_item": lambda x, key: x[key],
    "amax": np.max,
    "amin": np.min,
    "trapezoid": getattr(np, "trapezoid", None),
}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# Activations whose definition is a NumPy formula (JAX, on the CPU, flushes
# subnormal results to zero).
REFERENCES.update(
    {
        "relu": lambda x: np.maximum(x, 0),
        "relu6": lambda x: np.clip(x, 0, 6),
        "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
        "hard_tanh": lambda x: np.clip(x, -1, 1),
        "sigmoid": _sigmoid,
        "silu": lambda x: x * _sigmoid(x),
        "softsign": lambda x: x / (1 + np.abs(x)),
        "threshold": lambda x, threshold, default: np.where(
            x > threshold, x, default
        ),
        "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
        "gelu": lambda x: (
            0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
        ),
        "glu": lambda x: (
            np.split(x, 2, axis=-1)[0] * _sigmoid(np.split(x, 2, axis=-1)[1])
        ),
        "extract_sequences": lambda x, length, stride: np.stack(
            [
                x[start : start + length]
                for start in range(0, x.shape[-1] - length + 1, stride)
            ]
        ),
    }
)
for _name in (
    "sigmoid",
    "softplus",
    "softsign",
    "silu",
    "log_sigmoid",
    "leaky_relu",
    "hard_sigmoid",
    "hard_silu",
    "elu",
    "selu",
    "gelu",
    "celu",
    "glu",
    "softmax",
    "log_softmax",
    "sparse_plus",
    "squareplus",
    "hard_tanh",
    "tanh_shrink",
    "soft_shrink",
    "hard_shrink",
    "sparse_sigmoid",
    "one_hot",
    "standardize",
):
    REFERENCES.setdefault(_name, _jax_nn(_name))


def op_names():
    """The names of every op of `keras.ops` from the audited namespaces."""
    import importlib

    import keras

    names = []
    for namespace in NAMESPACES:
        module = importlib.import_module(f"keras.src.ops.{namespace}")
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and not name.startswith("_")
                and getattr(keras.ops, name, None) is value
            ):
                names.append(name)
    return sorted(set(names))


def _arguments(name, x, y):
    if name in ARGUMENTS:
        return ARGUMENTS[name](x, y)
    import keras

    parameters = inspect.signature(getattr(keras.ops, name)).parameters
    required = [
        p
        for p in parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return ((x, y) if len(required) >= 2 else (x,)), {}


def _reference(name):
    if name in REFERENCES:
        return REFERENCES[name]
    return getattr(np, name, None)


def _in_result_precision(reference, args, kwargs, tree, expected):
    """The reference computed again in the tree's float dtype, where NumPy
    computed it in a narrower one (uint8 input gives NumPy float16 results,
    Keras float32 ones)."""
    if isinstance(tree, str) or isinstance(expected, str):
        return expected
    result, value = _as_tuple(tree)[0], _as_tuple(expected)[0]
    if not (
        _is_float(np.asarray(result))
        and _is_float(np.asarray(value))
        and np.asarray(value).dtype.itemsize < np.asarray(result).dtype.itemsize
    ):
        return expected
    dtype = np.asarray(result).dtype
    args = [
        a.astype(dtype)
        if isinstance(a, np.ndarray) and a.dtype.kind in "biuf"
        else a
        for a in args
    ]
    with np.errstate(all="ignore"):
        return _outcome(lambda: reference(*args, **kwargs))


def audit_call(name, dtype):
    """One op on one dtype's edge values: a dict with the tree's, the
    replaced definitions' and the reference's outcomes and the verdict."""
    import keras

    x, y = edge_values(dtype), second_operand(dtype)
    args, kwargs = _arguments(name, x, y)
    function = getattr(keras.ops, name)
    tree = _outcome(lambda: function(*args, **kwargs))
    with release_definitions():
        release = _outcome(lambda: function(*args, **kwargs))
    record = {"op": name, "dtype": dtype, "tree": tree, "release": release}
    if same_result(tree, release):
        record["verdict"] = "same"
        return record
    reference = _reference(name)
    expected = "no reference"
    if reference is not None:
        if dtype == "bfloat16":
            # NumPy's functions do not know ml_dtypes' bfloat16 (they leave
            # it to `nan_to_num` unchanged, and sum it into NaN): float32.
            args, kwargs = _arguments(
                name, x.astype(np.float32), y.astype(np.float32)
            )
        with np.errstate(all="ignore"):
            expected = _outcome(lambda: reference(*args, **kwargs))
    expected = _in_result_precision(reference, args, kwargs, tree, expected)
    record["reference"] = expected
    record["unexplained"] = unexplained_differences(tree, release, expected)
    if record["unexplained"]:
        record["verdict"] = "regression"
    elif matches_reference(tree, expected):
        record["verdict"] = (
            "both match the reference"
            if matches_reference(release, expected)
            else "fixed"
        )
    else:
        record["verdict"] = "closer to the reference"
    return record


def is_audited(name, dtype):
    """Whether the audit calls op `name` on `dtype` edge values."""
    if name in NOT_AUDITED:
        return False
    return not (name in FLOAT_INPUT_HANGS and "float" in dtype)


def audit(names=None, dtypes=DTYPES):
    names = op_names() if names is None else names
    return [
        audit_call(name, dtype)
        for name in names
        for dtype in dtypes
        if is_audited(name, dtype)
    ]


def main():
    """Writes `docs/records/eager_audit.md`: per dtype, how many ops are the
    release's, and the ops whose results differ from it."""
    import collections
    import datetime

    from tools import suite_runner

    started = datetime.datetime.now(datetime.timezone.utc)
    records = audit()
    by_dtype = collections.defaultdict(collections.Counter)
    named = collections.defaultdict(list)
    for record in records:
        by_dtype[record["dtype"]][record["verdict"]] += 1
        if record["verdict"] != "same":
            named[record["verdict"]].append(
                f"{record['op']}[{record['dtype']}]"
            )
    verdicts = (
        "same",
        "fixed",
        "both match the reference",
        "closer to the reference",
        "regression",
    )
    command = [sys.executable, "-m", "integration_tests.openvino_eager_audit"]
    lines = suite_runner.header(
        "Eager ops: this tree against the release and NumPy", command, started
    )
    lines += ["", "| dtype | " + " | ".join(verdicts) + " |"]
    lines.append("|---|" + "---:|" * len(verdicts))
    for dtype, counts in by_dtype.items():
        cells = " | ".join(str(counts[verdict]) for verdict in verdicts)
        lines.append(f"| {dtype} | {cells} |")
    for verdict in verdicts[1:]:
        lines += ["", f"{verdict}: {', '.join(named[verdict]) or 'none'}"]
    output = suite_runner.ROOT / "docs" / "records" / "eager_audit.md"
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(output.read_text())


if __name__ == "__main__":
    main()
