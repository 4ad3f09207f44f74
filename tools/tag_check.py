"""Checks the contribution in Keras v3.15.1's own tree, as its CI ran it.

Unpacks the tag's source snapshot (`../shared/upstream/`) twice, applies
the exported patch (`tools.export_patch`) to one copy, and runs the same
test files in both copies from the copy's root, with the tag's own
`conftest.py` and excluded list and the OpenVINO backend, both at once.
The JUnit reports are compared as `tools.release_suite_check` compares
them: any test that passes without the patch and fails with it is a
regression (exit status 1).

    .venv/bin/python -m tools.tag_check [--tests FILE ...]
        [--snapshot TARBALL] [--output FILE]

Default tests: the release's numpy op suite, its core ops suite, and the
test files the patch adds. Writes `tools/tag_check_result.md`.
"""

import argparse
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import time

from tools import export_patch
from tools import release_suite_check

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=pathlib.Path, default=SNAPSHOT)
    parser.add_argument("--tests", nargs="*", default=DEFAULT_TESTS)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="tag-check-"))
    before = unpack(args.snapshot, work / "before")
    after = unpack(args.snapshot, work / "after")
    patch = work / "contribution.patch"
    patch.write_text(export_patch.export(after), encoding="utf-8")
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
    release_suite_check.write_report(
        args.output,
        rows,
        regressions,
        newly_passing,
        seconds,
        modules,
        {},
        title="Keras v3.15.1's own tree, with and without the patch",
        written_by="tools.tag_check",
        scope="test files run from the tag's root with its conftest.py "
        "(a missing file counts as not run)",
        change="the patch",
    )
    print(f"Reports and logs in {work}; summary in {args.output}")
    print(f"{len(regressions)} regressions, {len(newly_passing)} newly passing")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
