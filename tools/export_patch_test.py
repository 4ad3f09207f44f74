"""Series and suite patches against `../shared/upstream/`; the merge rules."""

import os
import re
import shutil
import subprocess
import tarfile

import pytest

from tools import export_patch as ep


def unpack(pattern, directory):
    snapshots = os.environ.get("UPSTREAM_SNAPSHOTS", "../shared/upstream")
    (tarball,) = (ep.TREE_ROOT / snapshots).glob(pattern + "-*")
    with tarfile.open(tarball) as archive:
        archive.extractall(directory, filter="data")
    return next(directory.iterdir())


AUTHOR = {
    "GIT_AUTHOR_NAME": "Patch Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
}


@pytest.fixture(scope="module", params=["keras-openvino-main", "keras-v3.15.1"])
def series(request, tmp_path_factory):
    root = unpack(request.param, tmp_path_factory.mktemp("upstream"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in AUTHOR.items():
            env.setenv(name, value)
        paths = ep.write_series(root, tmp_path_factory.mktemp("series"))
    return root, paths


def test_series_applies_in_order(series, tmp_path):
    root, paths = series
    layout = ep.Layout(root)
    names = ep.series_names(layout) + ["ci-package-tests"] * layout.kov
    assert [p.name[5:-6] for p in paths] == names
    assert ("nan-cumulative" in names) != layout.kov
    copy = shutil.copytree(root, tmp_path / "copy")
    for path in paths:
        for check in (["--check"], []):
            run = subprocess.run(["git", "apply", *check, path], cwd=copy)
            assert run.returncode == 0, path.name
    # An edit that names its concern comes in that concern's patch, not in
    # the first one that edits its function.
    for _, file_edits in ep.edits(ep.TREE_ROOT / "keras"):
        for edit in filter(lambda edit: edit.get("concern"), file_edits):
            line = edit["replacement"].strip().splitlines()[0]
            holders = [
                path.name[5:-6]
                for path in paths
                if f"\n+{line}" in re.sub(r"\n\+ +", "\n+", path.read_text())
            ]
            assert holders == [edit["concern"]], line
    if not layout.kov:
        return
    # keras-openvino's layout: its paths and imports, and a CI step.
    text = "".join(path.read_text() for path in paths)
    changed = [line for line in text.splitlines() if line.startswith("+++ ")]
    assert "+++ b/keras_openvino/src/trainer.py" in changed
    assert "+++ b/keras_openvino/src/ops/numpy.py" in changed
    assert "+++ b/keras_openvino/src/export.py" in changed
    assert "+++ b/conftest.py" in changed
    assert not [line for line in changed if line.startswith("+++ b/keras/")]
    assert "-from keras_openvino.src.utils import DTYPES_MAX" in text
    assert "keras.src.backend.openvino" not in text and "{backend}" not in text
    diff = paths[-1].read_text().split("\n---\n", 1)[1].splitlines()
    step = ep.STEP.replace("TARGETS", "keras_openvino integration_tests")
    added = [f"+{x}" for x in step.splitlines() if x]
    changes = [x for x in diff if x[:1] in "+-" and x[:3] not in "+++---"]
    assert changes[: len(added)] == added
    # The rest is the conftest hook, in the step's patch; hypothesis came
    # with the first tests that import it.
    hook = (
        ep.TREE_ROOT / "tools/series/conftest/functional_call.py"
    ).read_text()
    assert {x[1:] for x in changes[len(added) :] if x[1:]} <= {
        *hook.splitlines(),
        "",
    }
    assert "+hypothesis" in text and "+hypothesis" not in "\n".join(diff)
    assert ep.step_command((copy / ep.WORKFLOW).read_text()) == {
        "name": "Run keras-openvino's own tests",
        "if": "${{ !cancelled() }}",
        "env": {"PYTHONPATH": "../keras"},
        "working-directory": "./keras-openvino",
        "run": "pytest keras_openvino integration_tests -n auto",
    }
    core = ep.write_series(root, tmp_path / "core", core_only=True)
    speed = {f"{name}.patch" for name, _ in ep.speed_patches()}
    full = [p for p in paths if p.name[5:] not in speed]
    assert [p.name[5:] for p in full] == [p.name[5:] for p in core]
    for old, new in zip(full, core):
        assert old.read_text().split("]")[1] == new.read_text().split("]")[1]
    # An upstream change that the tree does not fit is reported.
    for path, old, new, match in [
        ("ops/numpy.py", "\ndef nan_to_num(", "\ndef nan2num(", "nan_to_num"),
        ("trainer.py", "(ov_model, get_device())", "(ov_model)", "anchor"),
    ]:
        broken = shutil.copytree(root, tmp_path / match)
        file = broken / "keras_openvino/src" / path
        file.write_text(file.read_text().replace(old, new))
        with pytest.raises(ep.ExportError, match=match):
            ep.write_series(broken, tmp_path / "out")


RELEASE = "import math\n\nimport numpy as np\n\n\ndef a(): return math.pi\n"
RELEASE += "\n\nclass K:\n    def f(self): return np.pi\n\n    def g(self): 2\n"
TREE = "import os\n\nfrom keras.src import ops\n\n\ndef h(): return os.sep\n"
TREE += "\n\nclass K(K):\n    def g(self): ops\n\n\ndef a(): return h()\n"


def test_series_applies_with_git_am(series, tmp_path):
    root, paths = series
    assert (
        paths[0]
        .read_text()
        .startswith("From: Patch Author <author@example.com>\nDate: ")
    )
    copy = shutil.copytree(root, tmp_path / "copy")
    committer = {
        "GIT_COMMITTER_NAME": "Maintainer",
        "GIT_COMMITTER_EMAIL": "maintainer@example.com",
    }
    env = {**os.environ, **AUTHOR, **committer}
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "upstream"],
        ["git", "am", "-q", *paths],
    ):
        run = subprocess.run(command, cwd=copy, env=env)
        assert run.returncode == 0, command[:2]
    log = subprocess.run(
        ["git", "log", "--format=%an", f"-{len(paths)}"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert log.stdout.split("\n")[:-1] == ["Patch Author"] * len(paths)


def test_merge_rules():
    # In place; new ones before the next replaced one; `class K(K):` only its
    # methods; missing imports where isort puts them; unused ones gone.
    assert ep.merge_module("m", RELEASE, TREE) == (
        "import os\n\nimport numpy as np\n\nfrom keras.src import ops\n\n\n"
        "def a(): return h()\n\n\ndef h(): return os.sep\n\n\nclass K:\n"
        "    def f(self): return np.pi\n\n    def g(self): ops\n"
    )


@pytest.mark.parametrize(
    "snapshot", ["keras-pluggable_backend", "keras-v3.15.1"]
)
def test_suite_patch_adds_the_classes(snapshot, tmp_path):
    root = unpack(snapshot, tmp_path / "upstream")
    patch = ep.write_suite_patch(root, tmp_path / "out")
    text = patch.read_text()
    assert "\nSubject: [PATCH 1/1] Tests: " in text
    assert "{classes}" not in (tmp_path / "out/keras-suite.md").read_text()
    diff = text.split("\n---\n", 1)[1].splitlines()
    assert [x for x in diff if x[:1] == "-"] == [f"--- a/{ep.SUITE_FILE}"]
    subprocess.run(["git", "apply", patch], cwd=root, check=True)
    patched = (root / ep.SUITE_FILE).read_text()
    classes = ep.suite_classes()
    assert {"NanToNumExactTest", "ArgmaxArgminNumpyParityTest"} <= set(classes)
    for name in classes:
        assert patched.count(f"\nclass {name}(testing.TestCase):") == 1
    ruff = ep.pathlib.Path(ep.sys.executable).parent / "ruff"
    config = ["--config", ep.TREE_ROOT / "pyproject.toml"]
    subprocess.run([ruff, "check", *config, root / ep.SUITE_FILE], check=True)
