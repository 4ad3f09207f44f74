"""The series against the upstream snapshots in `../shared/upstream/`, and
the merge rules on small sources."""

import shutil
import subprocess
import tarfile

import pytest

from tools import export_patch as ep
from tools import keras_suite_patch as ksp

SNAPSHOTS = ep.TREE_ROOT.parent / "shared" / "upstream"


def unpack(pattern, directory):
    (tarball,) = SNAPSHOTS.glob(pattern + "-*.tar.gz")
    with tarfile.open(tarball) as archive:
        archive.extractall(directory, filter="data")
    (root,) = directory.iterdir()
    return root


def exported(factory, pattern, **kwargs):
    root = unpack(pattern, factory.mktemp("upstream"))
    return root, ep.write_series(root, factory.mktemp("series"), **kwargs)


@pytest.fixture(scope="module")
def kov(tmp_path_factory):
    return exported(tmp_path_factory, "keras-openvino-main")


@pytest.fixture(scope="module")
def tag(tmp_path_factory):
    return exported(tmp_path_factory, "keras-v3.15.1")


@pytest.mark.parametrize("snapshot", ["kov", "tag"])
def test_series_applies_in_order(snapshot, request, tmp_path):
    root, paths = request.getfixturevalue(snapshot)
    layout = ep.Layout(root)
    names = ep.series_names(layout) + ["ci-package-tests"] * layout.kov
    assert [p.name for p in paths] == [
        f"{i:04d}-{name}.patch" for i, name in enumerate(names, 1)
    ]
    assert ("nan-cumulative" in names) != layout.kov
    copy = shutil.copytree(root, tmp_path / "copy")
    for path in paths:
        for check in (["--check"], []):
            command = ["git", "apply", *check, str(path)]
            run = subprocess.run(command, cwd=copy, capture_output=True)
            assert run.returncode == 0, (path.name, run.stderr)
    assert ep.check_applies(paths, root) == (True, "")
    assert not ep.check_applies(paths, copy)[0]  # Applied already.


def test_keras_openvino_layout(kov):
    root, paths = kov
    layout, text = ep.Layout(root), "".join(p.read_text() for p in paths)
    assert layout.path(ep.BACKEND + "numpy_test.py") == (
        "keras_openvino/src/ops/numpy_test.py"
    )
    assert (
        layout.path(ep.BACKEND + "trainer.py")
        == "keras_openvino/src/trainer.py"
    )
    assert layout.rewrite(
        "from keras.src.backend.openvino.core import get_device\n"
        "from keras.src.backend.openvino import numpy"
    ) == (
        "from keras_openvino.src.utils import get_device\n"
        "from keras_openvino.src.ops import numpy"
    )
    changed = [line for line in text.splitlines() if line.startswith("+++ ")]
    assert "+++ b/conftest.py" in changed
    assert not [line for line in changed if line.startswith("+++ b/keras/")]
    assert "keras.src.backend.openvino" not in text
    assert "{backend}" not in text


def test_core_leaves_out_the_speed_patch(kov, tmp_path):
    root, paths = kov
    core = ep.write_series(root, tmp_path, core_only=True)
    assert [p.name[5:] for p in paths if "compiled-model" not in p.name] == [
        p.name[5:] for p in core
    ]
    for full, short in zip(paths[:4], core):
        assert full.read_text().replace("/6]", "/5]") == short.read_text()


def test_ci_step_patch_adds_the_workflow_step(kov, tmp_path):
    root, paths = kov
    diff = paths[-1].read_text().split("\n---\n", 1)[1].splitlines()
    assert [x for x in diff if x.startswith("+++")] == [
        f"+++ b/{ksp.WORKFLOW}",
        "+++ b/requirements.txt",
    ]
    assert "+hypothesis" in diff
    assert not [x for x in diff if x[:1] == "-" and x[:3] != "---"]
    copy = shutil.copytree(root, tmp_path / "copy")
    subprocess.run(["git", "apply", paths[-1]], cwd=copy, check=True)
    assert ksp.step_command((copy / ksp.WORKFLOW).read_text()) == {
        "if": "${{ !cancelled() }}",
        "env": {"PYTHONPATH": "../keras"},
        "working-directory": "./keras-openvino",
        "run": "pytest keras_openvino integration_tests",
    }


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


RELEASE = """\
import math

import numpy as np


def a():
    return math.pi


class K:
    def f(self):
        return np.pi

    def g(self):
        return 2


def b():
    return 2
"""
TREE = """\
import os

from keras.src import ops


def helper():
    return os.sep


def b():
    return helper()


class K(K):
    def g(self):
        return ops.e


def a():
    return 3
"""


MERGED = """\
import os

import numpy as np

from keras.src import ops


def a():
    return 3


class K:
    def f(self):
        return np.pi

    def g(self):
        return ops.e


def helper():
    return os.sep


def b():
    return helper()
"""


def test_merge_rules():
    # In place; new ones before the next replaced one; `class K(K):` only its
    # methods; missing imports where isort puts them; unused ones gone.
    assert ep.merge_module("m", RELEASE, TREE) == MERGED
