"""Checks `keras.ops.nan_to_num` on OpenVINO against NumPy, bit for bit.

For each dtype, runs the op on the dtype's special values (NaN of both
signs, infinities, signed zeros, the largest and smallest normals,
subnormals, 1 + eps, ...) with the default and with custom replacement
values, eagerly and inside a Keras model's `predict`, and prints how many
results match the reference bit for bit: NumPy's, or JAX's for bfloat16,
which NumPy leaves unchanged. The CPU plugin's known limits in a compiled
model are named where they show and do not fail the report.

Run from the tree's root: `python -m examples.nan_to_num_parity_report`.
"""

import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "openvino")

import numpy as np  # noqa: E402

import keras  # noqa: E402

# The parity tests' own special values and references.
from keras.src.backend.openvino import numpy_test as parity  # noqa: E402


def report_values(dtype):
    if dtype in parity.FLOAT_DTYPES + parity.FLOAT8_DTYPES:
        return parity.special_values(dtype)
    if dtype == "bool":
        return np.array([True, False])
    info = np.iinfo(dtype)
    return np.array([info.min, -1 if info.min else 0, 0, 1, info.max], dtype)


# Known limits of the CPU plugin in a compiled model (the README's).
GRAPH_LIMITS = {
    "float64": "float32 (Keras casts the data; openvino#34138)",
    "bfloat16": "subnormals flushed on CPUs with BF16 instructions",
}


def eager(x, **kwargs):
    return keras.ops.convert_to_numpy(keras.ops.nan_to_num(x, **kwargs))


def in_a_model(x, **kwargs):
    dtype = keras.backend.standardize_dtype(x.dtype)
    inputs = keras.Input(x.shape, dtype=dtype)
    # A float layer computes in its dtype; an integer one (whose names
    # "int8" and "float8" are quantization modes) passes its input on.
    layer_dtype = dtype if dtype in parity.FLOAT_DTYPES else None
    layer = keras.layers.Lambda(
        lambda t: keras.ops.nan_to_num(t, **kwargs), dtype=layer_dtype
    )
    model = keras.Model(inputs, layer(inputs))
    with warnings.catch_warnings():
        # float64's: Keras's cast of the data, and the backend's warning.
        warnings.simplefilter("ignore")
        return model.predict(x[None], verbose=0)[0]


def count_matches(dtype, run):
    """(matching values, values) over every set of replacement values."""
    matches = total = 0
    x = report_values(dtype)
    for kwargs in parity.REPLACEMENTS.values():
        expected = parity.reference_nan_to_num(x, **kwargs)
        actual = run(x, **kwargs)
        as_bits = f"u{expected.dtype.itemsize}"
        same_dtype = actual.dtype == expected.dtype
        if same_dtype and actual.shape == expected.shape:
            matches += int(
                np.sum(actual.view(as_bits) == expected.view(as_bits))
            )
        total += expected.size
    return matches, total


def main():
    print(
        f"keras {keras.__version__} on backend {keras.backend.backend()}; "
        f"{len(parity.REPLACEMENTS)} sets of replacement values"
    )
    print("values bit-exact eagerly and in a model's `predict`, of all")
    print(f"{'dtype':<14} {'eagerly':>8} {'predict':>8} {'values':>7}")
    all_match = True
    dtypes = parity.FLOAT_DTYPES + parity.FLOAT8_DTYPES + parity.INT_DTYPES
    for dtype in dtypes + ["bool"]:
        matches, total = count_matches(dtype, eager)
        all_match &= matches == total
        note = "" if matches == total else "  MISMATCH"
        if dtype in parity.FLOAT8_DTYPES:
            # Keras has no float8 layer dtype, so no float8 model.
            in_model = "n/a"
        else:
            in_model, _ = count_matches(dtype, in_a_model)
            if in_model != total and dtype in GRAPH_LIMITS:
                note += f"  known limit in a model: {GRAPH_LIMITS[dtype]}"
            elif in_model != total:
                all_match = False
                note += "  MISMATCH in a model"
        print(f"{dtype:<14} {matches:>8} {in_model:>8} {total:>7}{note}")
    print(
        "all bit-exact but the known limits"
        if all_match
        else "some results differ from NumPy"
    )
    return 0 if all_match else 1


if __name__ == "__main__":
    sys.exit(main())
