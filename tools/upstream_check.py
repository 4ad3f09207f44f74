"""The report of `tools/upstream_check.sh`: keras-openvino's CI flow before
and after the patch series, from the JUnit reports in its work folder.

    python -m tools.upstream_check --work DIR --scope numpy|full --seconds S
"""

import argparse
import collections
import pathlib
import sys
from xml.etree import ElementTree

from tools import release_suite_check

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]


def default_output(scope):
    return TREE_ROOT / "tools" / f"upstream_check_{scope}.md"


SCOPES = {
    "numpy": "`keras/src/ops/numpy_test.py` only",
    "full": "`pytest keras` without `keras/src/applications` and "
    "`keras/src/wrappers`",
}


def read(report, log):
    if not report.is_file():
        return {f"run {report.stem}": "error"}
    return release_suite_check.outcomes(report, log)


def entry_outcome(entry, results):
    """`passed` when every test the entry names passes."""
    matching = [o for test_id, o in results.items() if entry in test_id]
    if not matching:
        return "not collected"
    failed = sum(outcome in ("failed", "error") for outcome in matching)
    if failed:
        return f"{failed} of {len(matching)} fail"
    if all(outcome == "passed" for outcome in matching):
        return "passed"
    return "skipped"


def excluded_section(before, after, entries, kept, listing):
    """The report's lines on the excluded list `listing`: each entry's
    outcome before and after (its tests run with the list emptied), and
    the entries that pass only after but that `kept` still lists."""
    lines = [
        "",
        f"{listing}, each entry's tests run with the list emptied:",
        "",
        "| entry | before | after | after the series, the entry is |",
        "|---|---|---|---|",
    ]
    unremoved, stale = [], []
    for entry in entries:
        before_outcome = entry_outcome(entry, before)
        outcome = entry_outcome(entry, after)
        lines.append(
            f"| `{entry}` | {before_outcome} | {outcome} | "
            f"{'kept' if entry in kept else 'removed'} |"
        )
        if outcome == "passed" and entry in kept:
            if before_outcome == "passed":
                stale.append(entry)
            else:
                unremoved.append(entry)
    not_collected = sorted(
        test_id.removeprefix("collect ")
        for test_id in set(before) | set(after)
        if test_id.startswith("collect ")
    )
    lines += release_suite_check.titled_list(
        "Modules with excluded tests that cannot be collected in this "
        "environment (the run's log says why)",
        not_collected,
    )
    lines += release_suite_check.titled_list(
        "Entries the series makes pass but keeps", unremoved
    )
    lines += release_suite_check.titled_list(
        "Entries that pass with the list emptied, with or without the "
        "series (left for the backend's maintainers)",
        stale,
    )
    return lines, unremoved


# The snapshot of Keras's `pluggable_backend` branch calls an undefined
# `operation_fn` in `Functional.call` (keras/src/models/functional.py):
# every call of a functional or sequential model fails with this, on any
# backend, before and after the series.
BRANCH_FAILURE = "NameError: name 'operation_fn' is not defined"


def failure_messages(report):
    """The failures and errors of a JUnit report, counted by message."""
    messages = collections.Counter()
    if report.is_file():
        for case in ElementTree.parse(report).iter("testcase"):
            for child in case:
                if child.tag in ("failure", "error"):
                    message = (child.get("message") or child.tag).split("\n")
                    messages[message[0][:160]] += 1
    return messages


def test_run_lines(title, report, log):
    """A test run's counts, its failures by message, and how many failures
    are not the branch's."""
    results = read(report, log)
    counts = collections.Counter(results.values())
    failed = counts["failed"] + counts["error"]
    messages = failure_messages(report)
    unexplained = sum(
        count
        for message, count in messages.items()
        if message != BRANCH_FAILURE
    )
    lines = [
        f"- {title}: {counts['passed']} passed, {failed} failed or error, "
        f"{counts['skipped']} skipped; failures other than the branch's: "
        f"{unexplained}."
    ]
    lines += [
        f"  - {count}: `{message}`" for message, count in messages.items()
    ]
    return lines, unexplained


def series_section(work):
    """The series' own tests (`pytest keras_openvino integration_tests` in
    the patched keras-openvino), after each patch and after all."""
    lines = [
        "",
        "The series' own tests, `pytest keras_openvino integration_tests` "
        "in keras-openvino patched up to each patch (the snapshot of "
        f"Keras's branch fails every model call with `{BRANCH_FAILURE}`):",
        "",
    ]
    unexplained = 0
    stages = sorted(work.glob("stage*.xml"), key=lambda p: int(p.stem[5:]))
    patches = sorted((work / "series").glob("*.patch"))
    for report, patch in zip(stages, patches):
        stage_lines, count = test_run_lines(
            f"up to `{patch.stem}`", report, report.with_suffix(".log")
        )
        lines += stage_lines
        unexplained += count
    return lines, unexplained


def ruff_section(work):
    lines = [
        "",
        "ruff with keras-openvino's `pyproject.toml` (`ruff check .`, "
        "`ruff format --check .` in its checkout):",
    ]
    failures = 0
    for side in ("before", "after"):
        status = (work / f"{side}.ruff.status").read_text().strip()
        lines.append(
            f"- {side} the series: {'clean' if status == '0' else 'FAILED'}"
        )
        failures += side == "after" and status != "0"
    return lines, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--scope", choices=sorted(SCOPES), default="numpy")
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--total-seconds", type=float, default=0.0)
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args(argv)
    args.output = args.output or default_output(args.scope)
    before = read(args.work / "before.xml", args.work / "before.log")
    after = read(args.work / "after.xml", args.work / "after.log")
    modules = sorted(
        {test_id.split("::")[0].removeprefix("collect ") for test_id in before}
        | {test_id.split("::")[0].removeprefix("collect ") for test_id in after}
    )
    rows, regressions, newly_passing = release_suite_check.summarize(
        after, before, modules
    )
    release_suite_check.write_report(
        args.output,
        rows,
        regressions,
        newly_passing,
        args.seconds,
        modules,
        {},
        title="keras-openvino's CI flow, before and after the series",
        written_by="tools.upstream_check`, from `bash tools/upstream_check.sh "
        f"{args.scope}",
        scope=f"test modules ({SCOPES[args.scope]}), run from Keras's "
        "`pluggable_backend` snapshot with keras-openvino's main snapshot",
        change="the series",
        side_names=("before", "after"),
    )
    work = args.work
    excluded, unremoved = excluded_section(
        read(work / "before.excluded.xml", work / "before.excluded.log"),
        read(work / "after.excluded.xml", work / "after.excluded.log"),
        (work / "excluded_entries.txt").read_text().split(),
        set(
            (work / "after/keras-openvino/excluded_tests.txt")
            .read_text()
            .split()
        ),
        "keras-openvino's `excluded_tests.txt`",
    )
    series, series_failures = series_section(args.work)
    ruff, ruff_failures = ruff_section(args.work)
    with open(args.output, "a", encoding="utf-8") as output:
        output.write("\n".join(excluded + series + ruff) + "\n")
        output.write(
            f"\nThe whole check took {args.total_seconds:.0f} s on this "
            "machine, the environment included.\n"
        )
    print(args.output.read_text())
    print(f"Reports and logs in {args.work}")
    failed = regressions or unremoved or series_failures or ruff_failures
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
