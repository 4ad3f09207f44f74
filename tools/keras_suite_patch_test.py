"""The patches for upstream's CI: the Keras suite classes and keras-openvino's
workflow step. Against the source snapshots in `../shared/upstream/` when
they are there, and the installed Keras."""

import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest

from tools import export_patch
from tools import keras_suite_patch

TREE = export_patch.TREE_ROOT
SNAPSHOTS = TREE.parent / "shared" / "upstream"
RUFF = pathlib.Path(sys.executable).parent / "ruff"


def snapshot(pattern):
    found = sorted(SNAPSHOTS.glob(pattern))
    if not found:
        pytest.skip(f"no {pattern} in {SNAPSHOTS}")
    return found[0]


def unpack(tarball, directory, members=None):
    """The snapshot's root folder, unpacked into `directory` (only the
    files ending with one of `members`, when given)."""
    with tarfile.open(tarball) as archive:
        chosen = [
            member
            for member in archive.getmembers()
            if members is None
            or any(member.name.endswith("/" + name) for name in members)
        ]
        archive.extractall(directory, members=chosen, filter="data")
    (root,) = [path for path in directory.iterdir() if path.is_dir()]
    return root


def git_apply(patch, root, check=False):
    command = ["git", "apply"] + (["--check"] if check else [])
    return subprocess.run(
        command + [str(patch)], cwd=root, capture_output=True, text=True
    )


def ruff_check(path, config):
    result = subprocess.run(
        [str(RUFF), "check", "--config", str(config), str(path)],
        capture_output=True,
        text=True,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(
    params=[
        "keras-pluggable_backend-*.tar.gz",
        "keras-v3.15.1-*.tar.gz",
        "installed",
    ]
)
def keras_root(request, tmp_path):
    """A Keras source tree holding at least keras/src/ops/numpy_test.py."""
    if request.param == "installed":
        installed, _ = export_patch.installed_keras_root()
        root = tmp_path / "installed"
        target = root / keras_suite_patch.SUITE_FILE
        target.parent.mkdir(parents=True)
        shutil.copy(installed / keras_suite_patch.SUITE_FILE, target)
        return root
    return unpack(
        snapshot(request.param),
        tmp_path,
        members=[keras_suite_patch.SUITE_FILE, "pyproject.toml"],
    )


def test_suite_patch_applies_and_adds_the_classes(keras_root, tmp_path):
    output = tmp_path / "out"
    patch = keras_suite_patch.write_suite_patch(keras_root, output)
    assert patch.name == "0001-keras-suite.patch"
    text = patch.read_text()
    assert text.startswith("Subject: [PATCH 1/1] Tests: ")
    description = (output / "keras-suite.md").read_text()
    assert "{classes}" not in description and "**What.**" in description
    # The patch only touches the op suite, and only adds to it.
    diff = text.split("\n---\n", 1)[1]
    assert [line for line in diff.splitlines() if line.startswith("+++ ")] == [
        f"+++ b/{keras_suite_patch.SUITE_FILE}"
    ]
    assert not [
        line
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    assert git_apply(patch, keras_root, check=True).returncode == 0
    original = (keras_root / keras_suite_patch.SUITE_FILE).read_text()
    result = git_apply(patch, keras_root)
    assert result.returncode == 0, result.stderr
    patched = (keras_root / keras_suite_patch.SUITE_FILE).read_text()
    compile(patched, keras_suite_patch.SUITE_FILE, "exec")
    assert patched.startswith(original)
    classes = keras_suite_patch.suite_classes()
    assert {"NanToNumExactTest", "ArgmaxArgminNumpyParityTest"} <= set(classes)
    for name in classes:
        assert patched.count(f"\nclass {name}(testing.TestCase):") == 1
    code, output = ruff_check(
        keras_root / keras_suite_patch.SUITE_FILE, TREE / "pyproject.toml"
    )
    assert code == 0, output
    # Applied once, the suite cannot be added again.
    with pytest.raises(export_patch.ExportError, match="already defines"):
        keras_suite_patch.suite_text(keras_root)


def test_missing_imports_join_the_import_block(tmp_path):
    target = tmp_path / keras_suite_patch.SUITE_FILE
    target.parent.mkdir(parents=True)
    target.write_text(
        "import math\n"
        "\n"
        "import numpy as np\n"
        "\n"
        "from keras.src import testing\n"
        "\n"
        "\n"
        "class SomeTest(testing.TestCase):\n"
        "    def test_pi(self):\n"
        "        self.assertEqual(np.floor(math.pi), 3)\n"
    )
    patched, _ = keras_suite_patch.suite_text(tmp_path)
    compile(patched, "numpy_test.py", "exec")
    head = patched.split("\n\n\n", 1)[0].splitlines()
    assert "import pytest" in head
    assert "from absl.testing import parameterized" in head
    assert "from keras.src.ops import numpy as knp" in head
    # Single-line imports in isort's order: ruff has nothing to say.
    target.write_text(patched)
    code, output = ruff_check(target, TREE / "pyproject.toml")
    assert code == 0, output


def test_keras_openvino_tree_is_refused(tmp_path):
    (tmp_path / "keras_openvino").mkdir()
    with pytest.raises(export_patch.ExportError, match="keras-openvino"):
        keras_suite_patch.write_suite_patch(tmp_path, tmp_path / "out")


WORKFLOW = """\
jobs:
  run_cpu_tests:
    steps:
      - name: Install keras-openvino
        run: pip install -e .

      - name: Run Tests
        working-directory: ./keras
        run: |
          pytest keras
          echo done

      # TODO integration tests

  format:
    steps:
      - name: Run pre-commit
        run: pre-commit run --all-files
"""


def test_step_goes_right_after_run_tests():
    targets = ["keras_openvino", "integration_tests"]
    new = keras_suite_patch.workflow_with_step(WORKFLOW, targets)
    # Only the step's lines are added.
    step = "".join(keras_suite_patch.ci_step(targets))
    assert new.count(step) == 1 and new.replace(step, "") == WORKFLOW
    lines = new.splitlines()
    start = lines.index("      - name: Run keras-openvino's own tests")
    assert lines[start - 2 : start] == ["          echo done", ""]
    assert lines[start + 8 : start + 10] == [
        "",
        "      # TODO integration tests",
    ]
    assert keras_suite_patch.step_command(new) == {
        "if": "${{ !cancelled() }}",
        "env": {"PYTHONPATH": "../keras"},
        "working-directory": "./keras-openvino",
        "run": "pytest keras_openvino integration_tests",
    }
    yaml = pytest.importorskip("yaml")
    steps = yaml.safe_load(new)["jobs"]["run_cpu_tests"]["steps"]
    assert [step["name"] for step in steps] == [
        "Install keras-openvino",
        "Run Tests",
        "Run keras-openvino's own tests",
    ]


def test_workflow_without_run_tests_is_reported():
    with pytest.raises(export_patch.ExportError, match="Run Tests"):
        keras_suite_patch.workflow_with_step("jobs: {}\n", ["keras_openvino"])


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "# Testing\npytest\n\n# Linting\nruff\n",
            "# Testing\npytest\nhypothesis\n\n",
        ),
        ("openvino\npytest", "openvino\npytest\nhypothesis\n"),
    ],
)
def test_requirements_join_the_testing_block(text, expected):
    diff = (
        "+++ b/keras_openvino/src/ops/numpy_fuzz_test.py\n"
        "+from hypothesis import given\n"
    )
    packages = keras_suite_patch.missing_test_packages([diff], text)
    assert packages == ["hypothesis"]
    assert expected in keras_suite_patch.requirements_with(text, packages)
    assert (
        keras_suite_patch.missing_test_packages([diff], text + "\nhypothesis\n")
        == []
    )


def test_no_step_outside_a_keras_openvino_checkout(tmp_path):
    series = [("x", "", "+++ b/keras_openvino/src/ops/numpy_test.py\n")]
    layout = export_patch.KerasLayout()
    assert keras_suite_patch.extra_series(tmp_path, layout, series) == []


@pytest.fixture(scope="module")
def keras_openvino_series(tmp_path_factory):
    """keras-openvino main with the series applied in order, as a checkout
    would have it."""
    work = tmp_path_factory.mktemp("keras_openvino")
    root = unpack(snapshot("keras-openvino-main-*.tar.gz"), work / "before")
    paths = export_patch.write_series(root, work / "series")
    applied = shutil.copytree(root, work / "after")
    for path in paths:
        result = git_apply(path.resolve(), applied)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
    return root, applied, paths


def test_keras_openvino_series_ends_with_the_ci_step(keras_openvino_series):
    root, applied, paths = keras_openvino_series
    names = export_patch.series_names(export_patch.layout_of(root))
    assert [path.name for path in paths] == [
        f"{number:04d}-{name}.patch"
        for number, name in enumerate(
            names + [keras_suite_patch.CI_NAME], start=1
        )
    ]
    last = paths[-1].read_text()
    assert last.startswith(
        f"Subject: [PATCH {len(paths)}/{len(paths)}] CI: run keras-openvino"
    )
    diff = last.split("\n---\n", 1)[1]
    changed = [line for line in diff.splitlines() if line.startswith("+++ ")]
    assert changed == [
        f"+++ b/{keras_suite_patch.WORKFLOW}",
        f"+++ b/{keras_suite_patch.REQUIREMENTS}",
    ]
    added = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    removed = [
        line
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    # Nine lines of YAML, one requirement: the fuzz tests' hypothesis.
    assert removed == [] and len(added) == 10
    assert "hypothesis" in added
    requirements = (applied / keras_suite_patch.REQUIREMENTS).read_text()
    assert "# Testing\npytest\npytest-xdist\nhypothesis\n\n" in requirements
    step = keras_suite_patch.step_command(
        (applied / keras_suite_patch.WORKFLOW).read_text()
    )
    assert step["run"] == "pytest keras_openvino integration_tests"
    assert step["working-directory"] == "./keras-openvino"
    # What the step runs is there once the series is applied.
    assert (applied / "conftest.py").is_file()
    assert list((applied / "keras_openvino").rglob("*_test.py"))
    assert list((applied / "integration_tests").glob("*_test.py"))
    # The other patches do not touch the workflow.
    for path in paths[:-1]:
        assert keras_suite_patch.WORKFLOW not in path.read_text()


def test_check_applies_copies_the_workflow(keras_openvino_series):
    root, _, paths = keras_openvino_series
    applies, message = export_patch.check_applies(paths, root)
    assert applies, message
