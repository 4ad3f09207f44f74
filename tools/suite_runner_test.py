"""The suite runner's reading of JUnit reports, comparison and record."""

import datetime
import sys

from tools import suite_checks
from tools import suite_runner

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
    tree = suite_runner.outcomes(
        write(tmp_path, "tree.xml", ".venv.lib.", "/a/site-packages/", "")
    )
    release = suite_runner.outcomes(
        write(tmp_path, "release.xml", "", "../../site-packages/", "")
    )
    assert tree == release
    assert tree["keras.src.ops.core_test::CoreTest::test_a"] == "passed"
    assert tree["keras.src.ops.core_test::CoreTest::test_c"] == "skipped"


def test_a_test_failing_only_with_the_tree_is_a_regression(tmp_path):
    failure = '<failure message="boom"/>'
    tree = suite_runner.outcomes(
        write(tmp_path, "tree.xml", "", "/x/", failure)
    )
    release = suite_runner.outcomes(
        write(tmp_path, "release.xml", "", "/y/", "")
    )
    modules = ["keras.src.ops.core_test"]
    rows, regressions, newly_passing = suite_runner.summarize(
        tree, release, modules
    )
    assert regressions == ["keras.src.ops.core_test::CoreTest::test_b"]
    assert newly_passing == []
    row = rows["keras.src.ops.core_test"]
    assert row["tests"] == 3
    assert row["after failed"] == 1
    assert row["before passed"] == 2
    _, regressions, newly_passing = suite_runner.summarize(
        release, tree, modules
    )
    assert regressions == []
    assert newly_passing == ["keras.src.ops.core_test::CoreTest::test_b"]


def test_collection_errors_and_missing_reports(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "ERROR collecting ../lib/site-packages/keras/src/a/b_test.py\n"
        "ImportError while importing test module '/x/keras/src/c_test.py'\n"
    )
    report = write(tmp_path, "run.xml", "", "/x/", "")
    results = suite_runner.outcomes(report, log)
    assert results["collect keras.src.a.b_test"] == "error"
    assert results["collect keras.src.c_test"] == "error"
    assert suite_runner.outcomes(tmp_path / "none.xml") == {"run none": "error"}


def test_an_entry_passes_only_when_all_its_tests_pass():
    results = {
        "m::LinalgTest::test_eig": "failed",
        "m::LinalgTest::test_eigh": "passed",
        "m::LinalgTest::test_pinv": "passed",
        "m::LinalgTest::test_qr": "skipped",
    }
    assert suite_runner.entry_outcome("LinalgTest::test_eig", results) == (
        "1 of 2 fail"
    )
    assert suite_runner.entry_outcome("test_pinv", results) == "passed"
    assert suite_runner.entry_outcome("test_qr", results) == "skipped"
    assert suite_runner.entry_outcome("Other", results) == "not collected"


def test_a_side_finds_a_test_module_under_its_source(tmp_path):
    side = suite_runner.Side("tree", tmp_path, {}, source=tmp_path / "site")
    node = side.node("keras.src.ops.core_test::CoreTest::test_a[x-1]")
    assert node == (
        f"{tmp_path}/site/keras/src/ops/core_test.py::CoreTest::test_a[x-1]"
    )


def test_a_record_starts_with_command_date_commit_and_machine():
    started = datetime.datetime(2026, 12, 3, 4, 5, tzinfo=datetime.UTC)
    lines = suite_runner.header(
        "Title", [sys.executable, "-m", "tools.suite_runner", "tag"], started
    )
    assert lines[0] == "# Title"
    assert lines[2].startswith("- command: `")
    assert "-m tools.suite_runner tag`" in lines[2]
    assert lines[3] == "- date: 2026-12-03 04:05 UTC"
    assert len(lines[4].split()[2]) == 40  # The full commit hash.
    assert " cores, " in lines[5] and "openvino " in lines[5]


def test_every_check_is_named_and_described():
    assert set(suite_checks.CHECKS) == {
        "release_suite",
        "tag",
        "upstream_numpy",
        "upstream_full",
        "nightly",
    }
    for tests in suite_checks.UPSTREAM_TARGETS.values():
        assert tests[0] == "keras" or tests[0].endswith("_test.py")
    # The tag's tests are the release's or the tree's (the series adds them).
    root, _ = suite_checks.export_patch.installed_keras_root()
    for test in suite_checks.TAG_TESTS:
        assert (suite_runner.TREE_ROOT / test).is_file() or (
            root / test
        ).is_file()
