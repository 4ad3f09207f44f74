"""The whole-suite comparison's reading of JUnit reports."""

from tools import release_suite_check

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="{prefix}keras.src.ops.core_test.CoreTest" name="test_a"
 file="{path}keras/src/ops/core_test.py"/>
<testcase classname="{prefix}keras.src.ops.core_test.CoreTest" name="test_b"
 file="{path}keras/src/ops/core_test.py">{b}</testcase>
<testcase classname="{prefix}keras.src.ops.core_test.CoreTest" name="test_c"
 file="{path}keras/src/ops/core_test.py"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def write(tmp_path, name, prefix, path, b):
    report = tmp_path / name
    report.write_text(REPORT.format(prefix=prefix, path=path, b=b))
    return report


def test_the_same_test_under_two_roots_has_one_id(tmp_path):
    tree = release_suite_check.outcomes(
        write(tmp_path, "tree.xml", ".venv.lib.", "/a/site-packages/", "")
    )
    release = release_suite_check.outcomes(
        write(tmp_path, "release.xml", "", "../../site-packages/", "")
    )
    assert tree == release
    assert tree["keras.src.ops.core_test::CoreTest::test_a"] == "passed"
    assert tree["keras.src.ops.core_test::CoreTest::test_c"] == "skipped"


def test_a_test_failing_only_with_the_tree_is_a_regression(tmp_path):
    failure = '<failure message="boom"/>'
    tree = release_suite_check.outcomes(
        write(tmp_path, "tree.xml", "", "/x/", failure)
    )
    release = release_suite_check.outcomes(
        write(tmp_path, "release.xml", "", "/y/", "")
    )
    modules = ["keras.src.ops.core_test"]
    rows, regressions, newly_passing = release_suite_check.summarize(
        tree, release, modules
    )
    assert regressions == ["keras.src.ops.core_test::CoreTest::test_b"]
    assert newly_passing == []
    row = rows["keras.src.ops.core_test"]
    assert row["tests"] == 3
    assert row["tree failed"] == 1
    assert row["release passed"] == 2
    _, regressions, newly_passing = release_suite_check.summarize(
        release, tree, modules
    )
    assert regressions == []
    assert newly_passing == ["keras.src.ops.core_test::CoreTest::test_b"]
