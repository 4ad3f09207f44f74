"""One suite runner: a check's tests from two roots, without and with the
change, compared test by test from JUnit reports; what passes only without
it rerun on both sides (flaky, or a regression); the tests the excluded list
names run with it emptied (entries the change makes pass must go).

    /work/main/.venv/bin/python -m tools.suite_runner CHECK [--tests] [--venv]
"""

import argparse
import collections
import dataclasses
import datetime
import importlib.metadata
import os
import pathlib
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

from tools import export_patch
from tools import keras_suite_patch as suite_patch

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tools" / "pytest_plugins"
UP = os.environ.get("UPSTREAM_SNAPSHOTS", ROOT.parent / "shared/upstream")
TAG = pathlib.Path(UP, "keras-v3.15.1-250b42181c.tar.gz")
BRANCH = pathlib.Path(UP, "keras-pluggable_backend-937c08e60a.tar.gz")
KERAS_OPENVINO = pathlib.Path(UP, "keras-openvino-main-cba2a787ad.tar.gz")
VENVS = dict(upstream=ROOT / ".venv-upstream", nightly=ROOT / ".venv-nightly")
VENVS.update(keras_suite="/tmp/suite-venv-b", ci_step="/tmp/ci-venv-b")
RERUNS, RERUN_LIMIT, LISTED = 8, 20, 10  # Failing tests rerun, listed.
OUTCOMES = {"failure": "failed", "error": "error", "skipped": "skipped"}
PACKAGES = "numpy scipy absl-py rich namex h5py optree ml-dtypes packaging"
PACKAGES = [*PACKAGES.split(), "jax[cpu]"]
REQUIREMENTS = (ROOT / "requirements-openvino.txt").read_text().splitlines()
REQUIREMENTS = [r for r in REQUIREMENTS if re.match(r"(?!keras==)\w", r)]
# At 937c08e60a, `Functional.call` passes names that no longer exist (Keras
# #23397 over #23364): functional models fail with "NameError: name
# 'operation_fn' is not defined". The mend is master's line,
# `outputs = self._run_through_graph(inputs)`.
FUNCTIONAL = "keras/src/models/functional.py", r"\(\s*inputs,[^)]*\),\s*\)"
FUNCTIONAL += ("(inputs)",)
# There, `torch.core` is `torch.ops.core`: unmended, `import keras` fails.
TORCH = "keras/src/backend/torch/trainer.py", r"torch\.core import"
TORCH += ("torch.ops.core import",)
TABLE = ["", "| run | tests | passed | failed or error | skipped |"]
TABLE += ["|---|---:|---:|---:|---:|"]
EXCLUDED = ["", "| excluded-list entry | before | after | after, it is |"]
EXCLUDED += ["|---|---|---|---|"]


listed = lambda title, xs: [f"\n{title}: {len(xs)}.", *(f"- `{x}`" for x in xs)]
only = lambda a, b: sorted(t for t in a if a[t] == "passed" != b.get(t))


def environment(**extra):
    """OpenVINO; on PYTHONPATH what is given, then the suite plugin's folder:
    where a run starts decides which Keras it imports."""
    path = [*filter(None, [extra.pop("PYTHONPATH", None)]), PLUGINS]
    env = {**os.environ, "KERAS_BACKEND": "openvino", **extra}
    return dict(env, PYTHONPATH=":".join(map(str, path)))


@dataclasses.dataclass
class Side:
    """pytest (PATH's without `python`) from `cwd` with `env` and `args`, a
    JUnit report and its log beside it; test ids' modules under `source`."""

    label: str
    cwd: pathlib.Path
    env: dict
    args: tuple = ()
    python: str = sys.executable
    source: pathlib.Path = None

    def pytest(self, tests, report=None, extra=()):
        command = [self.python, "-m", "pytest"] if self.python else ["pytest"]
        command += [*tests, "-q", "-p", "no:cacheprovider", *self.args, *extra]
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


def dotted(path):
    """`keras.src.x.y_test` for any path to that module's file."""
    parts = pathlib.PurePath(path).with_suffix("").parts
    if "keras" in parts:
        parts = parts[len(parts) - parts[::-1].index("keras") - 1 :]
    return ".".join(parts)


def outcomes(report):
    """test id -> passed, failed, error or skipped; a module that cannot be
    collected (from the log) is the error "collect <module>", a run without
    a report the error "run <name>"."""
    if not report.is_file():
        return {f"run {report.stem}": "error"}
    text = report.with_suffix(".log").read_text(errors="replace")
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
    """The record's lines and what failed: both `sides` at once; what passes
    only before rerun on each side (the first `RERUN_LIMIT`; failing before
    too, it is flaky); the tests the excluded list before names, with the
    `listings` emptied; then the single `runs` (label, side, tests)."""
    results, lines, failed, flaky = {}, [], [], {}
    if sides:
        files = tests if callable(tests) else lambda side: tests
        results = run_sides(sides, files, work, "suite", extra)
        old, new = results.values()
        for test in [t for t in only(old, new) if " " not in t][:RERUN_LIMIT]:
            fails = [side.rerun(test) for side in sides[::-1]]
            flaky.update({test: fails} if fails[1] else {})
        failed = [t for t in only(old, new) if t not in flaky]
        lines += listed("Pass without the change, fail with it", failed)
        lines += listed(
            f"Flaky: failed only with the change, then on both sides in "
            f"{RERUNS} reruns each (failures with it, without)",
            [f"{t}: {after}, {before}" for t, (after, before) in flaky.items()],
        )
        lines += listed("Pass only with the change", only(new, old))
    if listings:
        text = listings[0].read_text().splitlines()
        entries = [e.strip() for e in text if e.strip() and e[0] != "#"]
        classes = "|".join({re.escape(e.split("::")[0]) for e in entries})
        pattern = re.compile(rf"^class ({classes})\b", re.M)

        def files(side):
            paths = (side.cwd / "keras").rglob("*_test.py")
            paths = [p for p in paths if pattern.search(p.read_text())]
            paths = [str(p.relative_to(side.cwd)) for p in paths]
            return [p for p in sorted(paths) if not p.startswith(ignore)]

        env = dict(ONLY_MATCHING=" ".join(entries))  # The plugin's selection.
        sides = [dataclasses.replace(s, env={**s.env, **env}) for s in sides]
        saved = [path.read_text() for path in listings]
        [path.write_text("") for path in listings]
        # In an xdist worker, a test that crashes the plugin (`test_eigh`,
        # which the entry `test_eig` names too) fails, not the whole run.
        extra = ["-p", "suite_plugin", "-n", "1"]
        extra += ["--continue-on-collection-errors"]
        old, new = run_sides(sides, files, work, "excluded", extra).values()
        [path.write_text(text) for path, text in zip(listings, saved)]
        lines += EXCLUDED
        for entry in entries:
            was, now = entry_outcome(entry, old), entry_outcome(entry, new)
            kept = entry in saved[1].split()
            state = "kept" if kept else "removed"
            lines.append(f"| `{entry}` | {was} | {now} | {state} |")
            failed += [f"{entry} must go"] * (now == "passed" != was and kept)
    for number, (label, side, tests) in enumerate(runs):
        side.pytest(tests, path := work / f"run{number}.xml").wait()
        results[label] = one = outcomes(path)
        bad = [t for t, o in one.items() if o in ("failed", "error")]
        lines += listed(f"{label}, failing", bad)[: LISTED + 1] * bool(bad)
        failed += bad
    table = [*TABLE]
    for label, one in results.items():
        n = collections.Counter(one.values())
        n = [len(one), n["passed"], n["failed"] + n["error"], n["skipped"]]
        table.append(f"| {label} | {' | '.join(map(str, n))} |")
    return table + lines + listed("Failing", failed)[:1], failed


def unpack(snapshot, directory, write=None):
    """The snapshot's root folder unpacked into `directory`, with the
    patches `write(root, folder)` writes against it applied."""
    directory.mkdir(parents=True, exist_ok=True)
    before = set(directory.iterdir())
    shutil.unpack_archive(snapshot, directory, filter="data")
    (root,) = set(directory.iterdir()) - before
    for patch in write(root, directory / "patches") if write else ():
        subprocess.run(["git", "apply", patch.resolve()], cwd=root, check=True)
    return root


def mend(root, relative, pattern, new):
    """Replaces `pattern` with `new` in `root/relative`; how many times."""
    text, count = re.subn(pattern, new, (root / relative).read_text())
    (root / relative).write_text(text)
    return count


def pip(python, *args):
    """pip in `python`'s venv, made when missing."""
    if not python.is_file():
        venv = ["python3.11", "-m", "venv", python.parents[1]]
        subprocess.run(venv, check=True)
    command = [python, "-m", "pip", args[0], "--quiet", *args[1:]]
    subprocess.run(command, check=True)


def header(title, command, started):
    """A record's first lines: command, date, commit, machine."""
    git = lambda *args: subprocess.check_output(["git", "-C", ROOT, *args])
    dirty = git("status", "--porcelain", "--untracked-files=no")
    cpu = pathlib.Path("/proc/cpuinfo").read_text()
    cpu = re.findall(r"model name\s*: (.*)", cpu) + [platform.processor()]
    names = ["keras", "openvino", "numpy", "jax"]
    names = [f"{n} {importlib.metadata.version(n)}" for n in names]
    return [
        f"# {title}",
        "",
        f"- command: `{shlex.join(command)}` (from the repository's root)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- commit: {git('rev-parse', 'HEAD').decode().strip()}"
        + " (with uncommitted changes)" * bool(dirty),
        f"- machine: {platform.node()}, {cpu[0]}, {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}; "
        + ", ".join(names),
    ]


def release_suite(args, work):
    """The installed Keras wheel's test modules on OpenVINO, from a folder
    with only the tree's conftest.py and excluded list (the release, the
    same skips), and from the repository's root (the tree laid over it)."""
    keras = export_patch.installed_keras_root()[0]
    tests = (keras / "keras" / "src").rglob("*_test.py")
    modules = args.tests or sorted(dotted(p.relative_to(keras)) for p in tests)
    # Files: a module that cannot be imported is a collection error alone.
    files = [keras.joinpath(*m.split(".")).with_suffix(".py") for m in modules]
    for relative in ("conftest.py", export_patch.EXCLUDED_TESTS):
        (work / "bare" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, work / "bare" / relative)
    sides = []
    for label, cwd, config in (
        ("release", work / "bare", os.devnull),
        ("tree", ROOT, ROOT / "pyproject.toml"),
    ):
        # The side's settings and conftest named, none looked for above the
        # installed files (with the venv in the tree, the tree's would be).
        options = ["--timeout=600", f"--confcutdir={keras}", "-p", "conftest"]
        options += [f"--rootdir={cwd}", "-c", config]
        sides.append(Side(label, cwd, environment(), options, source=keras))
    # One xdist worker: a test that crashes the process (linalg_test's
    # test_eigh kills the CPU plugin) fails, a new worker runs the rest.
    extra = ["--continue-on-collection-errors", "-n", "1"]
    return report(work, sides, files, extra)


TAG_TESTS = [f"keras/src/ops/{name}_test.py" for name in ("numpy", "core")]
TAG_TESTS += [
    f"keras/src/backend/openvino/{name}_test.py"
    for name in ("core", "numpy", "numpy_fuzz", "trainer")
]
TAG_TESTS += ["integration_tests/openvino_nan_to_num_tabular_test.py"]


def tag(args, work):
    """Keras v3.15.1's tree (its snapshot) unpacked twice, the series applied
    to one; on OpenVINO, from each root with its conftest, the test files of
    `TAG_TESTS` a side has; the tests its excluded list names."""
    sides = [
        Side(label, unpack(TAG, work / label, write), environment())
        for label, write in (
            ("before", 0),
            ("after", export_patch.write_series),
        )
    ]
    listings = [side.cwd / export_patch.EXCLUDED_TESTS for side in sides]
    tests = args.tests or TAG_TESTS
    present = lambda side: [t for t in tests if (side.cwd / t).is_file()]
    return report(work, sides, present, ["-n", "1"], listings)


def ci_trees(directory, series):
    """Keras at `pluggable_backend`, `Functional.call` mended, keras-openvino
    main beside it (with the series if `series`), as its CI has them."""
    keras = unpack(BRANCH, directory)
    mend(keras, *FUNCTIONAL)
    write = export_patch.write_series if series else None
    return keras, unpack(KERAS_OPENVINO, directory, write)


def upstream(args, work, tests):
    """keras-openvino's CI flow without and with the series (as a whole),
    from the `pluggable_backend` snapshot's root with `Functional.call`
    mended, keras-openvino main's beside it giving the conftest, excluded
    list and KERAS_HOME: `pytest keras/src/ops/numpy_test.py` (numpy) or
    `pytest keras` without applications and wrappers (full); the tests the
    excluded list names; the series' own tests after it."""
    python = pathlib.Path(args.venv or VENVS["upstream"], "bin", "python")
    pip(python, "install", *REQUIREMENTS, "rich", "namex", "optree")
    names = ["keras", "keras-nightly", "keras-openvino"]
    subprocess.run([python, "-m", "pip", "uninstall", "-yq", *names])
    sides, listings = [], []
    for label in ("before", "after"):
        keras, openvino = ci_trees(work / label, label == "after")
        listings.append(openvino / "excluded_tests.txt")
        home = openvino / ".github/workflows/config"
        env = environment(KERAS_HOME=home, PYTHONPATH=f"{openvino}:{keras}")
        sides.append(Side(label, keras, env, (), python))
    own = dataclasses.replace(sides[1], cwd=openvino)
    runs = [("own tests", own, ["keras_openvino", "integration_tests"])]
    tests = args.tests or tests
    ignore = tuple(t[9:] for t in tests if t.startswith("--ignore="))
    extra = ["-n", "1", "--dist", "loadfile"]
    return report(work, sides, tests, extra, listings, runs, ignore)


# Suites older than Keras 3.16 call the backend's core functions from
# `keras.src.backend`; 3.16 moved them to `keras.src.backend.ops.core`.
NIGHTLY_CONFTEST = """from keras.src import backend

for name in ("cast", "convert_to_numpy", "convert_to_tensor", "is_tensor"):
    if not hasattr(backend, name):
        setattr(backend, name, getattr(backend.ops.core, name))
if not hasattr(backend, "standardize_dtype"):
    backend.standardize_dtype = backend.common.standardize_dtype
"""


def nightly(args, work):
    """keras-nightly and the released keras-openvino in a venv: the series
    exported against it and applied to a copy of keras-openvino; the pinned
    release's numpy op suite, with a conftest restoring the pre-3.16 backend
    names, on keras-openvino as released and patched."""
    python = pathlib.Path(args.venv or VENVS["nightly"], "bin", "python")
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
    shutil.copy(keras / suite_patch.SUITE_FILE, suite)
    (suite / "conftest.py").write_text(NIGHTLY_CONFTEST)
    sides = [Side("released", suite, environment(), (), python)]
    env = environment(PYTHONPATH=scratch)
    sides.append(Side("patched", suite, env, (), python))
    lines, failed = report(work, sides, ["numpy_test.py"])
    lines += [f"\nExport: exit {export}; applied: {applied}."]
    return lines, failed + ["export"] * bool(export) + ["apply"] * (not applied)


def keras_suite(args, work):
    """The Keras suite patch's classes on NumPy, JAX (without and with x64)
    and torch in a copy of the `pluggable_backend` snapshot with the patch
    and torch's import mended, and on OpenVINO from this tree; then the
    step the series adds to keras-openvino's workflow, as it says, with
    keras-openvino installed and the snapshot, `Functional.call` mended,
    beside it (unmended, its graph tests fail with the NameError)."""
    python = pathlib.Path(args.venv or VENVS["keras_suite"], "bin", "python")
    write = lambda root, folder: [suite_patch.write_suite_patch(root, folder)]
    root = unpack(BRANCH, work / "keras", write)
    mend(root, *TORCH)
    pip(python, "install", *PACKAGES, "pytest", "torch==2.13.0")
    pip(python, "install", "--no-deps", "-e", root)
    select = " or ".join(suite_patch.suite_classes())
    tests = [suite_patch.SUITE_FILE, "-k", select]
    runs = []
    for backend, x64 in ("numpy", 0), ("jax", 0), ("jax", 1), ("torch", 0):
        env = environment(KERAS_BACKEND=backend, JAX_ENABLE_X64=x64)
        label = backend + ", JAX_ENABLE_X64=1" * x64
        runs.append((label, Side(label, root, env, (), python), tests))
    pyargs = ["--pyargs", "keras.src.ops.numpy_test", "-k", select]
    runs.append(("openvino, here", Side("", ROOT, environment()), pyargs))
    openvino = ci_trees(work / "ci", True)[1]
    ci = pathlib.Path(VENVS["ci_step"], "bin", "python")
    pip(ci, "install", "openvino==2026.4.1", *PACKAGES)
    pip(ci, "install", "-r", openvino / "requirements.txt")
    pip(ci, "install", "-e", openvino)
    workflow = (openvino / suite_patch.WORKFLOW).read_text()
    step = suite_patch.step_command(workflow)
    job = dict(re.findall(r"^      (KERAS_HOME): *(.*?) *$", workflow, re.M))
    path = f"{ci.parent}:{os.environ['PATH']}"  # Its pytest.
    env = environment(**job, **step["env"], PATH=path)
    cwd, command = work / "ci" / step["working-directory"], step["run"]
    runs.append(
        ("CI step", Side("", cwd, env, (), ""), shlex.split(command)[1:])
    )
    return report(work, (), (), runs=runs)


IGNORED = ["--ignore=keras/src/applications", "--ignore=keras/src/wrappers"]
CHECKS = dict(release_suite=[release_suite], tag=[tag], nightly=[nightly])
CHECKS["upstream_numpy"] = [upstream, ["keras/src/ops/numpy_test.py"]]
CHECKS["upstream_full"] = [upstream, ["keras", *IGNORED]]
CHECKS["keras_suite"] = [keras_suite]


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
