"""Checks the contribution in Keras v3.15.1's own tree, as its CI ran it.

Unpacks the tag's source snapshot (`../shared/upstream/`) twice, applies
the patch series (`python -m tools.export_patch --series`) in order to
one copy, and runs the same test files in both copies from the copy's
root, with the tag's own `conftest.py` and excluded list and the OpenVINO
backend, both at once. The JUnit reports are compared as
`tools.release_suite_check` compares them: any test that passes without
the series and fails with it is a regression (exit status 1). Then the
tests that the tag's excluded list names run on both sides with the list
emptied (an entry whose tests all pass after the series must be removed by
it), and ruff checks the changed files with the tag's own settings.

    .venv/bin/python -m tools.tag_check [--tests FILE ...]
        [--snapshot TARBALL] [--output FILE]

Default tests: the release's numpy op suite, its core ops suite, and the
test files the patch adds. Writes `tools/tag_check_result.md`.
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import time

from tools import export_patch
from tools import release_suite_check
from tools import upstream_check

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
SNAPSHOT = (
    TREE_ROOT.parent / "shared" / "upstream" / "keras-v3.15.1-250b42181c.tar.gz"
)
DEFAULT_TESTS = [
    "keras/src/ops/numpy_test.py",
    "keras/src/ops/core_test.py",
    "keras/src/backend/openvino/core_test.py",
    "keras/src/backend/openvino/numpy_test.py",
    "keras/src/backend/openvino/numpy_fuzz_test.py",
    "keras/src/backend/openvino/trainer_test.py",
    "integration_tests/openvino_nan_to_num_tabular_test.py",
]
DEFAULT_OUTPUT = TREE_ROOT / "tools" / "tag_check_result.md"


def unpack(snapshot, directory):
    with tarfile.open(snapshot) as archive:
        archive.extractall(directory, filter="data")
    (root,) = [path for path in directory.iterdir() if path.is_dir()]
    return root


def run_tests(root, tests, report, log):
    """pytest from `root`, as Keras's CI runs it: `import keras` finds the
    checkout, and its root conftest applies."""
    present = [test for test in tests if (root / test).is_file()]
    if not present:
        # pytest without a file would collect the whole checkout.
        return None
    command = [sys.executable, "-m", "pytest", *present, "-q"]
    command += ["-p", "no:cacheprovider", "-n", "1", f"--junitxml={report}"]
    command += ["-o", "junit_family=xunit1"]
    return subprocess.Popen(
        command,
        cwd=root,
        env=release_suite_check.openvino_environment(),
        stdout=log,
        stderr=log,
    )


def changed_files(patches):
    return sorted(
        {
            line.split("b/", 1)[1]
            for patch in patches
            for line in patch.read_text().splitlines()
            if line.startswith("+++ b/")
        }
    )


def ruff_lines(root, files):
    """ruff check and format --check on `files`, with the tag's settings."""
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    python_files = [path for path in files if path.endswith(".py")]
    lines = ["", "ruff with the tag's `pyproject.toml` on the changed files:"]
    clean = True
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, "--config", "pyproject.toml", *python_files],
            cwd=root,
            capture_output=True,
            text=True,
        )
        clean = clean and result.returncode == 0
        outcome = "clean" if result.returncode == 0 else "FAILED"
        lines.append(f"- `ruff {' '.join(command)}`: {outcome}")
    return lines, clean


def excluded_entries_run(root, entries, report, log):
    """The tests the excluded list names, run with the list emptied."""
    classes = {entry.split("::")[0] for entry in entries}
    files = sorted(
        path.relative_to(root).as_posix()
        for path in (root / "keras").rglob("*_test.py")
        if any(
            re.search(rf"^class {name}\b", path.read_text(), re.MULTILINE)
            for name in classes
        )
    )
    listing = root / export_patch.EXCLUDED_TESTS
    listing.write_text("")
    env = release_suite_check.openvino_environment()
    env["ONLY_TESTS_MATCHING"] = str(report.with_suffix(".entries"))
    env["PYTHONPATH"] = str(TREE_ROOT / "tools" / "pytest_plugins")
    report.with_suffix(".entries").write_text("\n".join(entries) + "\n")
    command = [sys.executable, "-m", "pytest", *files, "-q"]
    command += ["-p", "no:cacheprovider", "-p", "only_matching"]
    # In an xdist worker, a test that crashes the plugin (`test_eigh`,
    # which the entry `test_eig` also names) fails instead of ending the run.
    command += ["--continue-on-collection-errors", "-n", "1"]
    command += [f"--junitxml={report}", "-o", "junit_family=xunit1"]
    return subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=log)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=pathlib.Path, default=SNAPSHOT)
    parser.add_argument("--tests", nargs="*", default=DEFAULT_TESTS)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="tag-check-"))
    before = unpack(args.snapshot, work / "before")
    after = unpack(args.snapshot, work / "after")
    patches = export_patch.write_series(after, work / "series")
    for patch in patches:
        subprocess.run(["git", "apply", str(patch)], cwd=after, check=True)
    started = time.monotonic()
    runs = {}
    for side, root in (("release", before), ("tree", after)):
        log = open(work / f"{side}.log", "w", encoding="utf-8")
        runs[side] = run_tests(root, args.tests, work / f"{side}.xml", log)
    for run in runs.values():
        if run is not None:
            run.wait()
    seconds = time.monotonic() - started
    release, tree = (
        release_suite_check.outcomes(work / f"{side}.xml", work / f"{side}.log")
        if runs[side] is not None
        else {}
        for side in ("release", "tree")
    )
    modules = sorted(
        ".".join(pathlib.PurePath(test).with_suffix("").parts)
        for test in args.tests
    )
    rows, regressions, newly_passing = release_suite_check.summarize(
        tree, release, modules
    )
    entries = [
        line.strip()
        for line in (before / export_patch.EXCLUDED_TESTS)
        .read_text()
        .split("\n")
        if line.strip() and not line.startswith("#")
    ]
    kept = set((after / export_patch.EXCLUDED_TESTS).read_text().split())
    excluded_runs = {}
    for side, root in (("release", before), ("tree", after)):
        log = open(work / f"{side}.excluded.log", "w", encoding="utf-8")
        excluded_runs[side] = excluded_entries_run(
            root, entries, work / f"{side}.excluded.xml", log
        )
    for run in excluded_runs.values():
        run.wait()
    excluded, unremoved = upstream_check.excluded_section(
        *(
            upstream_check.read(
                work / f"{side}.excluded.xml", work / f"{side}.excluded.log"
            )
            for side in ("release", "tree")
        ),
        entries,
        kept,
        "The tag's `excluded_concrete_tests.txt`",
    )
    ruff, ruff_clean = ruff_lines(after, changed_files(patches))
    release_suite_check.write_report(
        args.output,
        rows,
        regressions,
        newly_passing,
        seconds,
        modules,
        {},
        title="Keras v3.15.1's own tree, before and after the series",
        written_by="tools.tag_check",
        scope="test files run from the tag's root with its conftest.py "
        "(a missing file counts as not run)",
        change="the series",
        side_names=("before", "after"),
    )
    with open(args.output, "a", encoding="utf-8") as output:
        output.write("\n".join(excluded + ruff) + "\n")
    print(f"Reports and logs in {work}; summary in {args.output}")
    print(f"{len(regressions)} regressions, {len(newly_passing)} newly passing")
    return 1 if regressions or unremoved or not ruff_clean else 0


if __name__ == "__main__":
    sys.exit(main())
