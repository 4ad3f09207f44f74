"""The suite runner's reading of reports, comparison, reruns and lists."""

import datetime

from tools import suite_runner as runner

TESTS = """import os, unittest
class T(unittest.TestCase):
    def test_lost(self): assert "{0}" == "before"
    def test_won(self): assert "{0}" == "after"
    def test_flaky(self):  # Passes once before, then fails on both sides.
        assert "{0}" == "before" and not os.path.exists("ran")
        open("ran", "w").close()
"""


def test_ids_whatever_the_root_and_the_record_header(tmp_path):
    case = '<testcase classname="{}" name="t" file="{}keras/src/a_test.py">'
    for name, prefix in ("a", "/venv/lib/site-packages/"), ("b", "../"):
        cases = case.format(f"{name}.T", prefix) + "<skipped/></testcase>"
        cases += case.format("", prefix) + "<error/></testcase>"
        (tmp_path / f"{name}.xml").write_text(f"<x>{cases}</x>")
    found = runner.outcomes(tmp_path / "a.xml")
    assert found == runner.outcomes(tmp_path / "b.xml") and len(found) == 2
    assert found["keras.src.a_test::T::t"] == "skipped"
    assert found["collect keras.src.a_test"] == "error"
    assert runner.outcomes(tmp_path / "c.xml") == {"run c": "error"}
    xfail = case.format("d.T", "") + '<skipped type="pytest.xfail"/></testcase>'
    (tmp_path / "d.xml").write_text(f"<x>{xfail}</x>")
    assert runner.outcomes(tmp_path / "d.xml") == {
        "keras.src.a_test::T::t": "xfailed"
    }
    start = datetime.datetime(2026, 12, 3, 4, 5, tzinfo=datetime.UTC)
    head = "\n".join(runner.header("T", ["x"], start)).split("\n")
    assert head[:3] == ["# T", "", "- command: `x` (from the root)"]
    assert head[3] == "- date: 2026-12-03 04:05 UTC" and "openvino " in head[5]
    assert len(head[4].split()[2]) == 40  # The commit.


def test_reruns_and_the_excluded_list(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "RERUNS", 2)
    sides, listings = [], []
    for label in ("before", "after"):
        (tmp_path / label / "keras").mkdir(parents=True)
        (tmp_path / label / "keras/a_test.py").write_text(TESTS.format(label))
        listings.append(tmp_path / label / "excluded.txt")
        listings[-1].write_text("# Kept:\nT::test_won\nT::test_flaky\n")
        sides.append(runner.Side(label, tmp_path / label, runner.BASE))
    lines, failed = runner.report(tmp_path, sides, ["keras"], (), listings)
    assert failed == ["keras.a_test::T::test_lost", "T::test_won must go"]
    assert "- `keras.a_test::T::test_flaky: 2, 2`" in lines
    assert "| after | 3 | 1 | 2 | 0 | 0 |" in lines
    assert "- `T::test_won`: 1 of 1 fail; passed; True" in lines
    assert listings[1].read_text().endswith("test_flaky\n")  # Restored.
