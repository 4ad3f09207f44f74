"""One suite runner: a test suite run from two roots, without and with the
change, compared test by test.

A check (`tools/suite_checks.py`) describes its target: the two sides
(a root to run pytest from, its environment and arguments), the tests, and
anything of its own (an excluded list to try emptied, ruff, the series'
stages). This module runs both sides at once with JUnit reports, reads
them into one test id per test whatever the root, reruns `RERUNS` times on
each side every test that passes only without the change (a test failing
on both sides then is flaky, not a regression), and writes the record
`docs/records/<check>.md`, headed by the command, date, commit and machine.

    .venv/bin/python -m tools.suite_runner CHECK [options]

Checks: release_suite, tag, upstream_numpy, upstream_full, nightly
(`--help` after a check's name lists its options). Exit status 1 when a
test regresses, or the check's own part fails.
"""

import collections
import dataclasses
import datetime
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import tarfile
import time
from xml.etree import ElementTree

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
RECORDS = TREE_ROOT / "docs" / "records"
PLUGINS = TREE_ROOT / "tools" / "pytest_plugins"
RERUNS = 8
# More one-sided failures than this are not a flaky test: only the first
# ones are rerun.
RERUN_LIMIT = 20
VERSIONS = ["keras", "openvino", "numpy", "jax"]


def openvino_environment(**extra):
    """The OpenVINO backend and no PYTHONPATH (unless given): the directory
    a run starts in decides which Keras it imports."""
    env = dict(os.environ, KERAS_BACKEND="openvino")
    env.pop("PYTHONPATH", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


@dataclasses.dataclass
class Side:
    """One side of a comparison: pytest from `cwd` with `env` and `args`;
    a test id's module is found under `source` (default: `cwd`)."""

    label: str
    cwd: pathlib.Path
    env: dict
    args: list = dataclasses.field(default_factory=list)
    python: str = sys.executable
    source: pathlib.Path = None

    def start(self, tests, report, log, extra=(), env=None):
        command = [self.python, "-m", "pytest", *tests, "-q"]
        command += ["-p", "no:cacheprovider", *map(str, self.args), *extra]
        command += [f"--junitxml={report}", "-o", "junit_family=xunit1"]
        with open(log, "w", encoding="utf-8") as output:
            return subprocess.Popen(
                command,
                cwd=self.cwd,
                env=env or self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def node(self, test_id):
        """The pytest node of `test_id` (`a.b_test::Class::name`)."""
        module, rest = test_id.split("::", 1)
        path = (self.source or self.cwd).joinpath(*module.split("."))
        return f"{path.with_suffix('.py')}::{rest}"


def run_sides(sides, tests, work, name, extra=(), envs=None):
    """Runs every side at once (`tests`: a list, or side -> list; a side
    with no tests is not run): outcomes per side label, and the seconds."""
    started = time.monotonic()
    runs = {}
    for side in sides:
        files = tests(side) if callable(tests) else tests
        report = work / f"{name}.{side.label}.xml"
        log = report.with_suffix(".log")
        if files:  # pytest without a file would collect the whole root.
            env = (envs or {}).get(side.label)
            runs[side.label] = (
                side.start(files, report, log, extra, env),
                report,
                log,
            )
    for run, _, _ in runs.values():
        run.wait()
    seconds = time.monotonic() - started
    results = {side.label: {} for side in sides}
    for label, (_, report, log) in runs.items():
        results[label] = outcomes(report, log)
    return results, seconds


def dotted(path):
    """`keras.src.x.y_test` for any path to that module's file."""
    parts = pathlib.PurePath(path).with_suffix("").parts
    if "keras" in parts:
        parts = parts[len(parts) - parts[::-1].index("keras") - 1 :]
    return ".".join(parts)


def collection_errors(log):
    """The modules that pytest could not collect, from a run's log."""
    text = log.read_text(encoding="utf-8", errors="replace")
    paths = re.findall(r"ERROR collecting (\S+\.py)", text)
    paths += re.findall(r"while importing test module '([^']+\.py)'", text)
    return {"collect " + dotted(path) for path in paths}


def outcomes(report, log=None):
    """test id -> "passed", "failed", "error" or "skipped"; a module that
    cannot be collected is the id "collect <module>", an "error"; a run
    without a report is the id "run <name>", an "error"."""
    if not report.is_file():
        return {f"run {report.stem}": "error"}
    results = {}
    if log is not None and log.is_file():
        results = dict.fromkeys(collection_errors(log), "error")
    for case in ElementTree.parse(report).iter("testcase"):
        if not case.get("classname"):
            continue  # A collection error, read from the log.
        test_class = case.get("classname").rpartition(".")[2]
        module = dotted(case.get("file") or "unknown")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        results[f"{module}::{test_class}::{case.get('name')}"] = outcome
    return results


def module_of(test_id, modules):
    name = test_id.split("::")[0].removeprefix("collect ")
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or test_id.split("::")[0]


def summarize(after, before, modules):
    """Per-module counts, the regressions (pass before, not after) and the
    tests that pass only after."""
    rows = collections.defaultdict(collections.Counter)
    for test_id in set(after) | set(before):
        module = module_of(test_id, modules)
        rows[module]["tests"] += 1
        for side, results in (("after", after), ("before", before)):
            outcome = results.get(test_id, "missing")
            rows[module][f"{side} {outcome}"] += 1
    regressions = sorted(
        test_id
        for test_id, outcome in before.items()
        if outcome == "passed" and after.get(test_id) != "passed"
    )
    newly_passing = sorted(
        test_id
        for test_id, outcome in after.items()
        if outcome == "passed" and before.get(test_id) != "passed"
    )
    return rows, regressions, newly_passing


def rerun(test_id, sides):
    """Failures in `RERUNS` runs of one test, per side label."""
    failures = {}
    for side in sides:
        command = [side.python, "-m", "pytest", side.node(test_id), "-q"]
        command += ["-p", "no:cacheprovider", *map(str, side.args)]
        failures[side.label] = sum(
            subprocess.run(
                command, cwd=side.cwd, env=side.env, capture_output=True
            ).returncode
            != 0
            for _ in range(RERUNS)
        )
    return failures


def titled_list(title, items):
    """Record lines: `title: count.`, then the items as a list."""
    return ["", f"{title}: {len(items)}."] + [f"- `{item}`" for item in items]


def failing(counter, side):
    return counter[f"{side} failed"] + counter[f"{side} error"]


def compare(before, after, tests, work, change, extra=(), modules=None):
    """Runs both sides, reruns one-sided failures, and returns the record's
    lines and the regressions."""
    results, seconds = run_sides([before, after], tests, work, "suite", extra)
    old, new = results[before.label], results[after.label]
    modules = modules or sorted(
        {test_id.split("::")[0].removeprefix("collect ") for test_id in old}
        | {test_id.split("::")[0].removeprefix("collect ") for test_id in new}
    )
    rows, regressions, newly_passing = summarize(new, old, modules)
    flaky = {}
    for test_id in regressions[:RERUN_LIMIT]:
        if "::" in test_id and " " not in test_id:
            reruns = rerun(test_id, [after, before])
            if reruns[before.label]:
                flaky[test_id] = reruns
    regressions = [test_id for test_id in regressions if test_id not in flaky]
    totals = collections.Counter()
    for counter in rows.values():
        totals.update(counter)
    lines = [
        f"Both sides at once: {seconds:.0f} s; {len(modules)} test modules.",
        "",
        "| | tests | passed | failed or error | skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for side, label in (("before", before.label), ("after", after.label)):
        lines.append(
            f"| {label} | {totals['tests']} | {totals[f'{side} passed']} | "
            f"{failing(totals, side)} | {totals[f'{side} skipped']} |"
        )
    lines += [
        "",
        f"Tests on one side only: {len(set(old) - set(new))} without "
        f"{change}, {len(set(new) - set(old))} with it.",
    ]
    lines += titled_list(
        f"Tests that pass without {change} and fail with it", regressions
    )
    lines += [
        "",
        f"Tests that failed only with {change}, then failed on both sides "
        f"when run {RERUNS} more times on each (flaky, not regressions; "
        f"the first {RERUN_LIMIT} rerun): {len(flaky)}.",
    ]
    lines += [
        f"- `{test_id}`: {reruns[after.label]} failures of {RERUNS} with "
        f"{change}, {reruns[before.label]} without"
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
        if failing(counter, "before") or failing(counter, "after"):
            lines.append(
                f"| `{module}` | {counter['tests']} | "
                f"{failing(counter, 'before')} | {failing(counter, 'after')} |"
            )
    return lines, regressions, results


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


def excluded_check(before, after, listings, label, work, ignore=()):
    """Runs, on both sides, the tests that the excluded list (`listings`:
    its path per side label) names before the change, with the list
    emptied; the record's lines, and the entries that pass only after the
    change but that the list still keeps."""
    text = listings[before.label].read_text(encoding="utf-8")
    entries = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    kept = set(listings[after.label].read_text(encoding="utf-8").split())
    (work / "excluded_entries.txt").write_text("\n".join(entries) + "\n")
    classes = {entry.split("::")[0] for entry in entries}

    def files(side):
        return sorted(
            path.relative_to(side.cwd).as_posix()
            for path in (side.cwd / "keras").rglob("*_test.py")
            if not path.relative_to(side.cwd).as_posix().startswith(ignore)
            and any(
                re.search(rf"^class {name}\b", path.read_text(), re.M)
                for name in classes
            )
        )

    envs = {}
    for side in (before, after):
        path = side.env.get("PYTHONPATH", "")
        envs[side.label] = dict(
            side.env,
            ONLY_TESTS_MATCHING=str(work / "excluded_entries.txt"),
            PYTHONPATH=os.pathsep.join(filter(None, [path, str(PLUGINS)])),
        )
    saved = {side: path.read_text() for side, path in listings.items()}
    for path in listings.values():
        path.write_text("")
    # In an xdist worker, a test that crashes the plugin (`test_eigh`,
    # which the entry `test_eig` also names) fails instead of ending the run.
    extra = ["-p", "only_matching", "--continue-on-collection-errors"]
    results, _ = run_sides(
        [before, after], files, work, "excluded", extra + ["-n", "1"], envs
    )
    for side, path in listings.items():
        path.write_text(saved[side])
    old, new = results[before.label], results[after.label]
    lines = [
        "",
        f"{label}, each entry's tests run with the list emptied:",
        "",
        "| entry | before | after | after the change, the entry is |",
        "|---|---|---|---|",
    ]
    unremoved, stale = [], []
    for entry in entries:
        before_outcome = entry_outcome(entry, old)
        outcome = entry_outcome(entry, new)
        lines.append(
            f"| `{entry}` | {before_outcome} | {outcome} | "
            f"{'kept' if entry in kept else 'removed'} |"
        )
        if outcome == "passed" and entry in kept:
            (stale if before_outcome == "passed" else unremoved).append(entry)
    not_collected = sorted(
        test_id.removeprefix("collect ")
        for test_id in set(old) | set(new)
        if test_id.startswith("collect ")
    )
    lines += titled_list(
        "Modules with excluded tests that cannot be collected in this "
        "environment (the run's log says why)",
        not_collected,
    )
    lines += titled_list("Entries the change makes pass but keeps", unremoved)
    lines += titled_list(
        "Entries that pass with the list emptied, with or without the "
        "change (left for the backend's maintainers)",
        stale,
    )
    return lines, unremoved


def ruff_lines(ruff, checkouts, title):
    """`ruff check` and `ruff format --check` with each checkout's own
    `pyproject.toml`; `checkouts`: (label, directory, files). The record's
    lines and the labels of the checkouts that fail."""
    lines, failed = ["", title], []
    for label, directory, files in checkouts:
        codes = [
            subprocess.run(
                [str(ruff), *command, "--config", "pyproject.toml", *files],
                cwd=directory,
                capture_output=True,
            ).returncode
            for command in (["check"], ["format", "--check"])
        ]
        failed += [label] if any(codes) else []
        lines.append(f"- {label}: {'FAILED' if any(codes) else 'clean'}")
    return lines, failed


def unpack(snapshot, directory):
    """The snapshot's root folder, unpacked into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    before = set(directory.iterdir())
    with tarfile.open(snapshot) as archive:
        archive.extractall(directory, filter="data")
    (root,) = set(directory.iterdir()) - before
    return root


def apply_series(root, patches):
    for patch in patches:
        subprocess.run(
            ["git", "apply", str(patch.resolve())], cwd=root, check=True
        )


def ensure_venv(venv, packages, always=False):
    """`venv`'s Python, the venv made with `packages` if missing (or
    `always`: pip installs them again, a no-op when they are there)."""
    python = venv / "bin" / "python"
    missing = not python.is_file()
    if missing:
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    if missing or always:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *packages],
            check=True,
        )
    return python


def versions(python, names):
    code = (
        "import importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        print(f'{name} {m.version(name)}')\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
    )
    output = subprocess.run(
        [str(python), "-c", code, *names], capture_output=True, text=True
    ).stdout
    return ", ".join(output.split("\n")[:-1])


def machine(python=sys.executable):
    model = ""
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []:
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{platform.node()}, {model or platform.processor()}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {versions(python, VERSIONS)}"
    )


def commit():
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=TREE_ROOT, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    head = git("rev-parse", "HEAD")
    return head + (" (with uncommitted changes)" if dirty else "")


def header(title, command, started):
    """A record's first lines: what wrote it, when, from which commit, on
    which machine."""
    return [
        f"# {title}",
        "",
        f"- command: `{shlex.join(command)}` (from the repository's root)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- commit: {commit()}",
        f"- machine: {machine()}",
    ]


def main(argv=None):
    from tools import suite_checks

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in suite_checks.CHECKS:
        raise SystemExit(
            __doc__ + f"\nChecks: {', '.join(suite_checks.CHECKS)}"
        )
    name, check = argv[0], suite_checks.CHECKS[argv[0]]
    started = datetime.datetime.now(datetime.timezone.utc)
    command = [sys.executable, "-m", "tools.suite_runner", *argv]
    head = header("{title}", command, started)  # The commit run, not later.
    title, lines, failed = check(argv[1:])
    seconds = (datetime.datetime.now(datetime.timezone.utc) - started).seconds
    output = RECORDS / f"{name}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    text = [head[0].format(title=title), *head[1:]]
    text += [f"- duration: {seconds} s, the whole check", "", *lines]
    output.write_text("\n".join(text) + "\n", encoding="utf-8")
    print(output.read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
