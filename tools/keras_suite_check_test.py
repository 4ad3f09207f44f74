"""The suite check's reading of pytest's reports and logs."""

from tools import keras_suite_check

REPORT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="keras.src.ops.numpy_test.NanToNumExactTest" name="a"/>
<testcase classname="" name="b"><failure message="x">E</failure></testcase>
<testcase classname="C" name="c"><error message="y">E</error></testcase>
<testcase classname="C" name="d"><skipped message="no x64"/></testcase>
<testcase classname="C" name="e"><skipped message="no x64"/></testcase>
</testsuite></testsuites>
"""

LOG = """\
E   NameError: name 'operation_fn' is not defined
E       assert 1 == 2
E   NameError: name 'operation_fn' is not defined
E           TypeError: `nan` must be a real number
"""


def test_counts_and_failed_ids(tmp_path):
    report = tmp_path / "run.xml"
    report.write_text(REPORT)
    result, failed, skips = keras_suite_check.counts(report)
    assert result == {"passed": 1, "failed": 1, "errors": 1, "skipped": 2}
    assert failed == ["::b", "C::c"]
    assert skips == {"no x64": 2}


def test_missing_report_counts_nothing(tmp_path):
    result, failed, skips = keras_suite_check.counts(tmp_path / "none.xml")
    assert sum(result.values()) == 0 and failed == [] and skips == {}


def test_error_lines_most_frequent_first(tmp_path):
    (tmp_path / "run.log").write_text(LOG)
    assert keras_suite_check.error_lines(tmp_path / "run.xml") == [
        ("NameError: name 'operation_fn' is not defined", 2),
        ("TypeError: `nan` must be a real number", 1),
    ]


def test_mend_replaces_once_and_reports(tmp_path):
    path = tmp_path / "keras/src/models/functional.py"
    path.parent.mkdir(parents=True)
    _, old, new, _ = keras_suite_check.FUNCTIONAL_MEND
    path.write_text("class Functional:\n    def call(self, inputs):\n" + old)
    assert keras_suite_check.mend(
        tmp_path, *keras_suite_check.FUNCTIONAL_MEND[:3]
    )
    assert path.read_text().endswith(new)
    assert not keras_suite_check.mend(
        tmp_path, *keras_suite_check.FUNCTIONAL_MEND[:3]
    )
