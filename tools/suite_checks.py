"""The checks `tools/suite_runner.py` runs: each a description of its
target (which trees, which tests, from which root with which conftest) and
of anything it adds to the comparison. Each returns the record's title, its
lines below the header, and whether the check failed.
"""

import argparse
import collections
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from xml.etree import ElementTree

from tools import export_patch
from tools import keras_suite_check
from tools.suite_runner import PLUGINS
from tools.suite_runner import TREE_ROOT
from tools.suite_runner import Side
from tools.suite_runner import apply_series
from tools.suite_runner import compare
from tools.suite_runner import dotted
from tools.suite_runner import ensure_venv
from tools.suite_runner import excluded_check
from tools.suite_runner import openvino_environment
from tools.suite_runner import outcomes
from tools.suite_runner import ruff_lines
from tools.suite_runner import titled_list
from tools.suite_runner import unpack
from tools.suite_runner import versions

SNAPSHOTS = pathlib.Path(
    os.environ.get("UPSTREAM_SNAPSHOTS", TREE_ROOT.parent / "shared/upstream")
)
TAG_SNAPSHOT = SNAPSHOTS / "keras-v3.15.1-250b42181c.tar.gz"
BRANCH_SNAPSHOT = SNAPSHOTS / "keras-pluggable_backend-937c08e60a.tar.gz"
KERAS_OPENVINO_SNAPSHOT = SNAPSHOTS / "keras-openvino-main-cba2a787ad.tar.gz"
RUFF = pathlib.Path(sys.executable).parent / "ruff"


def parser(name, description):
    return argparse.ArgumentParser(
        prog=f"python -m tools.suite_runner {name}", description=description
    )


def work_directory(name):
    return pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-check-"))


def requirements(without=("keras==",)):
    lines = (TREE_ROOT / "requirements-openvino.txt").read_text().splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip()
        and not line.startswith("#")
        and not line.startswith(without)
    ]


def keras_of(side, test_file, work):
    """ "tree" or "release": which Keras pytest imports on `side`."""
    answer = work / f"which-keras-{side.label}.txt"
    env = dict(side.env, WHICH_KERAS=str(answer), PYTHONPATH=str(PLUGINS))
    side.start(
        [test_file, "--collect-only", "-p", "which_keras"],
        answer.with_suffix(".xml"),
        answer.with_suffix(".log"),
        env=env,
    ).wait()
    return answer.read_text() if answer.is_file() else "neither"


def release_suite(argv):
    """Every test module the installed Keras wheel ships, on OpenVINO: from
    a scratch directory holding only a copy of the tree's `conftest.py` and
    excluded list (the bare release, with the same skips), and from the
    repository's root (the tree laid over the release)."""
    options = parser("release_suite", release_suite.__doc__)
    options.add_argument("--modules", nargs="*", help="default: all")
    options.add_argument("--timeout", type=int, default=600)
    args = options.parse_args(argv)
    root, _ = export_patch.installed_keras_root()
    modules = args.modules or sorted(
        dotted(path.relative_to(root))
        for path in (root / "keras" / "src").rglob("*_test.py")
    )
    # Files, not modules: a module that cannot be imported (another
    # backend's tests) is a collection error of its own.
    files = [
        str(root.joinpath(*module.split(".")).with_suffix(".py"))
        for module in modules
    ]
    work = work_directory("release-suite")
    bare = work / "bare"
    for relative in ("conftest.py", export_patch.EXCLUDED_TESTS):
        (bare / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TREE_ROOT / relative, bare / relative)
    # Each side's configuration and conftest named, and none found above the
    # installed files (pytest looks there): with the venv inside the tree,
    # the tree's would be found, and put the tree on sys.path on both sides.
    common = [f"--timeout={args.timeout}", f"--confcutdir={root}"]
    common += ["-p", "conftest"]
    release = Side(
        "release",
        bare,
        openvino_environment(),
        [*common, f"--rootdir={bare}", "-c", os.devnull],
        source=root,
    )
    tree = Side(
        "tree",
        TREE_ROOT,
        openvino_environment(),
        [*common, f"--rootdir={TREE_ROOT}", "-c", TREE_ROOT / "pyproject.toml"],
        source=root,
    )
    for side in (release, tree):
        if keras_of(side, files[0], work) != side.label:
            raise SystemExit(
                f"The {side.label} side would not run the {side.label}"
            )
    # One xdist worker: a test that crashes the process (linalg_test's
    # test_eigh kills the CPU plugin, with or without the tree) fails, and
    # a new worker goes on with the rest.
    extra = ["--continue-on-collection-errors", "-n", "1"]
    lines, regressions, _ = compare(
        release, tree, files, work, "the tree", extra, modules
    )
    scope = [
        f"{len(modules)} test modules of the installed Keras wheel, OpenVINO "
        f"backend; logs and reports in `{work}`.",
        "",
    ]
    title = "The release's test suite with and without the tree"
    return title, scope + lines, bool(regressions)


TAG_TESTS = [
    "keras/src/ops/numpy_test.py",
    "keras/src/ops/core_test.py",
    "keras/src/backend/openvino/core_test.py",
    "keras/src/backend/openvino/numpy_test.py",
    "keras/src/backend/openvino/numpy_fuzz_test.py",
    "keras/src/backend/openvino/trainer_test.py",
    "integration_tests/openvino_nan_to_num_tabular_test.py",
]


def tag(argv):
    """Keras v3.15.1's own tree (`../shared/upstream/`), unpacked twice, the
    series applied in order to one copy; the same test files run from each
    copy's root with the tag's own `conftest.py` and excluded list (a file
    missing on a side is not run there). Then the tests the tag's excluded
    list names, with the list emptied, and ruff on the changed files with
    the tag's settings."""
    options = parser("tag", tag.__doc__)
    options.add_argument("--snapshot", type=pathlib.Path, default=TAG_SNAPSHOT)
    options.add_argument("--tests", nargs="*", default=TAG_TESTS)
    args = options.parse_args(argv)
    work = work_directory("tag")
    before = unpack(args.snapshot, work / "before")
    after = unpack(args.snapshot, work / "after")
    patches = export_patch.write_series(after, work / "series")
    apply_series(after, patches)
    sides = [
        Side(label, root, openvino_environment())
        for label, root in (("before", before), ("after", after))
    ]

    def tests(side):
        return [test for test in args.tests if (side.cwd / test).is_file()]

    modules = sorted(dotted(test) for test in args.tests)
    lines, regressions, _ = compare(
        *sides, tests, work, "the series", ["-n", "1"], modules
    )
    listing = export_patch.EXCLUDED_TESTS
    excluded, unremoved = excluded_check(
        *sides,
        {"before": before / listing, "after": after / listing},
        "The tag's `excluded_concrete_tests.txt`",
        work,
    )
    changed = sorted(
        {
            line.split("b/", 1)[1]
            for patch in patches
            for line in patch.read_text().splitlines()
            if line.startswith("+++ b/") and line.endswith(".py")
        }
    )
    ruff, ruff_failed = ruff_lines(
        RUFF,
        [("the changed files after the series", after, changed)],
        "ruff with the tag's `pyproject.toml`:",
    )
    scope = [
        f"{len(args.tests)} test files run from the root of "
        f"`{args.snapshot.name}` with its conftest.py, OpenVINO backend; "
        f"series: {', '.join(patch.name for patch in patches)}; logs and "
        f"reports in `{work}`.",
        "",
    ]
    title = "Keras v3.15.1's own tree, before and after the series"
    failed = regressions or unremoved or ruff_failed
    return title, scope + lines + excluded + ruff, bool(failed)


# The snapshot of Keras's `pluggable_backend` branch calls an undefined
# `operation_fn` in `Functional.call` (keras/src/models/functional.py):
# every call of a functional or sequential model fails with this, on any
# backend, before and after the series.
BRANCH_FAILURE = "NameError: name 'operation_fn' is not defined"
UPSTREAM_TARGETS = {
    "numpy": ["keras/src/ops/numpy_test.py"],
    "full": ["keras", "--ignore", "keras/src/applications"]
    + ["--ignore", "keras/src/wrappers"],
}


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


def stage_lines(title, report):
    """A run's counts, its failures by message, and how many failures are
    not the branch's."""
    counts = collections.Counter(
        outcomes(report, report.with_suffix(".log")).values()
    )
    messages = failure_messages(report)
    unexplained = sum(
        count
        for message, count in messages.items()
        if message != BRANCH_FAILURE
    )
    lines = [
        f"- {title}: {counts['passed']} passed, "
        f"{counts['failed'] + counts['error']} failed or error, "
        f"{counts['skipped']} skipped; failures other than the branch's: "
        f"{unexplained}."
    ]
    lines += [
        f"  - {count}: `{message}`" for message, count in messages.items()
    ]
    return lines, unexplained


def upstream(scope):
    def check(argv):
        """keras-openvino's CI flow (.github/workflows/actions.yml), from
        the snapshots: Keras at `pluggable_backend` with keras-openvino
        main beside it, before and after the series; from the Keras
        checkout, with KERAS_HOME at keras-openvino's config, `pytest
        keras --dist loadfile` without applications and wrappers (`full`)
        or `keras/src/ops/numpy_test.py` (`numpy`). Unlike the CI, as both
        sides run at once on one machine: keras-openvino is on PYTHONPATH
        (two editable installs of one package cannot share a venv), one
        xdist worker a side, and the venv is requirements-openvino.txt
        without Keras (no TensorFlow or torch). Then the tests its
        excluded_tests.txt names, with the list emptied; the series' own
        tests after each patch; ruff with keras-openvino's settings."""
        options = parser(f"upstream_{scope}", check.__doc__)
        options.add_argument(
            "--venv", type=pathlib.Path, default=TREE_ROOT / ".venv-upstream"
        )
        args = options.parse_args(argv)
        packages = requirements() + ["rich", "namex", "optree", "packaging"]
        python = ensure_venv(args.venv, packages, always=True)
        subprocess.run(
            [str(python), "-m", "pip", "uninstall", "--quiet", "--yes"]
            + ["keras", "keras-nightly", "keras-openvino"],
            capture_output=True,
        )
        work = work_directory("upstream")
        roots = {
            label: (
                unpack(BRANCH_SNAPSHOT, work / label),
                unpack(KERAS_OPENVINO_SNAPSHOT, work / label),
            )
            for label in ("before", "after")
        }
        # Keras #23397 over #23364 left every functional model call failing
        # at this snapshot; both sides get the line Keras master has.
        for keras, _ in roots.values():
            keras_suite_check.mend(
                keras, *keras_suite_check.FUNCTIONAL_MEND[:3]
            )
        patches = export_patch.write_series(roots["after"][1], work / "series")
        apply_series(roots["after"][1], patches)
        ruff, ruff_failed = ruff_lines(
            python.parent / "ruff",
            [
                (f"{label} the series", roots[label][1], ["."])
                for label in roots
            ],
            "ruff with keras-openvino's `pyproject.toml` (`ruff check .`, "
            "`ruff format --check .` in its checkout):",
        )
        sides = [
            Side(
                label,
                keras,
                openvino_environment(
                    KERAS_HOME=keras_openvino / ".github/workflows/config",
                    PYTHONPATH=f"{keras_openvino}:{PLUGINS}",
                ),
                python=str(python),
            )
            for label, (keras, keras_openvino) in roots.items()
        ]
        lines, regressions, _ = compare(
            *sides,
            UPSTREAM_TARGETS[scope],
            work,
            "the series",
            ["-n", "1", "--dist", "loadfile"],
        )
        excluded, unremoved = excluded_check(
            *sides,
            {label: roots[label][1] / "excluded_tests.txt" for label in roots},
            "keras-openvino's `excluded_tests.txt`",
            work,
            ignore=("keras/src/applications", "keras/src/wrappers"),
        )
        stages = [
            "",
            "The series' own tests, `pytest keras_openvino "
            "integration_tests` in keras-openvino patched up to each patch "
            "(unmended, the snapshot of Keras's branch fails every model "
            f"call with `{BRANCH_FAILURE}`):",
            "",
        ]
        unexplained = 0
        for number, patch in enumerate(patches, 1):
            copy = work / f"stage{number}" / "keras-openvino"
            shutil.copytree(roots["before"][1], copy)
            apply_series(copy, patches[:number])
            tests = ["keras_openvino"]
            tests += ["integration_tests"] * (
                copy / "integration_tests"
            ).is_dir()
            env = openvino_environment(
                KERAS_HOME=copy / ".github/workflows/config",
                PYTHONPATH=f"{copy}:{roots['after'][0]}",
            )
            report = work / f"stage{number}.xml"
            side = Side(f"stage{number}", copy, env, python=str(python))
            side.start(tests, report, report.with_suffix(".log")).wait()
            more, count = stage_lines(f"up to `{patch.stem}`", report)
            stages += more
            unexplained += count
        head = [
            f"Scope: `{' '.join(UPSTREAM_TARGETS[scope])}`, run from "
            f"`{BRANCH_SNAPSHOT.name}` with `{KERAS_OPENVINO_SNAPSHOT.name}`"
            f", OpenVINO backend; venv `{args.venv}` "
            f"({versions(python, ['openvino', 'numpy', 'jax'])}); logs and "
            f"reports in `{work}`.",
            "",
            "Local mend on both sides, not part of the series: "
            "`keras/src/models/functional.py`'s `Functional.call` as Keras "
            "master has it, `outputs = self._run_through_graph(inputs)` "
            "(the snapshot passes `operation_fn` names that no longer exist: "
            "Keras #23397 over #23364).",
            "",
        ]
        title = "keras-openvino's CI flow, before and after the series"
        failed = (
            regressions
            or unremoved
            or unexplained
            or "after the series" in ruff_failed
        )
        return title, head + lines + excluded + stages + ruff, bool(failed)

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


def nightly(argv):
    """The newest keras-nightly, whose OpenVINO backend is the package
    keras-openvino, in its own venv: the series exported against it and
    applied to a scratch copy of keras-openvino; the tree's tests there;
    then a numpy op suite on keras-openvino as released and on the patched
    copy, with JAX's failures beside them. keras-nightly ships no tests:
    the suite is the pinned release's `keras/src/ops/numpy_test.py`, from
    its wheel, unless `--keras-source` names a matching Keras checkout."""
    options = parser("nightly", nightly.__doc__)
    options.add_argument(
        "--venv", type=pathlib.Path, default=TREE_ROOT / ".venv-nightly"
    )
    options.add_argument("--keras-source", type=pathlib.Path)
    args = options.parse_args(argv)
    work = work_directory("nightly")
    python = ensure_venv(args.venv, requirements(), always=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--upgrade"]
    subprocess.run(pip + ["--pre", "keras-nightly"], check=True)
    subprocess.run(pip + ["--no-deps", "keras-openvino"], check=True)
    export = subprocess.run(
        [str(python), "-m", "tools.export_patch", "--series", "--check"]
        + ["--output-dir", str(work / "series")],
        cwd=TREE_ROOT,
        capture_output=True,
        text=True,
    )
    site = subprocess.run(
        [
            str(python),
            "-c",
            "import keras_openvino; print(keras_openvino.__path__[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    scratch = work / "keras-openvino"
    shutil.copytree(site, scratch / "keras_openvino")
    patches = sorted((work / "series").glob("*.patch"))
    applied = all(
        subprocess.run(["git", "apply", str(patch)], cwd=scratch).returncode
        == 0
        for patch in patches
    )
    env = openvino_environment(PYTHONPATH=scratch)
    Side("own", scratch, env, python=str(python)).start(
        ["keras_openvino/src", "integration_tests"],
        work / "own.xml",
        work / "own.log",
    ).wait()
    suite = work / "suite"
    suite.mkdir()
    if args.keras_source:
        suite_name = f"the numpy op suite of `{args.keras_source}`"
        shutil.copy(args.keras_source / "keras/src/ops/numpy_test.py", suite)
    else:
        release = [
            line for line in requirements(()) if line.startswith("keras==")
        ]
        suite_name = f"{release[0]}'s numpy op suite"
        subprocess.run(
            [str(python), "-m", "pip", "download", "--quiet", "--no-deps"]
            + [release[0], "-d", str(work / "release")],
            check=True,
        )
        (wheel,) = (work / "release").glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extract("keras/src/ops/numpy_test.py", work / "release")
        shutil.copy(work / "release/keras/src/ops/numpy_test.py", suite)
    (suite / "conftest.py").write_text(NIGHTLY_CONFTEST)
    jax, released, patched = (
        Side(label, suite, openvino_environment(**env), python=str(python))
        for label, env in (
            ("jax", {"KERAS_BACKEND": "jax"}),
            ("released", {}),
            ("patched", {"PYTHONPATH": scratch}),
        )
    )
    jax.start(["numpy_test.py"], work / "jax.xml", work / "jax.log").wait()
    lines, regressions, results = compare(
        released, patched, ["numpy_test.py"], work, "the series"
    )
    on_jax = outcomes(work / "jax.xml", work / "jax.log")
    also_on_jax = sorted(
        test_id
        for test_id, outcome in results["patched"].items()
        if outcome in ("failed", "error")
        and on_jax.get(test_id) in ("failed", "error")
    )
    own_counts = collections.Counter(
        outcomes(work / "own.xml", work / "own.log").values()
    )
    head = [
        f"keras-nightly, keras-openvino and openvino in `{args.venv}`: "
        f"{versions(python, ['keras-nightly', 'keras-openvino', 'openvino'])}"
        f"; logs and reports in `{work}`.",
        "",
        f"- the series exported and checked with `git apply --check` "
        f"(exit {export.returncode}); applied in order to keras-openvino "
        f"as released: {'ok' if applied else 'FAILED'}",
        f"- the tree's tests in the patched copy: {dict(own_counts)}",
        f"- {suite_name}, with the pre-3.16 backend names restored; on JAX: "
        f"{dict(collections.Counter(on_jax.values()))}",
        "",
        "The suite on keras-openvino as released (before) and patched (after):",
        "",
    ]
    lines += titled_list(
        "Failures on the patched keras-openvino that JAX has too", also_on_jax
    )
    failed = regressions or export.returncode or not applied
    failed = failed or own_counts["failed"] + own_counts["error"]
    return "keras-nightly check", head + lines, bool(failed)


CHECKS = {
    "release_suite": release_suite,
    "tag": tag,
    "upstream_numpy": upstream("numpy"),
    "upstream_full": upstream("full"),
    "nightly": nightly,
}
