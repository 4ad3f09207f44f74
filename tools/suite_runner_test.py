"""The suite runner's reading of reports, comparison, reruns and lists."""

import datetime
import sys

from tools import suite_runner as runner

CASE = '<testcase classname="{}keras.src.a_test.T" name="test_{}" file="{}"'
TESTS = """import os, unittest
class T(unittest.TestCase):
    def test_regressed(self):
        assert "{0}" == "before"
    def test_flaky(self):  # Passes once before, then fails on both sides.
        first = not os.path.exists("ran")
        open("ran", "w").close()
        assert "{0}" == "before" and first
    def test_fixed(self):
        assert "{0}" == "after"
"""


def test_one_id_per_test_whatever_the_root(tmp_path):
    for prefix, path, name in ((".venv.lib.", "/v/", "a"), ("", "../", "b")):
        file = f"{path}site-packages/keras/src/a_test.py"
        cases = [CASE.format(prefix, "p", file) + "/>"]
        cases.append(CASE.format(prefix, "f", file) + "><failure/></testcase>")
        cases.append(CASE.format(prefix, "s", file) + "><skipped/></testcase>")
        (tmp_path / f"{name}.xml").write_text(f"<x>{''.join(cases)}</x>")
    (tmp_path / "a.log").write_text("ERROR collecting /x/keras/src/b_test.py")
    found = runner.outcomes(tmp_path / "a.xml")
    assert found.pop("collect keras.src.b_test") == "error"
    assert found == runner.outcomes(tmp_path / "b.xml")
    assert list(found.values()) == ["passed", "failed", "skipped"]
    assert runner.outcomes(tmp_path / "c.xml") == {"run c": "error"}


def test_one_sided_failures_are_rerun_on_both_sides(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "RERUNS", 2)
    sides = []
    for label in ("before", "after"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a_test.py").write_text(TESTS.format(label))
        sides.append(runner.Side(label, tmp_path / label, runner.environment()))
    lines, regressions, _ = runner.compare(
        *sides, ["a_test.py"], tmp_path, "the change"
    )
    assert regressions == ["a_test::T::test_regressed"]
    flaky = lines.index("- `a_test::T::test_flaky: 2, 2`")
    assert (
        lines[flaky - 1].startswith("Flaky") and lines[flaky - 1][-3:] == " 1."
    )
    assert "- `a_test::T::test_fixed`" in lines
    assert "| after | 3 | 1 | 2 | 0 | 0 |" in lines


def test_entries_the_change_makes_pass_must_be_removed(tmp_path):
    sides, listings = [], {}
    for label in ("before", "after"):
        (tmp_path / label / "keras").mkdir(parents=True)
        test = TESTS.replace("test_flaky", "test_other").format(label)
        (tmp_path / label / "keras" / "a_test.py").write_text(test)
        listings[label] = tmp_path / label / "excluded.txt"
        listings[label].write_text("# Kept:\nT::test_fixed\nT::test_other\n")
        sides.append(runner.Side(label, tmp_path / label, runner.environment()))
    lines, unremoved = runner.excluded(*sides, listings, tmp_path)
    assert unremoved == ["T::test_fixed"]
    assert "| `T::test_fixed` | 1 of 1 fail | passed | kept |" in lines
    assert listings["after"].read_text().endswith("test_other\n")
    listings["after"].write_text("T::test_other\n")
    assert runner.excluded(*sides, listings, tmp_path)[1] == []
    results = {"m::T::test_e": "failed", "m::T::test_eh": "passed"}
    assert runner.entry_outcome("T::test_e", results) == "1 of 2 fail"
    assert runner.entry_outcome("test_eh", results) == "passed"
    assert runner.entry_outcome("U", results) == "not collected"


def test_a_record_starts_with_command_date_commit_and_machine():
    started = datetime.datetime(2026, 12, 3, 4, 5, tzinfo=datetime.UTC)
    command = [sys.executable, "-m", "tools.suite_runner", "tag"]
    lines = runner.header("Title", command, started)
    assert lines[0] == "# Title" and "suite_runner tag` (from" in lines[2]
    assert lines[3] == "- date: 2026-12-03 04:05 UTC"
    assert len(lines[4].split()[2]) == 40  # The full commit hash.
    assert " cores, " in lines[5] and "openvino " in lines[5]
    checks = (
        "release_suite tag upstream_numpy upstream_full nightly keras_suite"
    )
    assert set(runner.CHECKS) == set(checks.split())
