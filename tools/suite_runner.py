"""Tests from two roots, without and with the change, compared test by test;
one-sided failures rerun (flaky or regressed); the excluded list's tests run
with it emptied. `python -m tools.suite_runner CHECK [--tests] [--venv]`."""

import argparse
import dataclasses
import datetime
import importlib.metadata
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

from tools import export_patch

ROOT = pathlib.Path(__file__).resolve().parents[1]
UP = os.environ.get("UPSTREAM_SNAPSHOTS", ROOT.parent / "shared/upstream")
TAG = pathlib.Path(UP, "keras-v3.15.1-250b42181c.tar.gz")
BRANCH = pathlib.Path(UP, "keras-pluggable_backend-937c08e60a.tar.gz")
KERAS_OPENVINO = pathlib.Path(UP, "keras-openvino-main-cba2a787ad.tar.gz")
RERUNS, RERUN_LIMIT, LISTED = 8, 20, 10  # Failing tests rerun, listed.
# `keras.src.x.y_test` for any path to that module's file.
dotted = lambda p: re.sub(r"^(.*/)?(?=keras/)|\.py$", "", p).replace("/", ".")
OUTCOMES = {"failure": "failed", "error": "error", "skipped": "skipped"}
PACKAGES = "numpy scipy absl-py rich namex h5py optree ml-dtypes packaging"
PACKAGES = [*PACKAGES.split(), "jax[cpu]"]
REQUIREMENTS = (ROOT / "requirements-openvino.txt").read_text().splitlines()
REQUIREMENTS = [r for r in REQUIREMENTS if re.match(r"(?!keras==)\w", r)]
# At 937c08e60a, `Functional.call` fails, "NameError: name 'operation_fn' is
# not defined" (#23397 over #23364); master's line, the mend, has `(inputs)`.
FUNCTIONAL = "keras/src/models/functional.py", r"\(\s*inputs,[^)]*\),\s*\)"
FUNCTIONAL += ("(inputs)",)
# There, `torch.core` is `torch.ops.core`: unmended, `import keras` fails.
TORCH = "keras/src/backend/torch/trainer.py", r"torch\.core import"
TORCH += ("torch.ops.core import",)
# OpenVINO, no PYTHONPATH unless given: where a run starts picks its Keras.
BASE = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
BASE["KERAS_BACKEND"] = "openvino"
TABLE = ["", "| run | tests | passed | failing | skipped | xfailed |"]
TABLE += ["|-|-:|-:|-:|-:|-:|"]
SKIPS = "skipped", "xfailed"  # An xfail: <skipped type="pytest.xfail">
listed = lambda title, xs: [f"\n{title}: {len(xs)}.", *(f"- `{x}`" for x in xs)]
only = lambda a, b: sorted(t for t in a if a[t] == "passed" != b.get(t))


@dataclasses.dataclass
class Side:
    """pytest from `cwd`; test ids' modules under `source` (or `cwd`)."""

    label: str
    cwd: pathlib.Path
    env: dict
    args: tuple = ()
    python: str = sys.executable
    source: pathlib.Path = None

    def pytest(self, tests, report=None, extra=()):
        command = [self.python, "-m", "pytest", *tests, "-q", *self.args]
        command += ["-p", "no:cacheprovider", *extra]
        if report:
            command += [f"--junitxml={report}", "-o", "junit_family=xunit1"]
        log = open(report.with_suffix(".log") if report else os.devnull, "w")
        env = {key: str(value) for key, value in self.env.items()}
        options = dict(cwd=self.cwd, env=env, stdout=log, stderr=log)
        return subprocess.Popen(list(map(str, command)), **options)

    def rerun(self, test_id):
        module, rest = test_id.split("::", 1)
        path = (self.source or self.cwd).joinpath(*module.split("."))
        node = [f"{path.with_suffix('.py')}::{rest}"]
        return sum(self.pytest(node).wait() != 0 for _ in range(RERUNS))


def outcomes(report):
    """test id -> outcome; errors "collect <module>", "run <missing report>"."""
    if not report.is_file():
        return {f"run {report.stem}": "error"}
    results = {}
    for case in ElementTree.parse(report).iter("testcase"):
        module, test_class = dotted(case.get("file")), case.get("classname")
        if not test_class:  # A module that cannot be collected.
            results[f"collect {module}"] = "error"
            continue
        tags = [OUTCOMES[c.tag] for c in case if c.tag in OUTCOMES]
        xfail = [c for c in case if c.get("type") == "pytest.xfail"]
        tags += ["xfailed"] * bool(xfail)
        test_id = f"{module}::{test_class.split('.')[-1]}::{case.get('name')}"
        results[test_id] = (tags or ["passed"])[-1]
    return results


def run_sides(sides, tests, work, name, extra=()):
    """All sides at once, each with `tests(side)`: outcomes per label."""
    reports = {side.label: work / f"{name}.{side.label}.xml" for side in sides}
    runs = [s.pytest(tests(s), reports[s.label], extra) for s in sides]
    [run.wait() for run in runs]
    return {label: outcomes(report) for label, report in reports.items()}


def entry_outcome(entry, results):
    """`passed` when every test the entry names passes."""
    found = [outcome for test, outcome in results.items() if entry in test]
    failed = sum(outcome in ("failed", "error") for outcome in found)
    if failed or not found:
        return f"{failed} of {len(found)} fail" if failed else "not run"
    return "passed" if set(found) == {"passed"} else "skipped"


def report(work, sides, tests, extra=(), listings=(), runs=(), ignore=()):
    """Lines and failures: `sides`, the tests `listings` name, `runs`."""
    results, lines, failed, flaky = {}, [], [], {}
    if sides:
        files = tests if callable(tests) else lambda side: tests
        results = run_sides(sides, files, work, "suite", extra)
        old, new = results.values()
        for test in [t for t in only(old, new) if " " not in t][:RERUN_LIMIT]:
            after, before = [side.rerun(test) for side in sides[::-1]]
            flaky.update({test: f"{test}: {after}, {before}"} if before else {})
        failed = [t for t in only(old, new) if t not in flaky]
        lines += listed("Pass without the change, fail with it", failed)
        title = f"Flaky: failures in {RERUNS} reruns with it, without"
        lines += listed(title, [*flaky.values()])
        lines += listed("Pass only with the change", only(new, old))
    if listings:
        entries = re.findall(r"^\s*([^#\s]\S*)", listings[0].read_text(), re.M)
        classes = "|".join({re.escape(e.split("::")[0]) for e in entries})
        pattern = re.compile(rf"^class ({classes})\b", re.M)

        def files(side):
            paths = (side.cwd / "keras").rglob("*_test.py")
            paths = [p for p in paths if pattern.search(p.read_text())]
            paths = [str(p.relative_to(side.cwd)) for p in paths]
            return [p for p in sorted(paths) if not p.startswith(ignore)]

        select = " or ".join(f"({e.replace('::', ' and ')})" for e in entries)
        saved = [path.read_text() for path in listings]
        [path.write_text("") for path in listings]
        # `test_eig` names `test_eigh` too, which crashes OpenVINO: xdist.
        extra = ["-k", select, "-n", "1", "--continue-on-collection-errors"]
        old, new = run_sides(sides, files, work, "excluded", extra).values()
        [path.write_text(text) for path, text in zip(listings, saved)]
        lines += ["\nExcluded-list entries, before; after; kept after:"]
        for entry in entries:
            was, now = entry_outcome(entry, old), entry_outcome(entry, new)
            kept = entry in saved[1].split()
            lines.append(f"- `{entry}`: {was}; {now}; {kept}")
            failed += [f"{entry} must go"] * (now == "passed" != was and kept)
    for number, (label, side, tests) in enumerate(runs):
        side.pytest(tests, path := work / f"run{number}.xml").wait()
        results[label] = one = outcomes(path)
        bad = [t for t, o in one.items() if o in ("failed", "error")]
        lines += listed(f"{label}, failing", bad)[: LISTED + 1] * bool(bad)
        failed += bad
    table = [*TABLE]
    for label, one in results.items():
        n = [*one.values()].count
        n = [len(one), n("passed"), n("failed") + n("error"), *map(n, SKIPS)]
        table.append(f"| {label} | {' | '.join(map(str, n))} |")
    return table + lines + listed("Failing", failed)[:1], failed


def unpack(snapshot, directory, write=None, *mends):
    """The snapshot's root, patches `write(root, folder)` and `mends` made."""
    directory.mkdir(parents=True, exist_ok=True)
    before = set(directory.iterdir())
    shutil.unpack_archive(snapshot, directory, filter="data")
    (root,) = set(directory.iterdir()) - before
    for patch in write(root, directory / "patches") if write else ():
        subprocess.run(["git", "apply", patch.resolve()], cwd=root, check=True)
    for file, pattern, new in mends:
        text = re.sub(pattern, new, (root / file).read_text())
        (root / file).write_text(text)
    return root


def pip(python, *args):
    """pip in `python`'s venv, made when missing."""
    if not python.is_file():
        subprocess.check_call(["python3.11", "-m", "venv", python.parents[1]])
    subprocess.check_call([python, "-m", "pip", args[0], "--quiet", *args[1:]])


def header(title, command, started):
    """A record's first lines: command, date, commit, machine."""
    git = lambda *args: subprocess.check_output(["git", "-C", ROOT, *args])
    commit = git("rev-parse", "HEAD").decode().strip()
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    names = ["keras", "openvino", "numpy", "jax"]
    names = ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)
    return [
        f"# {title}\n\n- command: `{' '.join(command)}` (from the root)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC\n- commit: {commit}",
        f"- machine: {platform.node()}, {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}; {names}",
    ]


def release_suite(args, work):
    """The installed Keras wheel's test modules on OpenVINO, from a folder
    with only the tree's conftest.py and excluded list (the release, the
    same skips), and from the repository's root (the tree laid over it)."""
    keras = export_patch.installed_keras_root()[0]
    files = sorted((keras / "keras" / "src").rglob("*_test.py"))
    modules = [keras.joinpath(*m.split(".")) for m in args.tests or ()]
    files = [m.with_suffix(".py") for m in modules] or files
    for relative in ("conftest.py", export_patch.EXCLUDED_TESTS):
        (work / "bare" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, work / "bare" / relative)
    sides = []
    for label, cwd in ("release", work / "bare"), ("tree", ROOT):
        config = ROOT / "pyproject.toml" if label == "tree" else os.devnull
        # Its settings and conftest named, none looked for above the wheel.
        options = ["--timeout=600", f"--confcutdir={keras}", "-p", "conftest"]
        options += [f"--rootdir={cwd}", "-c", config]
        sides.append(Side(label, cwd, BASE, options, source=keras))
        # Each side must import its own Keras, or the check compares nothing.
        where = [sys.executable, "-c", "import keras; print(keras.__file__)"]
        found = subprocess.check_output(where, cwd=cwd, env=BASE, text=True)
        if not found.startswith(str(keras if label == "release" else ROOT)):
            sys.exit(f"{label} side imports keras from {found}")
    # In an xdist worker, a test that crashes OpenVINO fails, not the run.
    extra = ["--continue-on-collection-errors", "-n", "1"]
    return report(work, sides, files, extra)


TAG_TESTS = "ops/numpy ops/core backend/openvino/core backend/openvino/numpy"
TAG_TESTS += " backend/openvino/numpy_fuzz backend/openvino/trainer"
TAG_TESTS = [f"keras/src/{name}_test.py" for name in TAG_TESTS.split()]
TAG_TESTS += ["integration_tests/openvino_nan_to_num_tabular_test.py"]


def tag(args, work):
    """Keras v3.15.1's tree (its snapshot) unpacked twice, the series applied
    to one; on OpenVINO, from each root with its conftest, the test files of
    `TAG_TESTS` a side has; the tests its excluded list names."""
    writers = dict(before=None, after=export_patch.write_series)
    roots = [unpack(TAG, work / side, w) for side, w in writers.items()]
    sides = [Side(s, root, BASE) for s, root in zip(writers, roots)]
    listings = [side.cwd / export_patch.EXCLUDED_TESTS for side in sides]
    tests = args.tests or TAG_TESTS
    present = lambda side: [t for t in tests if (side.cwd / t).is_file()]
    return report(work, sides, present, ["-n", "1"], listings)


def upstream(args, work, tests):
    """keras-openvino's CI flow without and with the series (as a whole):
    from the `pluggable_backend` snapshot (`Functional.call` mended), with
    keras-openvino main's conftest, excluded list and KERAS_HOME, `pytest
    keras/src/ops/numpy_test.py` or `pytest keras` without applications and
    wrappers; the tests its excluded list names; the series' own tests."""
    python = pathlib.Path(args.venv or ROOT / ".venv-upstream", "bin/python")
    pip(python, "install", *REQUIREMENTS, "rich", "namex", "optree")
    pip(python, "uninstall", "-y", "keras", "keras-nightly", "keras-openvino")
    sides, listings = [], []
    for label in ("before", "after"):
        keras = unpack(BRANCH, work / label, None, FUNCTIONAL)  # As CI has it.
        write = export_patch.write_series if label == "after" else None
        openvino = unpack(KERAS_OPENVINO, work / label, write)
        listings.append(openvino / "excluded_tests.txt")
        home = openvino / ".github/workflows/config"
        env = dict(BASE, KERAS_HOME=home, PYTHONPATH=f"{openvino}:{keras}")
        sides.append(Side(label, keras, env, (), python))
    own = dataclasses.replace(sides[1], cwd=openvino)
    runs = [("own tests", own, ["keras_openvino", "integration_tests"])]
    tests = args.tests or tests
    ignore = tuple(t[9:] for t in tests if t.startswith("--ignore="))
    extra = ["-n", "1", "--dist", "loadfile"]
    return report(work, sides, tests, extra, listings, runs, ignore)


# Suites before Keras 3.16 call the core functions 3.16 moved to `ops.core`.
NIGHTLY_CONFTEST = """from keras.src import backend

for name in ("cast", "convert_to_numpy", "convert_to_tensor", "is_tensor"):
    if not hasattr(backend, name):
        setattr(backend, name, getattr(backend.ops.core, name))
if not hasattr(backend, "standardize_dtype"):
    backend.standardize_dtype = backend.common.standardize_dtype
"""


def nightly(args, work):
    """keras-nightly and the released keras-openvino: the series exported and
    applied to a copy; the pinned release's numpy op suite (with pre-3.16
    backend names restored) on keras-openvino as released and patched."""
    python = pathlib.Path(args.venv or ROOT / ".venv-nightly", "bin/python")
    pip(python, "install", *REQUIREMENTS)
    pip(python, "install", "--upgrade", "--pre", "keras-nightly")
    pip(python, "install", "--upgrade", "--no-deps", "keras-openvino")
    series = ["-m", "tools.export_patch", "--series", "--output-dir", work]
    export = subprocess.run([python, *series], cwd=ROOT).returncode
    scratch = work / "keras-openvino"
    site = python.parents[1].glob("lib/python*/site-packages/keras_openvino")
    shutil.copytree(next(site), scratch / "keras_openvino")
    git = [["git", "apply", patch] for patch in sorted(work.glob("*.patch"))]
    applied = not any(subprocess.run(c, cwd=scratch).returncode for c in git)
    (suite := work / "suite").mkdir()
    keras = export_patch.installed_keras_root()[0]  # The pinned release.
    shutil.copy(keras / export_patch.SUITE_FILE, suite)
    (suite / "conftest.py").write_text(NIGHTLY_CONFTEST)
    sides = [Side("released", suite, BASE, (), python)]
    env = dict(BASE, PYTHONPATH=scratch)
    sides.append(Side("patched", suite, env, (), python))
    lines, failed = report(work, sides, ["numpy_test.py"])
    lines += [f"\nExport: exit {export}; applied: {applied}."]
    return lines, failed + ["export"] * bool(export) + ["apply"] * (not applied)


def keras_suite(args, work):
    """The Keras suite patch's classes on NumPy, JAX (without and with x64)
    and torch in the `pluggable_backend` snapshot, patched, torch's import
    mended, and on OpenVINO from this tree; then the step the series adds to
    keras-openvino's workflow, as it says, keras-openvino installed, the
    snapshot beside it as it is (its model tests xfail: `Functional.call`
    raises NameError there)."""
    python = pathlib.Path(args.venv or "/tmp/suite-venv-b", "bin/python")
    write = lambda root, folder: [export_patch.write_suite_patch(root, folder)]
    root = unpack(BRANCH, work / "keras", write, TORCH)
    pip(python, "install", *PACKAGES, "pytest", "torch==2.13.0")
    pip(python, "install", "--no-deps", "-e", root)
    select = " or ".join(export_patch.suite_classes())
    tests = [export_patch.SUITE_FILE, "-k", select]
    runs = []
    for backend, x64 in ("numpy", 0), ("jax", 0), ("jax", 1), ("torch", 0):
        env = dict(BASE, KERAS_BACKEND=backend, JAX_ENABLE_X64=x64)
        label = backend + ", JAX_ENABLE_X64=1" * x64
        runs.append((label, Side(label, root, env, (), python), tests))
    pyargs = ["--pyargs", "keras.src.ops.numpy_test", "-k", select]
    runs.append(("openvino, here", Side("", ROOT, BASE), pyargs))
    unpack(BRANCH, work / "ci")  # Beside keras-openvino, unmended, as CI.
    openvino = unpack(KERAS_OPENVINO, work / "ci", export_patch.write_series)
    ci = pathlib.Path("/tmp/ci-venv-b/bin/python")
    requirements = ["-r", openvino / "requirements.txt", "-e", openvino]
    pip(ci, "install", "openvino==2026.4.1", *PACKAGES, *requirements)
    workflow = (openvino / export_patch.WORKFLOW).read_text()
    step = export_patch.step_command(workflow)
    job = dict(re.findall(r"^      (KERAS_HOME): *(.*?) *$", workflow, re.M))
    env = dict(BASE, **job, **step["env"])
    side = Side("", work / "ci" / step["working-directory"], env, (), ci)
    runs.append(("CI step", side, step["run"].split()[1:]))  # `pytest ...`
    return report(work, (), (), runs=runs)


IGNORED = ["--ignore=keras/src/applications", "--ignore=keras/src/wrappers"]
CHECKS = {f.__name__: [f] for f in (release_suite, tag, nightly, keras_suite)}
CHECKS["upstream_numpy"] = [upstream, ["keras/src/ops/numpy_test.py"]]
CHECKS["upstream_full"] = [upstream, ["keras", *IGNORED]]


def main():
    parser = argparse.ArgumentParser("tools.suite_runner")
    parser.add_argument("check", choices=CHECKS)
    parser.add_argument("--tests", nargs="*", help="test modules or files")
    parser.add_argument("--venv", help="upstream_*, nightly, keras_suite")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    command = [sys.executable, "-m", "tools.suite_runner", *sys.argv[1:]]
    check, *more = CHECKS[args.check]
    lines = header(f"`{args.check}`", command, started)  # Commit: at start.
    lines += ["", " ".join(check.__doc__.split())]
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{args.check}-check-"))
    table, failed = check(args, work, *more)
    seconds = (datetime.datetime.now(datetime.UTC) - started).seconds
    lines += [f"\nDuration: {seconds} s; logs and reports: `{work}`.", *table]
    text = "\n".join(lines) + "\n"
    (ROOT / "docs" / "records" / f"{args.check}.md").write_text(text)
    print(text)
    return int(bool(failed))


if __name__ == "__main__":
    sys.exit(main())
