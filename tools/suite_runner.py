"""One suite runner: tests run from two roots, without and with the change,
compared test by test.

A check (`CHECKS`) prepares its trees and describes its target: two sides
(a root to run pytest from, its Python, environment, arguments, conftest),
the tests, and what it adds (an excluded list tried emptied, single runs,
ruff). `report` runs both sides at once with JUnit reports, read into one id
per test whatever the root; reruns `RERUNS` times on each side a test that
passes only without the change (failing on both sides then, it is flaky,
not a regression); and tables it all for `docs/records/<check>.md`, which
`main` heads with the command, date, commit and machine.

    /work/main/.venv/bin/python -m tools.suite_runner CHECK [options]

CHECK: release_suite, tag, upstream_numpy, upstream_full, nightly or
keras_suite; `--help` lists the options. Exit status 1 when a test
regresses or the check's own part fails.
"""

import argparse
import collections
import dataclasses
import datetime
import os
import pathlib
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from xml.etree import ElementTree

from tools import export_patch

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tools" / "pytest_plugins"
UP = os.environ.get("UPSTREAM_SNAPSHOTS", ROOT.parent / "shared/upstream")
TAG = pathlib.Path(UP, "keras-v3.15.1-250b42181c.tar.gz")
BRANCH = pathlib.Path(UP, "keras-pluggable_backend-937c08e60a.tar.gz")
KERAS_OPENVINO = pathlib.Path(UP, "keras-openvino-main-cba2a787ad.tar.gz")
VENVS = dict(upstream=ROOT / ".venv-upstream", nightly=ROOT / ".venv-nightly")
VENVS.update(keras_suite="/tmp/suite-venv-b", ci_step="/tmp/ci-venv-b")
RERUNS, RERUN_LIMIT = 8, 20  # More one-sided failures are not flakiness.
LISTED = 10  # Failing tests listed for a single run.
FAILING = ("failed", "error")
OUTCOMES = {"failure": "failed", "error": "error", "skipped": "skipped"}
PACKAGES = "numpy scipy absl-py rich namex h5py optree ml-dtypes packaging"
PACKAGES = [*PACKAGES.split(), "jax[cpu]"]
# At 937c08e60a, `Functional.call` passes names that no longer exist (Keras
# #23397 over #23364): every functional model call fails with this. The mend
# is the line Keras master has.
BRANCH_FAILURE = "NameError: name 'operation_fn' is not defined"
FUNCTIONAL = "keras/src/models/functional.py", r"\(\s*inputs,[^)]*\),\s*\)"
MASTER = "(inputs)"  # `outputs = self._run_through_graph(inputs)`
# There, `torch.core` moved to `torch.ops.core`: without this mend, `import
# keras` fails on torch.
TORCH = "keras/src/backend/torch/trainer.py", r"torch\.core import"
TORCH_MOVED = "torch.ops.core import"


def environment(**extra):
    """OpenVINO, no PYTHONPATH unless given: the directory a run starts in
    decides which Keras it imports."""
    env = dict(os.environ, KERAS_BACKEND="openvino")
    env.pop("PYTHONPATH", None)
    return dict(env, **{key: str(value) for key, value in extra.items()})


@dataclasses.dataclass
class Side:
    """pytest (`python -m pytest`; with no `python`, `pytest` from PATH) from
    `cwd` with `env` and `args`; a test id's module is under `source` (or
    `cwd`). `pytest` writes a JUnit report, its log beside it."""

    label: str
    cwd: pathlib.Path
    env: dict
    args: tuple = ()
    python: str = sys.executable
    source: pathlib.Path = None

    def pytest(self, tests, report=None, extra=(), env=None):
        command = [self.python, "-m", "pytest"] if self.python else ["pytest"]
        command += [*tests, "-q", "-p", "no:cacheprovider", *self.args, *extra]
        if report:
            command += [f"--junitxml={report}", "-o", "junit_family=xunit1"]
        log = open(report.with_suffix(".log") if report else os.devnull, "w")
        options = dict(cwd=self.cwd, env=env or self.env, stdout=log)
        return subprocess.Popen(list(map(str, command)), stderr=log, **options)

    def node(self, test_id):
        module, rest = test_id.split("::", 1)
        path = (self.source or self.cwd).joinpath(*module.split("."))
        return f"{path.with_suffix('.py')}::{rest}"


def dotted(path):
    """`keras.src.x.y_test` for any path to that module's file."""
    parts = pathlib.PurePath(path).with_suffix("").parts
    if "keras" in parts:
        parts = parts[len(parts) - parts[::-1].index("keras") - 1 :]
    return ".".join(parts)


def outcomes(report):
    """test id -> "passed", "failed", "error" or "skipped"; a module that
    cannot be collected (read from the log) is the error "collect <module>",
    a run without a report the error "run <name>"."""
    if not report.is_file():
        return {f"run {report.stem}": "error"}
    log = report.with_suffix(".log")
    text = log.read_text(errors="replace") if log.is_file() else ""
    paths = re.findall(r"ERROR collecting (\S+\.py)", text)
    paths += re.findall(r"while importing test module '([^']+\.py)'", text)
    results = {f"collect {dotted(path)}": "error" for path in paths}
    for case in ElementTree.parse(report).iter("testcase"):
        if case.get("classname"):  # Collection errors have none.
            test_class = case.get("classname").rpartition(".")[2]
            test_id = f"{dotted(case.get('file') or '?')}::{test_class}"
            outcome = "passed"
            for child in case:
                outcome = OUTCOMES.get(child.tag, outcome)
            results[f"{test_id}::{case.get('name')}"] = outcome
    return results


def messages(report, tags=("failure", "error")):
    """The first lines of the messages of a report's `tags`, counted."""
    found = collections.Counter()
    for child in ElementTree.parse(report).iter() if report.is_file() else ():
        if child.tag in tags:
            found[(child.get("message") or child.tag).split("\n")[0]] += 1
    return found


def summarize(after, before, modules):
    """Counts per module, the regressions (pass before, not after) and the
    tests that pass only after."""
    rows = collections.defaultdict(collections.Counter)
    for test_id in {**after, **before}:
        module = test_id.split("::")[0].removeprefix("collect ")
        while module and module not in modules:
            module = module.rpartition(".")[0]
        row = rows[module or test_id.split("::")[0]]
        row["tests"] += 1
        for side, results in (("after", after), ("before", before)):
            row[f"{side} {results.get(test_id, 'missing')}"] += 1
    only = [
        sorted(t for t, o in one.items() if o == "passed" != other.get(t))
        for one, other in ((before, after), (after, before))
    ]
    return rows, *only


def failing(row, side=""):
    return row[f"{side}failed"] + row[f"{side}error"]


def listed(title, items):
    return ["", f"{title}: {len(items)}."] + [f"- `{item}`" for item in items]


def run_sides(sides, tests, work, name, extra=(), envs=None):
    """All sides at once (`tests`: a list, or side -> list; a side without
    tests is not run): outcomes per side label, and the seconds."""
    started, runs = time.monotonic(), {}
    for side in sides:
        files = tests(side) if callable(tests) else tests
        report = work / f"{name}.{side.label}.xml"
        if files:  # Without files, pytest would collect the whole root.
            env = (envs or {}).get(side.label)
            runs[side.label] = side.pytest(files, report, extra, env), report
    results = {side.label: {} for side in sides}
    for label, (run, report) in runs.items():
        run.wait()
        results[label] = outcomes(report)
    return results, time.monotonic() - started


def compare(before, after, tests, work, change, extra=(), modules=None):
    """Both sides at once, then reruns of one-sided failures: the record's
    lines, the regressions and the outcomes."""
    results, seconds = run_sides([before, after], tests, work, "suite", extra)
    old, new = results[before.label], results[after.label]
    ids = {**old, **new}
    modules = modules or {
        t.split("::")[0].removeprefix("collect ") for t in ids
    }
    rows, regressions, newly_passing = summarize(new, old, modules)
    flaky = {}
    for test_id in [t for t in regressions if " " not in t][:RERUN_LIMIT]:
        fails = {
            side.label: sum(
                side.pytest([side.node(test_id)]).wait() != 0
                for _ in range(RERUNS)
            )
            for side in (after, before)
        }
        if fails[before.label]:
            flaky[f"{test_id}: {fails[after.label]}, {fails[before.label]}"] = 1
    flaky_ids = {key.split(": ")[0] for key in flaky}
    regressions = [t for t in regressions if t not in flaky_ids]
    total = sum(rows.values(), collections.Counter())
    lines = [
        "",
        f"Both sides at once: {seconds:.0f} s; {len(modules)} test modules.",
        "",
        "| side | tests | passed | failed or error | skipped | only there |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for side, one, other in ((before, old, new), (after, new, old)):
        key = "before " if side is before else "after "
        lines.append(
            f"| {side.label} | {total['tests']} | {total[key + 'passed']} | "
            f"{failing(total, key)} | {total[key + 'skipped']} | "
            f"{len(set(one) - set(other))} |"
        )
    lines += listed(f"Pass without {change}, fail with it", regressions)
    lines += listed(
        f"Flaky: failed only with {change}, then on both sides in {RERUNS} "
        f"reruns each (the first {RERUN_LIMIT}; failures with it, without)",
        list(flaky),
    )
    lines += listed(f"Pass only with {change}", newly_passing)
    lines += ["", f"| module | tests | failing without {change} | with it |"]
    lines += ["|---|---:|---:|---:|"] + [
        f"| `{module}` | {row['tests']} | {failing(row, 'before ')} | "
        f"{failing(row, 'after ')} |"
        for module, row in sorted(rows.items())
        if failing(row, "before ") or failing(row, "after ")
    ]
    return lines, regressions, results


def entry_outcome(entry, results):
    """`passed` when every test the entry names passes."""
    matching = [o for test_id, o in results.items() if entry in test_id]
    failed = sum(outcome in FAILING for outcome in matching)
    if failed or not matching:
        return (
            f"{failed} of {len(matching)} fail" if failed else "not collected"
        )
    return "passed" if set(matching) == {"passed"} else "skipped"


def excluded(before, after, listings, work, ignore=()):
    """With the excluded lists (`listings`: path per side label) emptied, the
    tests the list names before the change, on both sides: the record's
    lines, and the entries the change makes pass that the list keeps."""
    text = listings[before.label].read_text().splitlines()
    entries = [e.strip() for e in text if e.strip() and e[0] != "#"]
    kept = set(listings[after.label].read_text().split())
    (work / "entries.txt").write_text("\n".join(entries) + "\n")
    classes = "|".join({re.escape(entry.split("::")[0]) for entry in entries})

    def files(side):
        paths = (side.cwd / "keras").rglob("*_test.py")
        return sorted(
            str(path.relative_to(side.cwd))
            for path in paths
            if not str(path.relative_to(side.cwd)).startswith(ignore)
            and re.search(rf"^class ({classes})\b", path.read_text(), re.M)
        )

    envs = {}
    for side in (before, after):
        path = ":".join(
            filter(None, [side.env.get("PYTHONPATH"), str(PLUGINS)])
        )
        match = str(work / "entries.txt")
        envs[side.label] = dict(side.env, PYTHONPATH=path, ONLY_MATCHING=match)
    saved = {label: path.read_text() for label, path in listings.items()}
    [path.write_text("") for path in listings.values()]
    # In an xdist worker, a test that crashes the plugin (`test_eigh`, which
    # the entry `test_eig` names too) fails instead of ending the run.
    extra = ["-p", "suite_plugin", "--continue-on-collection-errors", "-n", "1"]
    results, _ = run_sides(
        [before, after], files, work, "excluded", extra, envs
    )
    [path.write_text(saved[label]) for label, path in listings.items()]
    old, new = results[before.label], results[after.label]
    lines = ["", "| excluded-list entry | before | after | after, it is |"]
    lines.append("|---|---|---|---|")
    unremoved, stale = [], []
    for entry in entries:
        was, now = entry_outcome(entry, old), entry_outcome(entry, new)
        state = "kept" if entry in kept else "removed"
        lines.append(f"| `{entry}` | {was} | {now} | {state} |")
        if now == "passed" and entry in kept:
            (stale if was == "passed" else unremoved).append(entry)
    ids = sorted(t[8:] for t in {**old, **new} if t.startswith("collect "))
    lines += listed("Modules that cannot be collected here (see logs)", ids)
    lines += listed("Entries the change makes pass but keeps", unremoved)
    lines += listed("Entries passing with or without the change", stale)
    return lines, unremoved


def report(work, change, sides, tests, extra=(), modules=None, **more):
    """A check's tables and failures, and the outcomes by side or run label.
    `more`: `listings` and `ignore` (`excluded`); `runs`, single runs (label,
    side, tests, the failure messages allowed, or None if any); `lint`, ruff
    (executable; label, directory, files, whether a failure counts)."""
    lines, failed, results = [], [], {}
    if sides:
        lines, failed, results = compare(
            *sides, tests, work, change, extra, modules
        )
    if more.get("listings"):
        listings, ignore = more["listings"], more.get("ignore", ())
        table, unremoved = excluded(*sides, listings, work, ignore)
        lines, failed = lines + table, failed + unremoved
    table = ["", "| run | passed | failed | errors | skipped | s | messages |"]
    listing = []
    for label, side, tests, allowed in more.get("runs", ()):
        started, path = time.monotonic(), work / f"run{len(table)}.xml"
        side.pytest(tests, path).wait()
        found, reasons = messages(path), messages(path, ("skipped",))
        results[label] = one = outcomes(path)
        n = collections.Counter(one.values())
        text = "; ".join(
            f"{c}: `` {m[:160]} ``" for m, c in (found + reasons).items()
        )
        table.append(
            f"| {label} | {n['passed']} | {n['failed']} | {n['error']} | "
            f"{n['skipped']} | {time.monotonic() - started:.0f} | {text} |"
        )
        ids = [t for t, o in one.items() if o in FAILING]
        known = sum(c for m, c in found.items() if m in (allowed or ()))
        failed += [label] * (allowed is not None and len(ids) > known)
        listing += ["", f"{label}, failing: {len(ids)}"] * bool(ids)
        listing += [f"- `{test_id}`" for test_id in ids[:LISTED]]
    if len(table) > 2:
        lines += table[:2] + ["|---|---:|---:|---:|---:|---:|---|"] + table[2:]
    lines += listing
    ruff, checkouts = more.get("lint", (None, ()))
    lines += ["", "| ruff check, format --check | with its settings |"]
    lines = lines[:-2] if not checkouts else lines + ["|---|---|"]
    for label, directory, files, counts in checkouts:
        bad = any(
            subprocess.run(
                [ruff, *command, "--config", "pyproject.toml", *files],
                cwd=directory,
                capture_output=True,
            ).returncode
            for command in (["check"], ["format", "--check"])
        )
        lines.append(f"| {label} | {'FAILED' if bad else 'clean'} |")
        failed += [label] * (bad and counts)
    return lines, failed, results


def unpack(snapshot, directory):
    """The snapshot's root folder, unpacked into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    before = set(directory.iterdir())
    with tarfile.open(snapshot) as archive:
        archive.extractall(directory, filter="data")
    (root,) = set(directory.iterdir()) - before
    return root


def apply(root, patches, check=True):
    """Applies the patches in order; whether all applied."""
    git = [["git", "apply", patch.resolve()] for patch in patches]
    return not any(
        subprocess.run(c, cwd=root, check=check).returncode for c in git
    )


def mend(root, relative, pattern, new):
    """Replaces `pattern` with `new` in `root/relative`; how many times."""
    text, count = re.subn(pattern, new, (root / relative).read_text())
    (root / relative).write_text(text)
    return count


def pip(python, *args):
    command = [python, "-m", "pip", args[0], "--quiet", *args[1:]]
    subprocess.run(list(map(str, command)), check=True)


def venv(directory, packages, always=False):
    """Its Python, the venv made with `packages` when missing (or `always`:
    pip installs them again, a no-op when they are there)."""
    python = pathlib.Path(directory, "bin", "python")
    if not python.is_file():
        subprocess.run(["python3.11", "-m", "venv", directory], check=True)
        always = True
    pip(python, "install", *packages) if always else None
    return python


def versions(python, names):
    code = "import importlib.metadata as m, sys\nfor n in sys.argv[1:]:\n"
    code += "    try: print(n, m.version(n))\n    except Exception: pass"
    run = subprocess.run([python, "-c", code, *names], capture_output=True)
    return ", ".join(run.stdout.decode().splitlines())


def header(title, command, started):
    """A record's first lines: what wrote it, when, from which commit, on
    which machine."""
    git = ["git", "-C", ROOT]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True)
    dirty = ["status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run([*git, *dirty], capture_output=True).stdout
    cpu = pathlib.Path("/proc/cpuinfo").read_text()
    cpu = re.findall(r"model name\s*: (.*)", cpu) + [platform.processor()]
    names = ["keras", "openvino", "numpy", "jax"]
    return [
        f"# {title}",
        "",
        f"- command: `{shlex.join(command)}` (from the repository's root)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- commit: {head.stdout.decode().strip()}"
        + " (with uncommitted changes)" * bool(dirty),
        f"- machine: {platform.node()}, {cpu[0]}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; {versions(sys.executable, names)}",
    ]


def requirements(without=("keras==",)):
    lines = (ROOT / "requirements-openvino.txt").read_text().splitlines()
    lines = [line.strip() for line in lines if line.strip()]
    return [line for line in lines if not line.startswith(("#", *without))]


def release_suite(args, work):
    """The installed wheel's test modules on OpenVINO, from a folder with
    only the tree's conftest.py and excluded list (the bare release, the same
    skips), and from the repository's root (the tree laid over it)."""
    keras = export_patch.installed_keras_root()[0]
    tests = (keras / "keras" / "src").rglob("*_test.py")
    modules = args.tests or sorted(dotted(p.relative_to(keras)) for p in tests)
    # Files: a module that cannot be imported is a collection error alone.
    files = [keras.joinpath(*m.split(".")).with_suffix(".py") for m in modules]
    for relative in ("conftest.py", export_patch.EXCLUDED_TESTS):
        (work / "bare" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, work / "bare" / relative)
    # Each side's settings and conftest named, none looked for above the
    # installed files (with the venv in the tree, the tree's would be).
    common = [f"--timeout={args.timeout}", f"--confcutdir={keras}"]
    sides = []
    for label, cwd, config in (
        ("release", work / "bare", os.devnull),
        ("tree", ROOT, ROOT / "pyproject.toml"),
    ):
        options = [*common, "-p", "conftest", f"--rootdir={cwd}", "-c", config]
        sides.append(Side(label, cwd, environment(), options, source=keras))
        answer = work / f"which-keras-{label}.txt"
        env = environment(WHICH_KERAS=answer, PYTHONPATH=PLUGINS)
        which = [files[0], "--collect-only", "-p", "suite_plugin"]
        sides[-1].pytest(which, work / "which.xml", env=env).wait()
        if not answer.is_file() or answer.read_text() != label:
            raise SystemExit(f"The {label} side would not run the {label}.")
    # One xdist worker: a test that crashes the process (linalg_test's
    # test_eigh kills the CPU plugin) fails, a new worker runs the rest.
    extra = ["--continue-on-collection-errors", "-n", "1"]
    title = "The release's test suite with and without the tree"
    return title, [], report(work, "the tree", sides, files, extra, modules)


OPENVINO_TESTS = "core numpy numpy_fuzz trainer".split()
TAG_TESTS = [f"keras/src/ops/{name}_test.py" for name in ("numpy", "core")]
TAG_TESTS += [f"keras/src/backend/openvino/{n}_test.py" for n in OPENVINO_TESTS]
TAG_TESTS += ["integration_tests/openvino_nan_to_num_tabular_test.py"]


def tag(args, work):
    """Keras v3.15.1's tree unpacked twice, the series applied to one; the
    test files a side has, from each root with its conftest; the tests its
    excluded list names, the list emptied; ruff on the changed files."""
    tests = args.tests or TAG_TESTS
    roots = [unpack(args.snapshot, work / side) for side in ("before", "after")]
    patches = export_patch.write_series(roots[1], work / "series")
    apply(roots[1], patches)
    sides = [
        Side(s, r, environment()) for s, r in zip(("before", "after"), roots)
    ]
    listings = {s.label: s.cwd / export_patch.EXCLUDED_TESTS for s in sides}
    diff = "\n".join(patch.read_text() for patch in patches)
    changed = sorted(set(re.findall(r"^\+\+\+ b/(.*\.py)$", diff, re.M)))
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    lint = ruff, [("the changed files after the series", roots[1], changed, 1)]
    title = "Keras v3.15.1's own tree, before and after the series"
    scope = f"- `{args.snapshot.name}`, OpenVINO, the series: "
    scope += ", ".join(patch.name for patch in patches)

    def present(side):
        return [test for test in tests if (side.cwd / test).is_file()]

    modules = set(map(dotted, tests))
    more = dict(listings=listings, lint=lint)
    table = report(
        work, "the series", sides, present, ["-n", "1"], modules, **more
    )
    return title, [scope], table


IGNORED = ("keras/src/applications", "keras/src/wrappers")
UPSTREAM_TESTS = dict(numpy=["keras/src/ops/numpy_test.py"])
UPSTREAM_TESTS["full"] = ["keras", *(f"--ignore={path}" for path in IGNORED)]


def ci_environment(openvino, path):
    """keras-openvino's CI settings, `path` after it on PYTHONPATH."""
    home = openvino / ".github/workflows/config"
    return environment(KERAS_HOME=home, PYTHONPATH=f"{openvino}:{path}")


def upstream(scope):
    def check(args, work):
        """keras-openvino's CI flow: Keras at `pluggable_backend` (mended),
        keras-openvino main beside it, with and without the series; `pytest
        keras` without applications and wrappers (`full`) or the numpy op
        suite (`numpy`), both sides at once, one xdist worker each. Then its
        excluded list emptied; the series' own tests after each patch; ruff
        with its settings."""
        packages = [*requirements(), "rich", "namex", "optree", "packaging"]
        python = venv(args.venv or VENVS["upstream"], packages, always=True)
        pip = ["-m", "pip", "uninstall", "--yes", "keras", "keras-nightly"]
        subprocess.run([python, *pip, "keras-openvino"], capture_output=True)
        keras, openvino = {}, {}
        for side in ("before", "after"):
            keras[side] = unpack(BRANCH, work / side)
            openvino[side] = unpack(KERAS_OPENVINO, work / side)
            mend(keras[side], *FUNCTIONAL, MASTER)
        patches = export_patch.write_series(openvino["after"], work / "series")
        apply(openvino["after"], patches)
        sides = [
            Side(s, keras[s], ci_environment(openvino[s], PLUGINS), (), python)
            for s in keras
        ]
        runs = []
        for number, patch in enumerate(patches, 1):
            copy = work / f"stage{number}" / "keras-openvino"
            shutil.copytree(openvino["before"], copy)
            apply(copy, patches[:number])
            own = ["keras_openvino", "integration_tests"]
            own = own[: 1 + (copy / "integration_tests").is_dir()]
            env = ci_environment(copy, keras["after"])
            side = Side(patch.stem, copy, env, (), python)
            runs.append((f"up to {patch.stem}", side, own, [BRANCH_FAILURE]))
        lint = [
            (f"{s} the series", openvino[s], ["."], s == "after") for s in keras
        ]
        listings = {s: openvino[s] / "excluded_tests.txt" for s in openvino}
        more = dict(listings=listings, ignore=IGNORED, runs=runs)
        more["lint"] = python.parent / "ruff", lint
        tests = args.tests or UPSTREAM_TESTS[scope]
        extra = ["-n", "1", "--dist", "loadfile"]
        table = report(work, "the series", sides, tests, extra, **more)
        scope_line = [
            f"- scope: `pytest {' '.join(tests)}` from `{BRANCH.name}` with "
            f"`{KERAS_OPENVINO.name}` beside it, OpenVINO; `{FUNCTIONAL[0]}` "
            "mended on both sides (`self._run_through_graph(inputs)`); "
            f"`{python.parent.parent}`: "
            f"{versions(python, ['openvino', 'numpy', 'jax'])}; "
            f"runs: the series' own tests after each patch"
        ]
        title = "keras-openvino's CI flow, before and after the series"
        return title, scope_line, table

    return check


# Suites older than Keras 3.16 call the backend's core functions from
# `keras.src.backend`; 3.16 moved them to `keras.src.backend.ops.core`.
NIGHTLY_CONFTEST = """\
import keras  # noqa: F401
from keras.src import backend

for name in ("cast", "convert_to_numpy", "convert_to_tensor", "is_tensor"):
    if not hasattr(backend, name):
        setattr(backend, name, getattr(backend.ops.core, name))
if not hasattr(backend, "standardize_dtype"):
    backend.standardize_dtype = backend.common.standardize_dtype
"""
EXPORT = "import pathlib, sys\nfrom tools import export_patch as e\n"
EXPORT += (
    "root, output = e.installed_keras_root()[0], pathlib.Path(sys.argv[1])\n"
)
EXPORT += "e.write_series(root, output)"


def nightly(args, work):
    """keras-nightly with the released keras-openvino in a venv: the series
    exported against it, applied to a copy; the tree's tests there; the
    pinned release's numpy op suite (or `--keras-source`'s) on the released
    and the patched copy, and on JAX for reference."""
    python = venv(args.venv or VENVS["nightly"], requirements(), always=True)
    pip(python, "install", "--upgrade", "--pre", "keras-nightly")
    pip(python, "install", "--upgrade", "--no-deps", "keras-openvino")
    export = subprocess.run([python, "-c", EXPORT, work / "series"], cwd=ROOT)
    # Found, not imported: a keras-nightly it no longer matches fails that.
    code = "import importlib.util as u; s = u.find_spec('keras_openvino')\n"
    code += "print(s.submodule_search_locations[0])"
    site = subprocess.run([python, "-c", code], capture_output=True, check=True)
    scratch = work / "keras-openvino"
    shutil.copytree(site.stdout.decode().strip(), scratch / "keras_openvino")
    patches = sorted((work / "series").glob("*.patch"))
    applied = apply(scratch, patches, check=False)
    (suite := work / "suite").mkdir()
    test = export_patch.SUITE_FILE
    if args.keras_source:
        source, path = f"the numpy op suite of `{args.keras_source}`", test
        path = args.keras_source / test
    else:
        (release,) = [r for r in requirements(()) if r.startswith("keras==")]
        source = f"{release}'s numpy op suite"
        pip(python, "download", "--no-deps", release, "-d", work / "release")
        with zipfile.ZipFile(next((work / "release").glob("*.whl"))) as wheel:
            path = wheel.extract(test, work / "release")
    shutil.copy(path, suite)
    (suite / "conftest.py").write_text(NIGHTLY_CONFTEST)
    released, patched, jax = (
        Side(label, suite, environment(**env), (), python)
        for label, env in (
            ("released", {}),
            ("patched", {"PYTHONPATH": scratch}),
            ("jax", {"KERAS_BACKEND": "jax"}),
        )
    )
    own = Side("own", scratch, environment(PYTHONPATH=scratch), (), python)
    runs = [("the tree's tests, patched", own, ["keras_openvino/src"], ())]
    runs[0][2].append("integration_tests")
    runs.append(("the suite on JAX", jax, ["numpy_test.py"], None))
    table = report(
        work, "the series", [released, patched], ["numpy_test.py"], runs=runs
    )
    lines, failed, results = table
    on_jax = results["the suite on JAX"]
    also = [t for t, o in results["patched"].items() if o in FAILING]
    also = sorted(t for t in also if on_jax.get(t) in FAILING)
    lines += listed("Failures on the patched side that JAX has too", also)
    failed += ["export"] * bool(export.returncode) + ["apply"] * (not applied)
    names = ["keras-nightly", "keras-openvino", "openvino"]
    scope = [
        f"- `{python.parent.parent}`: {versions(python, names)}; the series "
        f"exported (exit {export.returncode}), applied to keras-openvino as "
        f"released: {'ok' if applied else 'FAILED'}; {source}, with the "
        "pre-3.16 backend names restored, on keras-openvino as released "
        "(before) and patched (after)"
    ]
    return "keras-nightly check", scope, table


BACKENDS = [("numpy", {}), ("jax", {}), ("torch", {})]
BACKENDS.insert(2, ("jax, JAX_ENABLE_X64=1", {"JAX_ENABLE_X64": "1"}))


def keras_suite(args, work):
    """The Keras suite patch's classes on NumPy, JAX and torch in a copy of
    the `pluggable_backend` snapshot (torch's import mended), and on
    OpenVINO from this tree; then the step the series adds to
    keras-openvino's workflow, as it says, on copies of both snapshots: as
    they are, then with `Functional.call` mended."""
    packages = [*PACKAGES, "pytest", "torch==2.13.0"]
    python = venv(args.venv or VENVS["keras_suite"], packages)
    root = unpack(BRANCH, work / "keras")
    patch = export_patch.write_suite_patch(root, work / "patch")
    apply(root, [patch])
    torch = mend(root, *TORCH, TORCH_MOVED)
    pip(python, "install", "--no-deps", "-e", root)
    select = " or ".join(export_patch.suite_classes())
    tests = [export_patch.SUITE_FILE, "-k", select]
    base = environment()  # Each run sets KERAS_BACKEND.
    base.pop("JAX_ENABLE_X64", None)
    runs = []
    for label, x64 in BACKENDS:
        env = dict(base, KERAS_BACKEND=label.split(",")[0], **x64)
        runs.append((label, Side(label, root, env, (), python), tests, ()))
    tests = ["--pyargs", "keras.src.ops.numpy_test", "-k", select]
    runs.append(("openvino, this repository", Side("", ROOT, base), tests, ()))
    notes = [
        f"- Keras: `{BRANCH.name}`, `{patch.name}` applied, `{TORCH[0]}` "
        f"mended ({torch}: `torch.core` is `torch.ops.core` there), in "
        f"`{python.parent.parent}` "
        f"({versions(python, ['numpy', 'jax', 'jaxlib', 'torch'])}); "
        f"`pytest {export_patch.SUITE_FILE} -k '{select}'` from its root"
    ]
    if not args.skip_ci_step:
        ci = work / "ci"
        unpack(BRANCH, ci)  # Beside it, as the job checks them out.
        openvino = unpack(KERAS_OPENVINO, ci)
        patches = export_patch.write_series(openvino, ci / "series")
        apply(openvino, patches)
        ci_python = venv(args.ci_venv, ["openvino==2026.4.1", *PACKAGES])
        pip(ci_python, "install", "-r", openvino / "requirements.txt")
        pip(ci_python, "install", "-e", openvino)
        workflow = (openvino / export_patch.WORKFLOW).read_text()
        step = export_patch.step_command(workflow)
        job = dict(
            re.findall(r"^      (KERAS_HOME): *(.*?) *$", workflow, re.M)
        )
        env = dict(base, **job, **step["env"])
        env["PATH"] = f"{ci_python.parent}:{base['PATH']}"
        mended = unpack(BRANCH, work / "mended")
        mend(mended, *FUNCTIONAL, MASTER)
        cwd, command = ci / step["working-directory"], shlex.split(step["run"])
        for label, extra in (
            ("as it is", {}),
            ("mended", {"PYTHONPATH": str(mended)}),
        ):
            side = Side("", cwd, dict(env, **extra), (), "")  # PATH's pytest
            runs.append((f"CI step, {label}", side, command[1:], ()))
        variables = " ".join(
            f"{k}={v}" for k, v in {**job, **step["env"]}.items()
        )
        notes.append(
            f"- CI step: `cd {step['working-directory']} && {variables} "
            f"{step['run']}` beside `{KERAS_OPENVINO.name}` with the series "
            f"applied, in `{args.ci_venv}` "
            f"({versions(ci_python, ['keras-openvino', 'openvino', 'jax'])}); "
            f"mended: PYTHONPATH at a copy of the snapshot with "
            f"`{FUNCTIONAL[0]}` mended (`self._run_through_graph(inputs)`)"
        )
    title = "Keras suite patch: its test classes on every backend"
    return title, notes, report(work, "", (), (), runs=runs)


CHECKS = dict(release_suite=release_suite, tag=tag, nightly=nightly)
CHECKS.update(upstream_numpy=upstream("numpy"), upstream_full=upstream("full"))
CHECKS["keras_suite"] = keras_suite


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    description = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(
        "tools.suite_runner", description=description
    )
    option = parser.add_argument
    option("check", choices=CHECKS)
    option("--tests", nargs="*", help="release_suite: test modules; tag, "
           "upstream_*: test files (default: all the check's)")  # fmt: skip
    option("--venv", help=f"upstream_*, nightly, keras_suite; default: {VENVS}")
    option("--ci-venv", default=VENVS["ci_step"], help="keras_suite's CI step")
    option("--skip-ci-step", action="store_true", help="keras_suite")
    option("--snapshot", type=pathlib.Path, default=TAG, help="tag's tree")
    option("--timeout", type=int, default=600, help="release_suite's, a test")
    option("--keras-source", type=pathlib.Path, help="nightly's suite")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    command = [sys.executable, "-m", "tools.suite_runner", *argv]
    head = header("{}", command, started)  # The commit run, not a later one.
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{args.check}-check-"))
    title, scope, (lines, failed, _) = CHECKS[args.check](args, work)
    seconds = (datetime.datetime.now(datetime.timezone.utc) - started).seconds
    head[0] = head[0].format(title)
    head.append(f"- duration: {seconds} s; logs and reports: `{work}`")
    text = "\n".join([*head, *scope, *lines]) + "\n"
    (ROOT / "docs" / "records" / f"{args.check}.md").write_text(text)
    print(text)
    return int(bool(failed))


if __name__ == "__main__":
    sys.exit(main())
