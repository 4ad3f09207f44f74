"""The suite patch against Keras snapshots."""

import subprocess

import pytest

from tools import export_patch as ep
from tools import keras_suite_patch as ksp
from tools.export_patch_test import unpack


@pytest.mark.parametrize(
    "snapshot", ["keras-pluggable_backend", "keras-v3.15.1"]
)
def test_suite_patch_adds_the_classes(snapshot, tmp_path):
    root = unpack(snapshot, tmp_path / "upstream")
    patch = ksp.write_suite_patch(root, tmp_path / "out")
    text = patch.read_text()
    assert text.startswith("Subject: [PATCH 1/1] Tests: ")
    assert "{classes}" not in (tmp_path / "out/keras-suite.md").read_text()
    diff = text.split("\n---\n", 1)[1].splitlines()
    assert [x for x in diff if x[:1] == "-"] == [f"--- a/{ksp.SUITE_FILE}"]
    subprocess.run(["git", "apply", patch], cwd=root, check=True)
    patched = (root / ksp.SUITE_FILE).read_text()
    classes = ksp.suite_classes()
    assert {"NanToNumExactTest", "ArgmaxArgminNumpyParityTest"} <= set(classes)
    for name in classes:
        assert patched.count(f"\nclass {name}(testing.TestCase):") == 1
    ruff = ep.pathlib.Path(ep.sys.executable).parent / "ruff"
    config = ["--config", ep.TREE_ROOT / "pyproject.toml"]
    assert (
        subprocess.run(
            [ruff, "check", *config, root / ksp.SUITE_FILE]
        ).returncode
        == 0
    )
