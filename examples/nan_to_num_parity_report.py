"""Checks `keras.ops.nan_to_num` on OpenVINO against NumPy, bit for bit.

For each dtype, runs the op on the dtype's special values (NaN of both
signs, infinities, signed zeros, the largest and smallest normals,
subnormals, 1 + eps, ...) with the default and with custom replacement
values, and prints how many results match the reference bit for bit:
NumPy's, or JAX's for bfloat16, which NumPy leaves unchanged.

Run from the tree's root: `python -m examples.nan_to_num_parity_report`.
"""

import os
import sys

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


def count_matches(dtype):
    """(matching values, values) over every set of replacement values."""
    matches = total = 0
    x = report_values(dtype)
    for kwargs in parity.REPLACEMENTS.values():
        expected = parity.reference_nan_to_num(x, **kwargs)
        actual = keras.ops.convert_to_numpy(keras.ops.nan_to_num(x, **kwargs))
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
    print(f"{'dtype':<10} {'bit-exact':>10} {'values':>7}")
    all_match = True
    dtypes = parity.FLOAT_DTYPES + parity.FLOAT8_DTYPES + parity.INT_DTYPES
    for dtype in dtypes + ["bool"]:
        matches, total = count_matches(dtype)
        all_match &= matches == total
        mark = "" if matches == total else "  MISMATCH"
        print(f"{dtype:<10} {matches:>10} {total:>7}{mark}")
    print("all bit-exact" if all_match else "some results differ from NumPy")
    return 0 if all_match else 1


if __name__ == "__main__":
    sys.exit(main())
