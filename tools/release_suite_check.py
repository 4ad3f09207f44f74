"""Runs the release's whole test suite with and without this tree.

Every test module that the installed Keras wheel ships (`keras/src/**/
*_test.py`) runs twice on the OpenVINO backend, at the same time: once from
the repository's root (the tree laid over the release) and once from a
scratch directory holding only a copy of the tree's `conftest.py` and
excluded list (the bare release, with the same skips). The two JUnit
reports are compared test by test: any test that passes without the tree
and fails with it is a regression, and the command exits with 1.

    .venv/bin/python -m tools.release_suite_check [--output FILE]
        [--modules keras.src.ops.numpy_test ...] [--timeout SECONDS]

Writes a Markdown table (per module: tests, failures without and with the
tree) to `tools/release_suite_result.md`.
"""

import argparse
import collections
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

from tools.export_patch import installed_keras_root

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
EXCLUDED_LIST = "keras/src/backend/openvino/excluded_concrete_tests.txt"
DEFAULT_OUTPUT = TREE_ROOT / "tools" / "release_suite_result.md"


def release_test_modules():
    root, _ = installed_keras_root()
    package = root / "keras" / "src"
    return sorted(
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in package.rglob("*_test.py")
    )


def module_files(modules):
    """The installed files of `modules`: given as files, a module that
    cannot be imported (another backend's tests) is a collection error of
    its own instead of stopping the run."""
    root, _ = installed_keras_root()
    return [
        str(root.joinpath(*m.split(".")).with_suffix(".py")) for m in modules
    ]


def bare_release_directory():
    """A directory from which pytest sees the bare release, with the tree's
    conftest and excluded list (no `keras` package of its own)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="release-suite-"))
    shutil.copy(TREE_ROOT / "conftest.py", directory / "conftest.py")
    excluded = directory / EXCLUDED_LIST
    excluded.parent.mkdir(parents=True)
    shutil.copy(TREE_ROOT / EXCLUDED_LIST, excluded)
    return directory


def openvino_environment():
    """The environment of a run: the OpenVINO backend, and no PYTHONPATH,
    so that the directory a run starts in decides which Keras it imports."""
    environment = dict(os.environ, KERAS_BACKEND="openvino")
    environment.pop("PYTHONPATH", None)
    return environment


def pytest_command(directory, targets, timeout):
    """pytest on `targets` from `directory`, without a configuration file
    unless `directory` is the tree's root (the tree's pyproject would put
    the tree first on sys.path)."""
    command = [sys.executable, "-m", "pytest", *targets, "-q"]
    command += ["-p", "no:cacheprovider", f"--timeout={timeout}"]
    command += [f"--rootdir={directory}"]
    if directory != TREE_ROOT:
        command += ["-c", os.devnull]
    return command


def overlay_is_active(directory):
    """Whether Python started in `directory` imports this tree's Keras."""
    check = "import keras; print(hasattr(keras, '__overlay_file__'))"
    output = subprocess.run(
        [sys.executable, "-c", check],
        cwd=directory,
        env=openvino_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return output.strip() == "True"


def start_run(directory, modules, report, log, timeout):
    command = pytest_command(directory, module_files(modules), timeout)
    command += [
        "--continue-on-collection-errors",
        # One xdist worker: a test that crashes the process (linalg_test's
        # test_eigh kills the CPU plugin, with or without the tree) fails,
        # and a new worker goes on with the rest.
        "-n",
        "1",
        f"--junitxml={report}",
        # xunit1 reports name each test's file, wherever pytest runs from.
        "-o",
        "junit_family=xunit1",
    ]
    return subprocess.Popen(
        command,
        cwd=directory,
        env=openvino_environment(),
        stdout=log,
        stderr=log,
    )


def _module_name(path):
    """`keras.src.x.y_test` for any path to that module's file."""
    parts = pathlib.PurePath(path).with_suffix("").parts
    if "keras" in parts:
        parts = parts[len(parts) - parts[::-1].index("keras") - 1 :]
    return ".".join(parts)


def collection_errors(log):
    """The modules that pytest could not collect, from a run's log: its
    JUnit report names them only relative to its root (or not at all, for
    files outside it)."""
    text = log.read_text(encoding="utf-8")
    paths = re.findall(r"ERROR collecting (\S+\.py)", text)
    paths += re.findall(r"while importing test module '([^']+\.py)'", text)
    return {"collect " + _module_name(path) for path in paths}


def outcomes(report, log=None):
    """test id -> "passed", "failed", "error" or "skipped"; a module that
    cannot be collected is the test id "collect <module>", an "error"."""
    results = {}
    if log is not None:
        results = dict.fromkeys(collection_errors(log), "error")
    for case in ElementTree.parse(report).iter("testcase"):
        if not case.get("classname"):
            continue  # A collection error, read from the log.
        path = pathlib.PurePath(case.get("file") or "unknown")
        parts = path.with_suffix("").parts
        if "keras" in parts:
            parts = parts[len(parts) - parts[::-1].index("keras") - 1 :]
        test_class = case.get("classname", "").rpartition(".")[2]
        test_id = f"{'.'.join(parts)}::{test_class}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        results[test_id] = outcome
    return results


def module_of(test_id, modules):
    name = test_id.split("::")[0].removeprefix("collect ")
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or test_id.split("::")[0]


def summarize(tree, release, modules):
    rows = collections.defaultdict(collections.Counter)
    for test_id in set(tree) | set(release):
        module = module_of(test_id, modules)
        rows[module]["tests"] += 1
        for side, results in (("tree", tree), ("release", release)):
            outcome = results.get(test_id, "missing")
            rows[module][f"{side} {outcome}"] += 1
    regressions = sorted(
        test_id
        for test_id, outcome in release.items()
        if outcome == "passed" and tree.get(test_id) != "passed"
    )
    newly_passing = sorted(
        test_id
        for test_id, outcome in tree.items()
        if outcome == "passed" and release.get(test_id) != "passed"
    )
    return rows, regressions, newly_passing


RERUNS = 8


def rerun_on_both_sides(test_id, bare, timeout):
    """Failures in `RERUNS` runs of one test, per side. A test that fails
    on both sides is flaky (random weights, say), not a regression."""
    module, test_class, name = test_id.split("::")
    root, _ = installed_keras_root()
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    failures = {}
    for side, directory in (("tree", TREE_ROOT), ("release", bare)):
        command = pytest_command(
            directory, [f"{path}::{test_class}::{name}"], timeout
        )
        failures[side] = sum(
            subprocess.run(
                command,
                cwd=directory,
                env=openvino_environment(),
                capture_output=True,
            ).returncode
            != 0
            for _ in range(RERUNS)
        )
    return failures


def titled_list(title, items):
    """Report lines: `title: count.`, then the items as a list."""
    return ["", f"{title}: {len(items)}."] + [f"- `{item}`" for item in items]


def write_report(
    path,
    rows,
    regressions,
    newly_passing,
    seconds,
    modules,
    flaky,
    title="The release's test suite with and without the tree",
    written_by="tools.release_suite_check",
    scope="test modules of the installed Keras wheel",
    change="the tree",
    side_names=("release", "tree"),
):
    def failing(counter, side):
        return counter[f"{side} failed"] + counter[f"{side} error"]

    totals = collections.Counter()
    for counter in rows.values():
        totals.update(counter)
    lines = [
        f"# {title}",
        "",
        f"Written by `python -m {written_by}` in {seconds:.0f} s (both "
        f"runs at once); {len(modules)} {scope}, OpenVINO backend.",
        "",
        "| | tests | passed | failed or error | skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for side, shown in zip(("release", "tree"), side_names):
        lines.append(
            f"| {shown} | {totals['tests']} | {totals[f'{side} passed']} | "
            f"{failing(totals, side)} | {totals[f'{side} skipped']} |"
        )
    lines += titled_list(
        f"Tests that pass without {change} and fail with it", regressions
    )
    lines += [
        "",
        f"Tests that failed only with {change}, then failed on both sides "
        f"when run {RERUNS} more times on each (flaky, not regressions): "
        f"{len(flaky)}.",
    ]
    lines += [
        f"- `{test_id}`: {reruns['tree']} failures of {RERUNS} with "
        f"{change}, {reruns['release']} without"
        for test_id, reruns in flaky.items()
    ]
    lines += titled_list(f"Tests that pass only with {change}", newly_passing)
    lines += [
        "",
        "Per module with a failure or an error on either side (modules "
        "that cannot be collected show as one error):",
        "",
        f"| module | tests | failed without {change} | failed with it |",
        "|---|---:|---:|---:|",
    ]
    for module in sorted(rows):
        counter = rows[module]
        if failing(counter, "release") or failing(counter, "tree"):
            lines.append(
                f"| `{module}` | {counter['tests']} | "
                f"{failing(counter, 'release')} | {failing(counter, 'tree')} |"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*")
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument(
        "--reports",
        type=pathlib.Path,
        help="compare the reports and logs of an earlier run in this "
        "directory instead of running the suite (SECONDS: its duration)",
    )
    parser.add_argument("--seconds", type=float, default=0.0)
    args = parser.parse_args(argv)
    modules = args.modules or release_test_modules()
    bare = bare_release_directory()
    if not overlay_is_active(TREE_ROOT) or overlay_is_active(bare):
        raise SystemExit("The runs would not compare the tree with the release")
    work = args.reports
    seconds = args.seconds
    if work is None:
        work = pathlib.Path(tempfile.mkdtemp(prefix="release-suite-reports-"))
        started = time.monotonic()
        runs = {}
        for side, directory in (("tree", TREE_ROOT), ("release", bare)):
            log = open(work / f"{side}.log", "w", encoding="utf-8")
            runs[side] = start_run(
                directory, modules, work / f"{side}.xml", log, args.timeout
            )
        for run in runs.values():
            run.wait()
        seconds = time.monotonic() - started
    tree = outcomes(work / "tree.xml", work / "tree.log")
    release = outcomes(work / "release.xml", work / "release.log")
    rows, regressions, newly_passing = summarize(tree, release, modules)
    flaky = {
        test_id: reruns
        for test_id in regressions
        for reruns in [rerun_on_both_sides(test_id, bare, args.timeout)]
        if reruns["release"]
    }
    regressions = [test_id for test_id in regressions if test_id not in flaky]
    write_report(
        args.output,
        rows,
        regressions,
        newly_passing,
        seconds,
        modules,
        flaky,
    )
    print(f"Reports and logs in {work}; summary in {args.output}")
    print(
        f"{len(regressions)} regressions, {len(newly_passing)} newly "
        f"passing, {seconds:.0f} s"
    )
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
