"""The suite runner's reading of reports, comparison, reruns and lists."""

import datetime

from tools import suite_runner as runner

CASE = '<testcase classname="{}keras.src.a_test.T" name="test_{}" file="{}"'
TESTS = """import os, unittest
class T(unittest.TestCase):
    def test_regressed(self):
        assert "{0}" == "before"
    def test_flaky(self):  # Passes once before, then fails on both sides.
        assert "{0}" == "before" and not os.path.exists("ran")
        open("ran", "w").close()
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
        (tmp_path / f"{name}.log").write_text("")
    (tmp_path / "a.log").write_text("ERROR collecting /x/keras/src/b_test.py")
    found = runner.outcomes(tmp_path / "a.xml")
    assert found.pop("collect keras.src.b_test") == "error"
    assert found == runner.outcomes(tmp_path / "b.xml")
    assert list(found.values()) == ["passed", "failed", "skipped"]
    assert runner.outcomes(tmp_path / "c.xml") == {"run c": "error"}


def test_reruns_and_the_excluded_list(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "RERUNS", 2)
    sides, listings = [], []
    for label in ("before", "after"):
        (tmp_path / label / "keras").mkdir(parents=True)
        (tmp_path / label / "keras/a_test.py").write_text(TESTS.format(label))
        listings.append(tmp_path / label / "excluded.txt")
        listings[-1].write_text("# Kept:\nT::test_fixed\nT::test_flaky\n")
        sides.append(runner.Side(label, tmp_path / label, runner.environment()))
    lines, failed = runner.report(tmp_path, sides, ["keras"], (), listings)
    assert failed == [
        "keras.a_test::T::test_regressed",
        "T::test_fixed must go",
    ]
    assert "- `keras.a_test::T::test_flaky: 2, 2`" in lines
    assert "| after | 3 | 1 | 2 | 0 |" in lines
    assert "| `T::test_fixed` | 1 of 1 fail | passed | kept |" in lines
    assert listings[1].read_text().endswith("test_flaky\n")  # Restored.
    results = {"m::T::test_e": "failed", "m::T::test_eh": "passed"}
    assert runner.entry_outcome("T::test_e", results) == "1 of 2 fail"
    assert runner.entry_outcome("U", results) == "not run"


def test_a_record_starts_with_command_date_commit_and_machine():
    started = datetime.datetime(2026, 12, 3, 4, 5, tzinfo=datetime.UTC)
    lines = runner.header("Title", ["python", "-m", "x"], started)
    assert lines[:4] == [
        "# Title",
        "",
        lines[2],
        "- date: 2026-12-03 04:05 UTC",
    ]
    assert "`python -m x`" in lines[2] and len(lines[4].split()[2]) == 40
    assert " cores, " in lines[5] and "openvino " in lines[5]
    checks = (
        "release_suite tag upstream_numpy upstream_full nightly keras_suite"
    )
    assert set(runner.CHECKS) == set(checks.split())
