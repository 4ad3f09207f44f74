"""The report of `tools/upstream_check.sh`: keras-openvino's CI flow before
and after the patch series, from the JUnit reports in its work folder.

    python -m tools.upstream_check --work DIR --scope numpy|full --seconds S
"""

import argparse
import collections
import pathlib
import sys

from tools import release_suite_check

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = TREE_ROOT / "tools" / "upstream_check_result.md"
SCOPES = {
    "numpy": "`keras/src/ops/numpy_test.py`",
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
        return "no test"
    failed = sum(outcome in ("failed", "error") for outcome in matching)
    if failed:
        return f"{failed} of {len(matching)} fail"
    if all(outcome == "passed" for outcome in matching):
        return "passed"
    return "skipped"


def excluded_section(work):
    before = read(work / "before.excluded.xml", work / "before.excluded.log")
    after = read(work / "after.excluded.xml", work / "after.excluded.log")
    entries = (work / "excluded_entries.txt").read_text().split()
    kept = set(
        (work / "after/keras-openvino/excluded_tests.txt").read_text().split()
    )
    lines = [
        "",
        "keras-openvino's `excluded_tests.txt`, each entry's tests run "
        "with the list emptied:",
        "",
        "| entry | before | after | kept by the series |",
        "|---|---|---|---|",
    ]
    unremoved = []
    for entry in entries:
        outcome = entry_outcome(entry, after)
        lines.append(
            f"| `{entry}` | {entry_outcome(entry, before)} | {outcome} | "
            f"{'yes' if entry in kept else 'removed'} |"
        )
        if outcome == "passed" and entry in kept:
            unremoved.append(entry)
    lines += [
        "",
        "Entries whose tests all pass after the series but that it keeps: "
        f"{len(unremoved)}.",
    ]
    lines += [f"- `{entry}`" for entry in unremoved]
    return lines, unremoved


def series_section(work):
    results = read(work / "series_tests.xml", work / "series_tests.log")
    counts = collections.Counter(results.values())
    return [
        "",
        "The series' own tests, in the patched keras-openvino "
        "(`pytest keras_openvino integration_tests`): "
        f"{counts['passed']} passed, "
        f"{counts['failed'] + counts['error']} failed or error, "
        f"{counts['skipped']} skipped.",
    ], counts["failed"] + counts["error"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=pathlib.Path, required=True)
    parser.add_argument("--scope", choices=sorted(SCOPES), default="numpy")
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
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
        written_by="tools.upstream_check` (from `bash tools/upstream_check.sh "
        f"{args.scope}`)",
        scope=f"test modules of {SCOPES[args.scope]}, run from Keras's "
        "`pluggable_backend` snapshot with keras-openvino's main snapshot",
        change="the series",
        side_names=("before", "after"),
    )
    excluded, unremoved = excluded_section(args.work)
    series, series_failures = series_section(args.work)
    with open(args.output, "a", encoding="utf-8") as output:
        output.write("\n".join(excluded + series) + "\n")
    print(args.output.read_text())
    print(f"Reports and logs in {args.work}")
    return 1 if regressions or unremoved or series_failures else 0


if __name__ == "__main__":
    sys.exit(main())
