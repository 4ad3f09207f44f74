"""The series against `../shared/upstream/`'s snapshots; the merge rules."""

import shutil
import subprocess
import tarfile

import pytest

from tools import export_patch as ep


def unpack(pattern, directory):
    (tarball,) = (ep.TREE_ROOT.parent / "shared/upstream").glob(pattern + "-*")
    with tarfile.open(tarball) as archive:
        archive.extractall(directory, filter="data")
    return next(directory.iterdir())


def exported(factory, pattern):
    root = unpack(pattern, factory.mktemp("upstream"))
    return root, ep.write_series(root, factory.mktemp("series"))


@pytest.fixture(scope="module")
def kov(tmp_path_factory):
    return exported(tmp_path_factory, "keras-openvino-main")


@pytest.fixture(scope="module")
def tag(tmp_path_factory):
    return exported(tmp_path_factory, "keras-v3.15.1")


def applied(root, paths, copy):
    copy = shutil.copytree(root, copy)
    for path in paths:
        for check in (["--check"], []):
            run = subprocess.run(["git", "apply", *check, path], cwd=copy)
            assert run.returncode == 0, path.name
    return copy


@pytest.mark.parametrize("snapshot", ["kov", "tag"])
def test_series_applies_in_order(snapshot, request, tmp_path):
    root, paths = request.getfixturevalue(snapshot)
    layout = ep.Layout(root)
    names = ep.series_names(layout) + ["ci-package-tests"] * layout.kov
    assert [p.name[5:-6] for p in paths] == names
    assert ("nan-cumulative" in names) != layout.kov
    copy = applied(root, paths, tmp_path / "copy")
    assert ep.check_applies(paths, root) == (True, "")
    assert not ep.check_applies(paths, copy)[0]  # Applied already.


def test_keras_openvino_layout_and_ci_step(kov, tmp_path):
    root, paths = kov
    layout, text = ep.Layout(root), "".join(p.read_text() for p in paths)
    assert (
        layout.path(ep.BACKEND + "trainer.py")
        == "keras_openvino/src/trainer.py"
    )
    assert layout.rewrite(
        "from keras.src.backend.openvino.core import get_device\n"
        "from keras.src.backend.openvino.numpy import argmax"
    ) == (
        "from keras_openvino.src.utils import get_device\n"
        "from keras_openvino.src.ops.numpy import argmax"
    )
    changed = [line for line in text.splitlines() if line.startswith("+++ ")]
    assert "+++ b/conftest.py" in changed
    assert not [line for line in changed if line.startswith("+++ b/keras/")]
    assert "keras.src.backend.openvino" not in text and "{backend}" not in text
    # The last patch adds the workflow step and hypothesis, nothing else.
    diff = paths[-1].read_text().split("\n---\n", 1)[1].splitlines()
    step = ep.STEP.replace("TARGETS", "keras_openvino integration_tests")
    changes = [x for x in diff if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    assert [x for x in changes if x != "+"] == [
        f"+{x}" for x in step.splitlines() if x
    ] + ["+hypothesis"]
    copy = applied(root, paths, tmp_path / "copy")
    assert ep.step_command((copy / ep.WORKFLOW).read_text()) == {
        "if": "${{ !cancelled() }}",
        "env": {"PYTHONPATH": "../keras"},
        "working-directory": "./keras-openvino",
        "run": "pytest keras_openvino integration_tests",
    }


def test_core_leaves_out_the_speed_patch(kov, tmp_path):
    root, paths = kov
    core = ep.write_series(root, tmp_path, core_only=True)
    full = [p for p in paths if "compiled-model" not in p.name]
    assert [p.name[5:] for p in full] == [p.name[5:] for p in core]
    for old, new in zip(full, core):
        assert old.read_text().split("]")[1] == new.read_text().split("]")[1]


@pytest.mark.parametrize(
    "path, old, new, match",
    [
        ("ops/numpy.py", "\ndef nan_to_num(", "\ndef nan2num(", "nan_to_num"),
        ("trainer.py", "(ov_model, get_device())", "(ov_model)", "anchor"),
    ],
)
def test_upstream_change_is_reported(kov, tmp_path, path, old, new, match):
    copy = shutil.copytree(kov[0], tmp_path / "copy")
    source = copy / "keras_openvino/src" / path
    source.write_text(source.read_text().replace(old, new))
    with pytest.raises(ep.ExportError, match=match):
        ep.write_series(copy, tmp_path / "out")


RELEASE = "import math\n\nimport numpy as np\n\n\ndef a(): return math.pi\n"
RELEASE += "\n\nclass K:\n    def f(self): return np.pi\n\n    def g(self): 2\n"
RELEASE += "\n\ndef b(): return 2\n"
TREE = "import os\n\nfrom keras.src import ops\n\n\ndef h(): return os.sep\n"
TREE += "\n\ndef b(): return h()\n\n\nclass K(K):\n    def g(self): ops\n"
TREE += "\n\ndef a(): return 3\n"


def test_merge_rules():
    # In place; new ones before the next replaced one; `class K(K):` only its
    # methods; missing imports where isort puts them; unused ones gone.
    assert ep.merge_module("m", RELEASE, TREE) == (
        "import os\n\nimport numpy as np\n\nfrom keras.src import ops\n\n\n"
        "def a(): return 3\n\n\nclass K:\n    def f(self): return np.pi\n\n"
        "    def g(self): ops\n\n\ndef h(): return os.sep\n\n\n"
        "def b(): return h()\n"
    )
