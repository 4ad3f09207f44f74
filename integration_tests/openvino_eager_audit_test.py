"""The rule of the backend's eager path, checked against the release.

With this tree, no eager op returns a different result from the Keras
release's unless it is NumPy's (JAX's where NumPy has no such function).
The normal run audits every op on float32, int32, uint8 and bool edge
values; `EAGER_AUDIT=long` adds float16, bfloat16, float64 and int64.
"""

import os

import numpy as np
import pytest
from absl.testing import parameterized

from keras.src import backend
from keras.src import testing

pytestmark = pytest.mark.skipif(
    backend.backend() != "openvino",
    reason="Tests the OpenVINO backend's own implementation.",
)

if backend.backend() == "openvino":
    from integration_tests import openvino_eager_audit as eager_audit

QUICK_DTYPES = ("float32", "int32", "uint8", "bool")
LONG_DTYPES = ("float16", "bfloat16", "float64", "int64")


def _describe(record):
    def short(value):
        if isinstance(value, str):
            return value
        value = value[0] if isinstance(value, tuple) else value
        return np.array2string(np.asarray(value).ravel()[:24], threshold=30)

    return (
        f"{record['op']}[{record['dtype']}]: {record['unexplained']} values\n"
        f"  tree:      {short(record['tree'])}\n"
        f"  release:   {short(record['release'])}\n"
        f"  reference: {short(record['reference'])}"
    )


class EagerAuditTest(testing.TestCase):
    def assertNoRegression(self, dtype):
        records = eager_audit.audit(dtypes=(dtype,))
        self.assertGreater(len(records), 200)
        regressions = [r for r in records if r["verdict"] == "regression"]
        self.assertEqual(
            regressions,
            [],
            "\n".join(_describe(record) for record in regressions),
        )

    @parameterized.named_parameters((dtype, dtype) for dtype in QUICK_DTYPES)
    def test_no_op_differs_from_the_release_unless_it_is_numpy_s(self, dtype):
        self.assertNoRegression(dtype)

    @parameterized.named_parameters((dtype, dtype) for dtype in LONG_DTYPES)
    def test_long_profile(self, dtype):
        if os.environ.get("EAGER_AUDIT") != "long":
            # The quick run still audits these dtypes on a few ops.
            records = [
                eager_audit.audit_call(name, dtype)
                for name in ("add", "exp", "max", "nan_to_num", "argmax")
            ]
            verdicts = [record["verdict"] for record in records]
            self.assertNotIn("regression", verdicts)
            return
        self.assertNoRegression(dtype)

    def test_every_op_is_audited_or_named_with_a_reason(self):
        names = set(eager_audit.op_names())
        self.assertGreater(len(names), 280)
        self.assertEqual(set(eager_audit.NOT_AUDITED) - names, set())
        for name in set(eager_audit.ARGUMENTS) - names:
            self.fail(f"ARGUMENTS names {name}, which keras.ops lacks")

    def test_the_release_definitions_are_put_back(self):
        from keras.src.backend.openvino import core
        from keras.src.backend.openvino import numpy as openvino_numpy

        tree_convert = core.convert_to_numpy
        with eager_audit.release_definitions():
            self.assertIs(
                core.convert_to_numpy,
                core.__overlaid__["convert_to_numpy"],
            )
            self.assertIs(
                backend.convert_to_numpy, core.__overlaid__["convert_to_numpy"]
            )
            self.assertIs(
                openvino_numpy.nan_to_num,
                openvino_numpy.__overlaid__["nan_to_num"],
            )
        self.assertIs(core.convert_to_numpy, tree_convert)
        self.assertIs(backend.convert_to_numpy, tree_convert)


class ComparisonTest(testing.TestCase):
    """The audit's own judgement, on made-up outcomes."""

    @parameterized.named_parameters(
        ("same", [1.0, 2.0], [1.0, 2.0], [9.0, 9.0], 0),
        ("numpy_s", [np.nan, 2.0], [0.0, 2.0], [np.nan, 2.0], 0),
        ("neither", [3.0, 2.0], [0.0, 2.0], [np.nan, 2.0], 1),
        ("flushed_subnormal", [1e-45, 2.0], [0.0, 2.0], [5.0, 5.0], 0),
        ("sign_of_zero", [-0.0, 2.0], [0.0, 2.0], [5.0, 5.0], 0),
        ("within_two_ulps", [1.0000001, 1.0], [1.5, 1.0], [1.0, 1.0], 0),
        ("beyond_two_ulps", [1.000001, 1.0], [1.5, 1.0], [1.0, 1.0], 1),
    )
    def test_float32_values(self, tree, release, reference, expected):
        tree, release, reference = (
            np.array(v, "float32") for v in (tree, release, reference)
        )
        self.assertEqual(
            eager_audit.unexplained_differences(tree, release, reference),
            expected,
        )

    def test_outcomes_of_another_dtype_or_shape_differ(self):
        x = np.arange(4, dtype="int32")
        self.assertFalse(eager_audit.same_result(x, x.astype("int64")))
        self.assertFalse(eager_audit.same_result(x, x.reshape(2, 2)))
        self.assertEqual(
            eager_audit.unexplained_differences(x, x + 1, "no reference"), 4
        )

    def test_errors_are_outcomes(self):
        x = np.arange(4, dtype="int32")
        self.assertTrue(eager_audit.same_result("ValueError", "ValueError"))
        self.assertEqual(
            eager_audit.unexplained_differences("ValueError", x, x), 1
        )
        self.assertEqual(
            eager_audit.unexplained_differences(x, "RuntimeError", x), 0
        )
