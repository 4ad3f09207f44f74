"""One suite runner: a check's tests from two roots, without and with the
change, compared test by test from JUnit reports; a test passing only without
it is rerun on both sides (flaky, or a regression); the tests the excluded
list names run with it emptied (entries the change makes pass must go). Each
check describes its target (trees, tests, roots, conftests); its record,
`docs/records/<check>.md`, opens with command, date, commit and machine.

    /work/main/.venv/bin/python -m tools.suite_runner CHECK [--tests] [--venv]
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
# At 937c08e60a, `Functional.call` passes names that no longer exist (Keras
# #23397 over #23364): functional models fail with "NameError: name
# 'operation_fn' is not defined". The mend is master's line,
# `outputs = self._run_through_graph(inputs)`.
FUNCTIONAL = "keras/src/models/functional.py", r"\(\s*inputs,[^)]*\),\s*\)"
FUNCTIONAL += ("(inputs)",)
# There, `torch.core` is `torch.ops.core`: unmended, `import keras` fails.
TORCH = "keras/src/backend/torch/trainer.py", r"torch\.core import"
TORCH += ("torch.ops.core import",)
listed = lambda title, items: [f"\n{title}: {len(items)}."] + [
    f"- `{item}`" for item in items
]
only = lambda one, other: sorted(
    t for t, o in one.items() if o == "passed" != other.get(t)
)


def environment(**extra):
    """OpenVINO; on PYTHONPATH what is given, then the suite plugin's folder:
    where a run starts decides which Keras it imports."""
    path = [*filter(None, [extra.pop("PYTHONPATH", None)]), PLUGINS]
    extra = dict(extra, PYTHONPATH=":".join(map(str, path)))
    return dict(
        os.environ,
        KERAS_BACKEND="openvino",
        **{k: str(v) for k, v in extra.items()},
    )


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
        options = dict(cwd=self.cwd, env=self.env, stdout=log, stderr=log)
        return subprocess.Popen(list(map(str, command)), **options)

    def rerun(self, test_id):
        """How many of `RERUNS` runs of the test fail."""
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


def excluded(sides, listings, work, ignore=()):
    """The tests the excluded list names before the change (`listings`: the
    list per side), on both sides with the lists emptied: the record's lines
    and the entries the change makes pass that the list keeps."""
    text = listings[0].read_text().splitlines()
    entries = [e.strip() for e in text if e.strip() and e[0] != "#"]
    classes = "|".join({re.escape(entry.split("::")[0]) for entry in entries})

    def files(side):
        paths = (side.cwd / "keras").rglob("*_test.py")
        return sorted(
            str(path.relative_to(side.cwd))
            for path in paths
            if not str(path.relative_to(side.cwd)).startswith(ignore)
            and re.search(rf"^class ({classes})\b", path.read_text(), re.M)
        )

    match = dict(ONLY_MATCHING=" ".join(entries))
    sides = [dataclasses.replace(s, env=dict(s.env, **match)) for s in sides]
    saved = [path.read_text() for path in listings]
    kept = set(saved[1].split())
    [path.write_text("") for path in listings]
    # In an xdist worker, a test that crashes the plugin (`test_eigh`, which
    # the entry `test_eig` names too) fails instead of ending the run.
    extra = ["-p", "suite_plugin", "--continue-on-collection-errors", "-n", "1"]
    old, new = run_sides(sides, files, work, "excluded", extra).values()
    [path.write_text(text) for path, text in zip(listings, saved)]
    lines = ["", "| excluded-list entry | before | after | after, it is |"]
    lines.append("|---|---|---|---|")
    unremoved = []
    for entry in entries:
        was, now = entry_outcome(entry, old), entry_outcome(entry, new)
        state = "kept" if entry in kept else "removed"
        lines.append(f"| `{entry}` | {was} | {now} | {state} |")
        unremoved += [entry] * (now == "passed" != was and entry in kept)
    return lines + listed(
        "Entries it makes pass but keeps", unremoved
    ), unremoved


def entry_outcome(entry, results):
    """`passed` when every test the entry names passes."""
    matching = [o for test_id, o in results.items() if entry in test_id]
    failed = sum(outcome in ("failed", "error") for outcome in matching)
    if failed or not matching:
        return f"{failed} of {len(matching)} fail" if failed else "not run"
    return "passed" if set(matching) == {"passed"} else "skipped"


def report(work, sides, tests, extra=(), listings=None, runs=(), ignore=()):
    """The record's lines and what failed: both `sides` at once, the tests
    passing only before rerun on each side (the first `RERUN_LIMIT`; failing
    before too, they are flaky), the excluded lists (`listings`) tried
    emptied; then the single `runs` (label, side, tests)."""
    results, lines, failed, flaky = {}, [], [], {}
    if sides:
        files = tests if callable(tests) else lambda side: tests
        results = run_sides(sides, files, work, "suite", extra)
        old, new = results.values()
        for test_id in [t for t in only(old, new) if " " not in t][
            :RERUN_LIMIT
        ]:
            fails = [side.rerun(test_id) for side in sides[::-1]]
            flaky.update({test_id: fails} if fails[1] else {})
        failed = [t for t in only(old, new) if t not in flaky]
        lines += listed("Pass without the change, fail with it", failed)
        lines += listed(
            f"Flaky: failed only with the change, then on both sides in "
            f"{RERUNS} reruns each (failures with it, without)",
            [f"{t}: {after}, {before}" for t, (after, before) in flaky.items()],
        )
        lines += listed("Pass only with the change", only(new, old))
    if listings:
        more, unremoved = excluded(sides, listings, work, ignore)
        lines, failed = lines + more, failed + unremoved
    for number, (label, side, tests) in enumerate(runs):
        side.pytest(tests, path := work / f"run{number}.xml").wait()
        results[label] = one = outcomes(path)
        bad = [t for t, o in one.items() if o in ("failed", "error")]
        lines += listed(f"{label}, failing", bad)[: LISTED + 1] * bool(bad)
        failed += bad
    table = ["", "| run | tests | passed | failed or error | skipped |"]
    table.append("|---|---:|---:|---:|---:|")
    for label, one in results.items():
        n = collections.Counter(one.values())
        counts = [len(one), n["passed"], n["failed"] + n["error"]]
        table.append(f"| {label} | {' | '.join(map(str, counts))} | ")
        table[-1] += f"{n['skipped']} |"
    return table + lines, failed


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
        subprocess.run(
            ["python3.11", "-m", "venv", python.parents[1]], check=True
        )
    command = [python, "-m", "pip", args[0], "--quiet", *args[1:]]
    subprocess.run(command, check=True)


def versions(python, names):
    code = "import importlib.metadata as m, sys\nfor n in sys.argv[1:]:\n"
    code += "    try: print(n, m.version(n))\n    except Exception: pass"
    run = subprocess.run([python, "-c", code, *names], capture_output=True)
    return ", ".join(run.stdout.decode().splitlines())


def header(title, command, started):
    """A record's first lines: command, date, commit, machine."""
    git = ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(git, capture_output=True).stdout
    head = subprocess.run([*git[:3], "rev-parse", "HEAD"], capture_output=True)
    cpu = pathlib.Path("/proc/cpuinfo").read_text()
    cpu = re.findall(r"model name\s*: (.*)", cpu) + [platform.processor()]
    names = versions(sys.executable, ["keras", "openvino", "numpy", "jax"])
    return [
        f"# {title}",
        "",
        f"- command: `{shlex.join(command)}` (from the repository's root)",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        f"- commit: {head.stdout.decode().strip()}"
        + " (with uncommitted changes)" * bool(dirty),
        f"- machine: {platform.node()}, {cpu[0]}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; {names}",
    ]


REQUIREMENTS = (ROOT / "requirements-openvino.txt").read_text().splitlines()
REQUIREMENTS = [line.strip() for line in REQUIREMENTS if line.strip()]
REQUIREMENTS = [r for r in REQUIREMENTS if not r.startswith(("#", "keras=="))]


def release_suite(args, work):
    """The installed wheel's test modules on OpenVINO, from a folder with only
    the tree's conftest.py and excluded list (the bare release, the same
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
    sides = []
    for label, cwd, config in (
        ("release", work / "bare", os.devnull),
        ("tree", ROOT, ROOT / "pyproject.toml"),
    ):
        options = ["--timeout=600", f"--confcutdir={keras}", "-p", "conftest"]
        options += [f"--rootdir={cwd}", "-c", config]
        sides.append(Side(label, cwd, environment(), options, source=keras))
        answer = work / f"which-keras-{label}.txt"
        which = dataclasses.replace(
            sides[-1], env=environment(WHICH_KERAS=answer)
        )
        which.pytest([files[0], "--collect-only", "-p", "suite_plugin"]).wait()
        if not answer.is_file() or answer.read_text() != label:
            raise SystemExit(f"The {label} side would not run the {label}.")
    # One xdist worker: a test that crashes the process (linalg_test's
    # test_eigh kills the CPU plugin) fails, a new worker runs the rest.
    extra = ["--continue-on-collection-errors", "-n", "1"]
    notes = [f"- {len(modules)} test modules of `{keras}`, OpenVINO"]
    title = "The release's test suite with and without the tree"
    return title, notes, report(work, sides, files, extra)


TAG_TESTS = [f"keras/src/ops/{name}_test.py" for name in ("numpy", "core")]
TAG_TESTS += [
    f"keras/src/backend/openvino/{name}_test.py"
    for name in ("core", "numpy", "numpy_fuzz", "trainer")
]
TAG_TESTS += ["integration_tests/openvino_nan_to_num_tabular_test.py"]


def tag(args, work):
    """Keras v3.15.1's tree unpacked twice, the series applied to one: the
    test files a side has, from each root with its conftest; the tests its
    excluded list names, the list emptied."""
    write = (None, export_patch.write_series)
    roots = [
        unpack(TAG, work / side, w)
        for side, w in zip(("before", "after"), write)
    ]
    sides = [
        Side(side, root, environment())
        for side, root in zip(("before", "after"), roots)
    ]
    listings = [root / export_patch.EXCLUDED_TESTS for root in roots]
    patches = sorted(p.name for p in (work / "after/patches").glob("*.patch"))
    notes = [f"- `{TAG.name}`; the series: {', '.join(patches)}"]

    def present(side):
        return [t for t in args.tests or TAG_TESTS if (side.cwd / t).is_file()]

    title = "Keras v3.15.1's own tree, before and after the series"
    return title, notes, report(work, sides, present, ["-n", "1"], listings)


def ci_trees(directory, series):
    """Keras at `pluggable_backend`, `Functional.call` mended, keras-openvino
    main beside it (with the series if `series`), as its CI has them."""
    keras = unpack(BRANCH, directory)
    mend(keras, *FUNCTIONAL)
    write = export_patch.write_series if series else None
    return keras, unpack(KERAS_OPENVINO, directory, write)


IGNORED = ("keras/src/applications", "keras/src/wrappers")
UPSTREAM_TESTS = dict(numpy=["keras/src/ops/numpy_test.py"])
UPSTREAM_TESTS["full"] = ["keras", *(f"--ignore={path}" for path in IGNORED)]


def upstream(scope):
    def check(args, work):
        """keras-openvino's CI flow, without and with the series: `pytest
        keras` without applications and wrappers (`full`) or the numpy op
        suite (`numpy`) from Keras's root, keras-openvino's conftest,
        excluded list and KERAS_HOME; its excluded list emptied; the series'
        own tests after it."""
        python = pathlib.Path(args.venv or VENVS["upstream"], "bin", "python")
        pip(python, "install", *REQUIREMENTS, "rich", "namex", "optree")
        names = ["keras", "keras-nightly", "keras-openvino"]
        uninstall = [python, "-m", "pip", "uninstall", "--yes", *names]
        subprocess.run(uninstall, capture_output=True)
        sides, listings = [], []
        for label in ("before", "after"):
            keras, openvino = ci_trees(work / label, label == "after")
            listings.append(openvino / "excluded_tests.txt")
            home = openvino / ".github/workflows/config"
            env = environment(KERAS_HOME=home, PYTHONPATH=f"{openvino}:{keras}")
            sides.append(Side(label, keras, env, (), python))
        own = dataclasses.replace(sides[1], cwd=openvino)
        runs = [
            (
                "the series' own tests",
                own,
                ["keras_openvino", "integration_tests"],
            )
        ]
        tests = args.tests or UPSTREAM_TESTS[scope]
        extra = ["-n", "1", "--dist", "loadfile"]
        table = report(work, sides, tests, extra, listings, runs, IGNORED)
        notes = [
            f"- `pytest {' '.join(tests)}` from `{BRANCH.name}`, "
            f"`{KERAS_OPENVINO.name}` beside it; `{FUNCTIONAL[0]}` mended on "
            "both sides; the series as a whole (no per-patch stages); "
            f"{versions(python, ['openvino', 'numpy', 'jax'])}"
        ]
        return (
            "keras-openvino's CI flow, before and after the series",
            notes,
            table,
        )

    return check


# Suites older than Keras 3.16 call the backend's core functions from
# `keras.src.backend`; 3.16 moved them to `keras.src.backend.ops.core`.
NIGHTLY_CONFTEST = """import keras  # noqa: F401
from keras.src import backend

for name in ("cast", "convert_to_numpy", "convert_to_tensor", "is_tensor"):
    if not hasattr(backend, name):
        setattr(backend, name, getattr(backend.ops.core, name))
if not hasattr(backend, "standardize_dtype"):
    backend.standardize_dtype = backend.common.standardize_dtype
"""
# keras_openvino found, not imported: a keras-nightly it no longer matches
# would fail that.
EXPORT = """import importlib.util, pathlib, sys
from tools import export_patch as e
print(importlib.util.find_spec("keras_openvino").submodule_search_locations[0])
e.write_series(e.installed_keras_root()[0], pathlib.Path(sys.argv[1]))"""


def nightly(args, work):
    """keras-nightly with the released keras-openvino in a venv: the series
    exported against it and applied to a copy; the tree's tests there; the
    pinned release's numpy op suite on the released and the patched copy."""
    python = pathlib.Path(args.venv or VENVS["nightly"], "bin", "python")
    pip(python, "install", *REQUIREMENTS)
    pip(python, "install", "--upgrade", "--pre", "keras-nightly")
    pip(python, "install", "--upgrade", "--no-deps", "keras-openvino")
    command = [python, "-c", EXPORT, work / "series"]
    export = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE)
    scratch = work / "keras-openvino"
    shutil.copytree(
        export.stdout.decode().split("\n")[0], scratch / "keras_openvino"
    )
    patches = sorted((work / "series").glob("*.patch"))
    codes = [
        subprocess.run(["git", "apply", p], cwd=scratch).returncode
        for p in patches
    ]
    (suite := work / "suite").mkdir()
    keras = export_patch.installed_keras_root()[0]  # The pinned release.
    shutil.copy(keras / suite_patch.SUITE_FILE, suite)
    (suite / "conftest.py").write_text(NIGHTLY_CONFTEST)
    sides = [Side("released", suite, environment(), (), python)]
    sides.append(
        Side("patched", suite, environment(PYTHONPATH=scratch), (), python)
    )
    own = dataclasses.replace(sides[1], cwd=scratch)
    runs = [
        ("the tree's tests", own, ["keras_openvino/src", "integration_tests"])
    ]
    lines, failed = report(work, sides, ["numpy_test.py"], runs=runs)
    failed += ["export"] * bool(export.returncode) + ["apply"] * any(codes)
    names = versions(python, ["keras-nightly", "keras-openvino", "openvino"])
    notes = [
        f"- {names}; the series exported (exit {export.returncode}), applied "
        f"to keras-openvino as released (git apply exits {codes}); the pinned "
        "release's numpy op suite (a conftest restores the pre-3.16 backend "
        "names) on keras-openvino as released and patched"
    ]
    return "keras-nightly check", notes, (lines, failed)


BACKENDS = [("numpy", {}), ("jax", {}), ("torch", {})]
BACKENDS.insert(2, ("jax, JAX_ENABLE_X64=1", {"JAX_ENABLE_X64": "1"}))


def keras_suite(args, work):
    """The Keras suite patch's classes on NumPy, JAX and torch in a copy of
    the `pluggable_backend` snapshot (torch's import mended), and on OpenVINO
    from this tree; then the step the series adds to keras-openvino's
    workflow, as it says, beside the snapshot with `Functional.call` mended."""
    python = pathlib.Path(args.venv or VENVS["keras_suite"], "bin", "python")
    write = lambda root, folder: [suite_patch.write_suite_patch(root, folder)]
    root = unpack(BRANCH, work / "keras", write)
    torch = mend(root, *TORCH)
    pip(python, "install", *PACKAGES, "pytest", "torch==2.13.0")
    pip(python, "install", "--no-deps", "-e", root)
    select = " or ".join(suite_patch.suite_classes())
    tests = [suite_patch.SUITE_FILE, "-k", select]
    base = environment()  # Each run sets KERAS_BACKEND.
    base.pop("JAX_ENABLE_X64", None)
    runs = []
    for label, x64 in BACKENDS:
        env = dict(base, KERAS_BACKEND=label.split(",")[0], **x64)
        runs.append((label, Side(label, root, env, (), python), tests))
    tests = ["--pyargs", "keras.src.ops.numpy_test", "-k", select]
    runs.append(("openvino, this repository", Side("", ROOT, base), tests))
    openvino = ci_trees(work / "ci", True)[1]
    ci = pathlib.Path(VENVS["ci_step"], "bin", "python")
    pip(ci, "install", "openvino==2026.4.1", *PACKAGES)
    pip(ci, "install", "-r", openvino / "requirements.txt")
    pip(ci, "install", "-e", openvino)
    workflow = (openvino / suite_patch.WORKFLOW).read_text()
    step = suite_patch.step_command(workflow)
    job = dict(re.findall(r"^      (KERAS_HOME): *(.*?) *$", workflow, re.M))
    env = dict(base, **job, **step["env"], PATH=f"{ci.parent}:{base['PATH']}")
    cwd, command = work / "ci" / step["working-directory"], step["run"]
    runs.append(
        ("CI step", Side("", cwd, env, (), ""), shlex.split(command)[1:])
    )
    variables = " ".join(f"{k}={v}" for k, v in {**job, **step["env"]}.items())
    notes = [
        f"- `{BRANCH.name}`, the suite patch applied, `{TORCH[0]}` mended "
        f"({torch}); `pytest {suite_patch.SUITE_FILE} -k '{select}'` from its "
        f"root; {versions(python, ['numpy', 'jax', 'torch'])}",
        f"- CI step: `cd {step['working-directory']} && {variables} {command}`"
        f" in `{KERAS_OPENVINO.name}` with the series; `{FUNCTIONAL[0]}` mended"
        " in the Keras beside it (unmended, graph tests fail with a NameError)",
    ]
    title = "Keras suite patch: its test classes on every backend"
    return title, notes, report(work, (), (), runs=runs)


CHECKS = dict(release_suite=release_suite, tag=tag, nightly=nightly)
CHECKS.update(upstream_numpy=upstream("numpy"), upstream_full=upstream("full"))
CHECKS["keras_suite"] = keras_suite


def main():
    parser = argparse.ArgumentParser("tools.suite_runner")
    parser.add_argument("check", choices=CHECKS)
    parser.add_argument("--tests", nargs="*", help="test modules or files")
    parser.add_argument("--venv", help="upstream_*, nightly, keras_suite")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    command = [sys.executable, "-m", "tools.suite_runner", *sys.argv[1:]]
    head = header("{}", command, started)  # The commit run, not a later one.
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{args.check}-check-"))
    title, notes, (lines, failed) = CHECKS[args.check](args, work)
    seconds = (datetime.datetime.now(datetime.UTC) - started).seconds
    head[0] = head[0].format(title)
    head.append(f"- duration: {seconds} s; logs and reports: `{work}`")
    text = "\n".join([*head, *notes, *lines]) + "\n"
    (ROOT / "docs" / "records" / f"{args.check}.md").write_text(text)
    print(text)
    return int(bool(failed))


if __name__ == "__main__":
    sys.exit(main())
