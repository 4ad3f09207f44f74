"""The patch export: complete, applicable, and honest about what it lacks."""

import importlib
import inspect
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

import pytest

from tools import export_patch

TREE = export_patch.TREE_ROOT


def overlaid_modules():
    for relative in export_patch.tree_modules():
        if not relative.startswith("keras/") or not relative.endswith(".py"):
            continue
        name = relative[: -len(".py")].replace("/", ".")
        name = name.removesuffix(".__init__")
        module = importlib.import_module(name)
        if getattr(module, "__overlaid__", None):
            yield relative, module


def edited_functions(module):
    """The functions that the module's edits file changes in place."""
    edits_file = getattr(module, "__edits_file__", None)
    if edits_file is None:
        return set()
    with open(edits_file, "rb") as f:
        return {edit.get("function") for edit in tomllib.load(f)["edit"]}


def replaced_definitions():
    """What the overlay really replaces, as `file name` entries."""
    entries = set()
    for relative, module in overlaid_modules():
        for name, release_value in module.__overlaid__.items():
            if name in edited_functions(module):
                continue
            tree_value = getattr(module, name)
            if inspect.isclass(tree_value) and release_value in getattr(
                tree_value, "__bases__", ()
            ):
                for method in vars(tree_value):
                    if inspect.isfunction(vars(tree_value)[method]):
                        entries.add((relative, f"{name}.{method}"))
            else:
                entries.add((relative, name))
    return entries


def test_replaced_definitions_list_is_complete():
    assert set(export_patch.required_definitions()) == replaced_definitions()


@pytest.fixture(scope="module")
def installed_root():
    root, _ = export_patch.installed_keras_root()
    return root


@pytest.fixture(scope="module")
def patched_keras(installed_root, tmp_path_factory):
    """A copy of the installed Keras with the exported patch applied."""
    work = tmp_path_factory.mktemp("patched")
    patch = work / "contribution.patch"
    patch.write_text(export_patch.export(installed_root))
    applies, message = export_patch.check_applies([patch], installed_root)
    assert applies, message
    shutil.copytree(installed_root / "keras", work / "keras")
    subprocess.run(["git", "apply", str(patch)], cwd=work, check=True)
    return work, patch.read_text()


def test_patch_replaces_definitions_in_place(patched_keras, installed_root):
    work, patch = patched_keras
    numpy_file = "keras/src/backend/openvino/numpy.py"
    patched = (work / numpy_file).read_text()
    release = (installed_root / numpy_file).read_text()
    assert patched.count("\ndef nan_to_num(") == 1
    assert "def _nan_to_num_bits(" in patched
    # The definition stays where the release had it: between its neighbours.
    release_order = release.index("\ndef moveaxis") < release.index(
        "\ndef nan_to_num("
    )
    patched_order = patched.index("\ndef moveaxis") < patched.index(
        "\ndef nan_to_num("
    )
    assert release_order == patched_order
    assert "keras/__init__.py" not in patch
    for test_file in (
        "keras/src/backend/openvino/numpy_test.py",
        "keras/src/backend/openvino/core_test.py",
        "integration_tests/openvino_nan_to_num_tabular_test.py",
    ):
        assert f"+++ b/{test_file}" in patch


def test_patched_files_are_clean(patched_keras):
    work, patch = patched_keras
    changed = [
        line.split("b/", 1)[1]
        for line in patch.splitlines()
        if line.startswith("+++ b/")
    ]
    changed = [path for path in changed if path.startswith("keras/")]
    for path in changed:
        compile((work / path).read_text(), path, "exec")
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--config", str(TREE / "pyproject.toml")]
        + [str(work / path) for path in changed],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_missing_definition_is_reported(installed_root, tmp_path):
    shutil.copytree(installed_root / "keras", tmp_path / "keras")
    numpy_file = tmp_path / "keras/src/backend/openvino/numpy.py"
    source = numpy_file.read_text().replace(
        "\ndef nan_to_num(", "\ndef renamed_nan_to_num("
    )
    numpy_file.write_text(source)
    with pytest.raises(export_patch.ExportError, match="numpy.py: nan_to_num"):
        export_patch.export(tmp_path)


def test_excluded_list_enables_the_replaced_ops(tmp_path):
    listing = tmp_path / export_patch.EXCLUDED_TESTS
    listing.parent.mkdir(parents=True)
    listing.write_text(
        "NumpyDtypeTest::test_angle\n"
        "NumpyDtypeTest::test_argmax\n"
        "NumpyDtypeTest::test_argmin_float16\n"
        "NumpyOneInputOpsCorrectnessTest::test_nan_to_num\n"
        "NumpyOneInputOpsCorrectnessTest::test_nanargmax\n"
        "NumpyOneInputOpsCorrectnessTest::test_argsort\n"
    )
    stages = export_patch.series_stages(export_patch.tree_modules())
    kept = [
        export_patch.excluded_tests_text(
            tmp_path, export_patch.KerasLayout(), present
        ).splitlines()
        for present in [frozenset()] + stages
    ]
    every_entry = listing.read_text().splitlines()
    assert kept[0] == every_entry
    # argmax's and argmin's entries go with their patch, nan_to_num's with
    # its own; test_nanargmax and the others stay.
    names = [name for name, _ in export_patch.SERIES]
    after_argmax = kept[names.index("argmax-argmin") + 1]
    assert "NumpyDtypeTest::test_argmax" not in after_argmax
    assert "NumpyOneInputOpsCorrectnessTest::test_nan_to_num" in after_argmax
    after_nan_to_num = kept[names.index("exact-nan-to-num") + 1]
    assert "NumpyOneInputOpsCorrectnessTest::test_nan_to_num" not in (
        after_nan_to_num
    )
    assert kept[-1] == [
        "NumpyDtypeTest::test_angle",
        "NumpyOneInputOpsCorrectnessTest::test_nanargmax",
        "NumpyOneInputOpsCorrectnessTest::test_argsort",
    ]


@pytest.fixture(scope="module")
def series(installed_root, tmp_path_factory):
    """The series written for the installed Keras."""
    output = tmp_path_factory.mktemp("series")
    return export_patch.write_series(installed_root, output)


def applied(installed_root, patches, directory):
    """A copy of the installed Keras with `patches` applied in order."""
    shutil.copytree(installed_root / "keras", directory / "keras")
    for patch in patches:
        subprocess.run(["git", "apply", str(patch)], cwd=directory, check=True)
    return directory


def test_series_is_one_patch_per_concern_with_its_description(series):
    names = export_patch.series_names(export_patch.KerasLayout())
    assert [path.name for path in series] == [
        f"{number:04d}-{name}.patch" for number, name in enumerate(names, 1)
    ]
    for number, path in enumerate(series, 1):
        text = path.read_text()
        subject = text.splitlines()[0]
        assert subject.startswith(f"Subject: [PATCH {number}/{len(names)}] ")
        message = text.split("\n---\n", 1)[0]
        assert "**What.**" in message and "**Measured**" in message
        assert "{backend}" not in message
        # Each patch brings its own tests.
        assert "_test.py" in text.split("\n---\n", 1)[1]


def test_series_adds_up_to_the_single_patch(series, installed_root, tmp_path):
    whole = tmp_path / "whole.patch"
    whole.write_text(export_patch.export(installed_root))
    by_series = applied(installed_root, series, tmp_path / "series")
    at_once = applied(installed_root, [whole], tmp_path / "at_once")
    for path in sorted((at_once / "keras").rglob("*.py")):
        relative = path.relative_to(at_once)
        assert (by_series / relative).read_text() == path.read_text(), relative


@pytest.mark.parametrize(
    "stage",
    range(1, len(export_patch.series_names(export_patch.KerasLayout())) + 1),
)
def test_each_stage_is_clean_and_passes_its_tests(
    series, installed_root, tmp_path, stage
):
    """Patches 1..stage applied: the changed files pass ruff with Keras's
    settings and the tests they hold pass."""
    work = applied(installed_root, series[:stage], tmp_path)
    changed = sorted(
        {
            line.split("b/", 1)[1]
            for patch in series[:stage]
            for line in patch.read_text().splitlines()
            if line.startswith("+++ b/")
        }
    )
    python_files = [path for path in changed if path.endswith(".py")]
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, "--config", str(TREE / "pyproject.toml")]
            + python_files,
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    tests = [path for path in python_files if path.endswith("_test.py")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["-x", *tests],
        cwd=work,
        env={
            **os.environ,
            "KERAS_BACKEND": "openvino",
            "PYTHONPATH": str(work),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def file_diff(patch_text, path):
    """The lines that a patch removes and adds in `path`."""
    section = patch_text.split(f"diff --git a/{path} b/{path}\n", 1)[1]
    section = section.split("\ndiff --git ", 1)[0].splitlines()[2:]
    removed = [line[1:] for line in section if line.startswith("-")]
    added = [line[1:] for line in section if line.startswith("+")]
    return removed, added


def test_predict_patch_changes_only_the_edited_lines(series):
    names = [name for name, _ in export_patch.SERIES]
    patch = series[names.index("predict-at-float32")].read_text()
    removed, added = file_diff(patch, export_patch.BACKEND + "trainer.py")
    # One line of Keras's trainer changes; the rest is added around lines
    # that stay.
    assert [line.strip() for line in removed] == [
        "self.ov_compiled_model = ov.compile_model(ov_model, get_device())"
    ]
    assert len(added) <= 16
    assert "import ml_dtypes" in added
    assert any('{"INFERENCE_PRECISION_HINT": "f32"}' in line for line in added)
    assert all(len(line) <= 80 for line in added)


def test_edits_follow_keras_openvino_trainer_class(installed_root, tmp_path):
    # keras-openvino 0.0.1 names its trainer class `Trainer`.
    release = installed_root / export_patch.BACKEND / "trainer.py"
    trainer = tmp_path / "keras_openvino/src/trainer.py"
    trainer.parent.mkdir(parents=True)
    trainer.write_text(
        release.read_text().replace("class OpenVINOTrainer(", "class Trainer(")
    )
    core = tmp_path / "keras_openvino/src/ops/core.py"
    core.parent.mkdir(parents=True)
    shutil.copy(installed_root / export_patch.BACKEND / "core.py", core)
    layout = export_patch.KerasOpenVINOLayout(tmp_path)
    everything = export_patch.series_stages(export_patch.tree_modules())[-1]
    texts = export_patch.edited_texts(tmp_path, layout, everything)
    edited = texts["keras_openvino/src/trainer.py"]
    assert '{"INFERENCE_PRECISION_HINT": "f32"}' in edited
    assert "output.view(ml_dtypes.bfloat16)" in edited


def test_edit_whose_anchor_is_gone_is_reported(installed_root, tmp_path):
    shutil.copytree(installed_root / "keras", tmp_path / "keras")
    trainer = tmp_path / export_patch.BACKEND / "trainer.py"
    trainer.write_text(
        trainer.read_text().replace(
            "ov.compile_model(ov_model, get_device())",
            "ov.compile_model(ov_model, self.ov_device)",
        )
    )
    with pytest.raises(
        export_patch.ExportError,
        match=r"trainer\.py: OpenVINOTrainer\._get_compiled_model: the "
        r"anchor 'self\.ov_compiled_model = ov\.compile_model\(ov_model, "
        r"get_device\(\)\)' occurs 0 times",
    ):
        export_patch.export(tmp_path)
