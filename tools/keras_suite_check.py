"""Runs the Keras suite patch's test classes on every backend.

The patch (`python -m tools.export_patch --keras-suite`) is written for a
fresh copy of Keras's `pluggable_backend` snapshot (`../shared/upstream/`)
and applied there; the copy is installed (`pip install -e`, no
dependencies) into a scratch virtual environment with the NumPy, JAX and
PyTorch backends' needs, and the new classes run from the copy's root as
Keras's CI runs them (`pytest keras/src/ops/numpy_test.py -k ...`), with
`KERAS_BACKEND=numpy`, `jax` (and again with `JAX_ENABLE_X64=1`) and
`torch`. Then on OpenVINO from this repository's root, with the Python
that runs this command (`pytest --pyargs keras.src.ops.numpy_test -k ...`).
Then the step that keras-openvino's series adds to its workflow
(`ci-package-tests`): the series applied in order to a fresh copy of
keras-openvino main beside a fresh copy of the Keras snapshot, laid out as
the job checks them out; a second scratch environment gets what the job
installs that these tests use (`CI_PACKAGES`, keras-openvino's
`requirements.txt`, `pip install -e` of the copy), and the step's command
runs where and as the workflow says, with the job's `KERAS_HOME`: once on
the snapshot as it is, once with `Functional.call` mended (see below).
Writes a record with the command, date, commit, machine and per-backend
counts (`docs/records/keras_suite.md`).

    /work/main/.venv/bin/python -m tools.keras_suite_check
        [--venv DIR] [--ci-venv DIR] [--work DIR] [--output FILE]
        [--skip-ci-step]

A missing `--venv` is made with `python3.11 -m venv` and the packages in
`SUITE_PACKAGES` (torch==2.13.0, the CPU wheel). At 937c08e60a,
`keras/src/backend/torch/trainer.py` imports `get_device` from
`keras.src.backend.torch.core`, which that branch moved to
`keras.src.backend.torch.ops.core`: without a mend, `import keras` fails
on the torch backend. The copy gets that one-line mend, and the record
says so. There too, `Functional.call` passes `operation_fn=...` names that
no longer exist (Keras #23397 over #23364): every functional model call
raises `NameError`. The suite classes make no model call; the CI step's
second run mends it as Keras master has it,
`outputs = self._run_through_graph(inputs)`.
"""

import argparse
import datetime
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

from tools import export_patch
from tools import keras_suite_patch
from tools.suite_runner import apply_series
from tools.suite_runner import ensure_venv
from tools.suite_runner import header
from tools.suite_runner import unpack
from tools.suite_runner import versions

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
SNAPSHOT = (
    TREE_ROOT.parent
    / "shared"
    / "upstream"
    / "keras-pluggable_backend-937c08e60a.tar.gz"
)
KERAS_OPENVINO_SNAPSHOT = SNAPSHOT.with_name(
    "keras-openvino-main-cba2a787ad.tar.gz"
)
DEFAULT_VENV = pathlib.Path("/tmp/suite-venv-b")
DEFAULT_CI_VENV = pathlib.Path("/tmp/ci-venv-b")
DEFAULT_WORK = pathlib.Path("/tmp/keras-suite-check")
DEFAULT_OUTPUT = TREE_ROOT / "docs" / "records" / "keras_suite.md"
SUITE_PACKAGES = [
    "numpy",
    "scipy",
    "absl-py",
    "rich",
    "namex",
    "h5py",
    "optree",
    "ml-dtypes",
    "packaging",
    "pytest",
    "jax[cpu]",
    "torch==2.13.0",
]
# What the job installs with Keras's requirements.txt that keras-openvino's
# tests use (jax: the bfloat16 reference), besides the package's own.
CI_PACKAGES = [
    "openvino==2026.4.1",
    "numpy",
    "scipy",
    "absl-py",
    "rich",
    "namex",
    "h5py",
    "optree",
    "ml-dtypes",
    "packaging",
    "jax[cpu]",
]
CI_VERSIONS = ["keras", "keras-openvino", "openvino", "jax", "hypothesis"]
FUNCTIONAL_MEND = (
    "keras/src/models/functional.py",
    """        outputs = self._run_through_graph(
            inputs,
            operation_fn=lambda op: operation_fn(
                op, training=training, **kwargs
            ),
        )
""",
    "        outputs = self._run_through_graph(inputs)\n",
    "`Functional.call` as Keras master has it",
)
FAILURES_LISTED = 10
# (label, KERAS_BACKEND, extra environment)
BACKENDS = [
    ("numpy", "numpy", {}),
    ("jax", "jax", {}),
    ("jax, JAX_ENABLE_X64=1", "jax", {"JAX_ENABLE_X64": "1"}),
    ("torch", "torch", {}),
]
# Local mends of the snapshot, not part of the patch: (file, old, new, why).
MENDS = [
    (
        "keras/src/backend/torch/trainer.py",
        "from keras.src.backend.torch.core import get_device",
        "from keras.src.backend.torch.ops.core import get_device",
        "`keras.src.backend.torch.core` moved to "
        "`keras.src.backend.torch.ops.core` on the branch; without this "
        "line `import keras` fails on the torch backend",
    ),
]


def mend(root, relative, old, new):
    """Replaces `old` with `new` in `root/relative`; whether it was there."""
    path = root / relative
    text = path.read_text() if path.is_file() else ""
    if old not in text:
        return False
    path.write_text(text.replace(old, new))
    return True


def prepare_keras(snapshot, work):
    """A fresh copy of the snapshot with the suite patch and the mends
    applied; returns its root, the patch and the mends applied."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    root = unpack(snapshot, work)
    patch = keras_suite_patch.write_suite_patch(root, work / "patch")
    apply_series(root, [patch])
    applied = [
        (relative, why)
        for relative, old, new, why in MENDS
        if mend(root, relative, old, new)
    ]
    return root, patch, applied


def ci_step_runs(work, ci_venv, base_env, reports):
    """The CI step of keras-openvino's series, run as the workflow says:
    rows for the record, and the step as text."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    keras = unpack(SNAPSHOT, work)
    keras_openvino = unpack(KERAS_OPENVINO_SNAPSHOT, work)
    patches = export_patch.write_series(keras_openvino, work / "series")
    apply_series(keras_openvino, patches)
    python = ensure_venv(ci_venv, CI_PACKAGES)
    for install in (
        ["-r", str(keras_openvino / "requirements.txt")],
        ["-e", str(keras_openvino)],
    ):
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *install],
            check=True,
        )
    workflow = (keras_openvino / keras_suite_patch.WORKFLOW).read_text()
    step = keras_suite_patch.step_command(workflow)
    job_env = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in workflow.splitlines()
        if line.startswith("      KERAS_HOME:")
    }
    env = {
        **base_env,
        **job_env,
        **step["env"],
        "PATH": f"{python.parent}{os.pathsep}{base_env.get('PATH', '')}",
    }
    cwd = work / step["working-directory"]
    command = shlex.split(step["run"]) + ["-p", "no:cacheprovider", "-q"]
    rows = []
    for label, mended in (
        ("as it is", False),
        ("Functional.call mended", True),
    ):
        if mended and not mend(keras, *FUNCTIONAL_MEND[:3]):
            continue
        report = reports / f"ci-step-{int(mended)}.xml"
        status, seconds = run(command, cwd, env, report)
        rows.append(
            (
                f"openvino, CI step ({label})",
                "pluggable_backend + keras-openvino main + series",
                report,
                status,
                seconds,
            )
        )
    text = f"cd {step['working-directory']} && " + " ".join(
        [f"{key}={value}" for key, value in {**job_env, **step["env"]}.items()]
        + [step["run"]]
    )
    return rows, text, patches


def selection():
    return " or ".join(keras_suite_patch.suite_classes())


def counts(report):
    """passed, failed, errors, skipped and the ids of the failed tests, from
    a JUnit report."""
    result = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failed = []
    skips = {}
    if not report.is_file():
        return result, failed, skips
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}".lstrip(".")
        if case.find("failure") is not None:
            result["failed"] += 1
            failed.append(name)
        elif case.find("error") is not None:
            result["errors"] += 1
            failed.append(name)
        elif case.find("skipped") is not None:
            result["skipped"] += 1
            reason = case.find("skipped").get("message", "")
            skips[reason] = skips.get(reason, 0) + 1
        else:
            result["passed"] += 1
    return result, failed, skips


def code(text):
    """`text` as Markdown code, whatever backticks it holds."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def error_lines(report):
    """The distinct `E   SomeError: ...` lines of a run's log, most
    frequent first, with their counts."""
    log = report.with_suffix(".log")
    found = {}
    for line in log.read_text().splitlines() if log.is_file() else []:
        text = line[1:].strip()
        if line.startswith("E ") and text.split(":")[0].endswith(
            ("Error", "Exception")
        ):
            found[text] = found.get(text, 0) + 1
    return sorted(found.items(), key=lambda item: -item[1])[:3]


def run(command, cwd, env, report):
    started = time.time()
    completed = subprocess.run(
        command + [f"--junitxml={report}", "-o", "junit_family=xunit1"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    log = report.with_suffix(".log")
    log.write_text(completed.stdout + completed.stderr)
    return completed.returncode, time.time() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=pathlib.Path, default=DEFAULT_VENV)
    parser.add_argument("--ci-venv", type=pathlib.Path, default=DEFAULT_CI_VENV)
    parser.add_argument("--skip-ci-step", action="store_true")
    parser.add_argument("--work", type=pathlib.Path, default=DEFAULT_WORK)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    python = ensure_venv(args.venv, SUITE_PACKAGES)
    root, patch, mends = prepare_keras(SNAPSHOT, args.work / "keras")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps"]
        + ["-e", str(root)],
        check=True,
    )
    reports = args.work / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    pytest_args = ["-m", "pytest", "-p", "no:cacheprovider", "-q"]
    rows = []
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KERAS_BACKEND", "JAX_ENABLE_X64", "PYTHONPATH")
    }
    for label, backend, extra in BACKENDS:
        report = reports / f"{label.split(',')[0]}{len(extra)}.xml"
        command = [str(python), *pytest_args, keras_suite_patch.SUITE_FILE]
        command += ["-k", selection()]
        env = {**base_env, "KERAS_BACKEND": backend, **extra}
        status, seconds = run(command, root, env, report)
        rows.append(
            (label, "pluggable_backend + patch", report, status, seconds)
        )
    report = reports / "openvino.xml"
    command = [sys.executable, *pytest_args, "--pyargs"]
    command += ["keras.src.ops.numpy_test", "-k", selection()]
    env = {**base_env, "KERAS_BACKEND": "openvino"}
    status, seconds = run(command, TREE_ROOT, env, report)
    rows.append(("openvino", "this repository", report, status, seconds))
    ci_step = None
    if not args.skip_ci_step:
        ci_rows, ci_step, ci_patches = ci_step_runs(
            args.work / "ci", args.ci_venv, base_env, reports
        )
        rows += ci_rows

    command = [sys.executable, "-m", "tools.keras_suite_check"]
    command += argv if argv is not None else sys.argv[1:]
    title = "Keras suite patch: its test classes on every backend"
    lines = header(title, command, started) + [
        f"- classes: {', '.join(keras_suite_patch.suite_classes())}",
        f"- Keras: `{SNAPSHOT.name}` with `{patch.name}` applied, "
        f"installed with `pip install -e` into `{args.venv}` "
        f"({versions(python, ['numpy', 'jax', 'jaxlib', 'torch'])}); "
        "run from its root as "
        f"`pytest {keras_suite_patch.SUITE_FILE} -k '{selection()}'`",
        "- OpenVINO: this repository's code on the pinned Keras release "
        f"({versions(sys.executable, ['keras', 'openvino', 'numpy'])}), "
        "`pytest --pyargs keras.src.ops.numpy_test -k ...` from its root",
    ]
    for relative, why in mends:
        lines.append(f"- local mend of the snapshot: `{relative}` ({why})")
    if ci_step:
        lines.append(
            f"- CI step: `{KERAS_OPENVINO_SNAPSHOT.name}` with the series "
            f"({', '.join(path.name for path in ci_patches)}) applied, "
            f"beside the Keras snapshot; `{args.ci_venv}` has "
            f"{', '.join(CI_PACKAGES)}, the copy's `requirements.txt` and "
            "`pip install -e` of the copy "
            f"({versions(args.ci_venv / 'bin' / 'python', CI_VERSIONS)}"
            "; the installed keras is not the one imported); the step, "
            f"with the job's `KERAS_HOME`: `{ci_step}`; the second run "
            f"mends `{FUNCTIONAL_MEND[0]}` ({FUNCTIONAL_MEND[3]}: "
            "`outputs = self._run_through_graph(inputs)`)"
        )
    lines += [
        "",
        "| backend | Keras | passed | failed | errors | skipped | seconds |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    failures = []
    skipped = []
    for label, where, report, status, seconds in rows:
        result, failed, skips = counts(report)
        skipped += [(label, n, why) for why, n in sorted(skips.items())]
        if status not in (0, 1) and not failed:
            failed = [f"pytest exited with {status}: see {report.name}"]
        lines.append(
            f"| {label} | {where} | {result['passed']} | {result['failed']} "
            f"| {result['errors']} | {result['skipped']} | {seconds:.0f} |"
        )
        if failed:
            failures.append((label, failed, error_lines(report)))
    lines += [""]
    lines += [f"- {label}: {n} skipped: {why}" for label, n, why in skipped]
    total = sum(len(failed) for _, failed, _ in failures)
    lines += ["", f"Failed or in error: {total}."]
    for label, failed, errors in failures:
        lines += ["", f"{label}, {len(failed)}:"]
        lines += [f"- `{name}`" for name in failed[:FAILURES_LISTED]]
        if len(failed) > FAILURES_LISTED:
            lines.append(f"- and {len(failed) - FAILURES_LISTED} more")
        lines += [f"- error, {n} times: {code(error)}" for error, n in errors]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(args.output.read_text())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
