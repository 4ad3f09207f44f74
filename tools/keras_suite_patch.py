"""Patches for where upstream's CI runs tests, written by `export_patch`.

Two of them, each with its PR description in `docs/series/`:

- `--keras-suite`: the backend-agnostic test classes of the tree's
  `keras/src/ops/numpy_test.py`, added to a Keras source tree's own
  `keras/src/ops/numpy_test.py` (its other definitions stay as they are;
  the classes go after them, imports the file lacks join its import block
  in isort's order). Every backend's CI runs that file, keras-openvino's
  included (`pytest keras` from a Keras checkout).
- `ci-package-tests`: the last patch of keras-openvino's series (with
  `--series`, for a checkout that has `.github/workflows/actions.yml`): one
  workflow step that runs the tests the series adds under
  `keras_openvino/` (and `integration_tests/`), which the existing step,
  run from the Keras checkout, never collects; and, in `requirements.txt`,
  the packages only those tests import (hypothesis).
"""

import pathlib
import re

from tools import export_patch
from tools.export_patch import ExportError
from tools.export_patch import bound_name
from tools.export_patch import line_imports
from tools.export_patch import name_of

TREE_ROOT = export_patch.TREE_ROOT
SUITE_FILE = "keras/src/ops/numpy_test.py"
SUITE_NAME = "keras-suite"
CI_NAME = "ci-package-tests"
WORKFLOW = ".github/workflows/actions.yml"
# The step goes right after this one, in the job that installs the package.
STEP_AFTER = "Run Tests"
REQUIREMENTS = "requirements.txt"
# Modules the series' tests import that only they need, and their package.
TEST_ONLY_PACKAGES = {"hypothesis": "hypothesis"}


def suite_text(keras_root):
    """The target's `keras/src/ops/numpy_test.py` with the tree's classes
    added, and the target's own text."""
    target = keras_root / SUITE_FILE
    if not target.is_file():
        raise ExportError(f"{target} does not exist.")
    release_text = target.read_text()
    release = export_patch.parse(release_text)
    defined = {name_of(statement) for statement in release.body}
    known = {bound_name(e) for s in release.body for e in line_imports(s)}
    imports, added = [], []
    for statement in export_patch.parse(
        (TREE_ROOT / SUITE_FILE).read_text()
    ).body:
        entries = line_imports(statement)
        imports += [e for e in entries if bound_name(e) not in known]
        known |= {bound_name(entry) for entry in entries}
        name = name_of(statement)
        if entries:
            continue
        if name is None:
            raise ExportError(f"{SUITE_FILE}: cannot place a statement.")
        if name in defined:
            raise ExportError(
                f"{target} already defines {name}: the patch is applied "
                "there, or a name needs changing."
            )
        added.append(statement)
    if not added:
        raise ExportError(f"{SUITE_FILE} defines nothing.")
    merged = export_patch.with_additions(
        release, release.body, imports=imports, appended=added
    )
    return merged.code, release_text


def suite_classes():
    """The test classes the suite patch adds."""
    module = export_patch.parse((TREE_ROOT / SUITE_FILE).read_text())
    return [
        s.name.value
        for s in module.body
        if isinstance(s, export_patch.cst.ClassDef)
        and s.name.value.endswith("Test")
    ]


def write_suite_patch(keras_root, output_dir):
    """Writes `output_dir/0001-keras-suite.patch` and its description,
    `keras-suite.md`; returns the patch's path."""
    if (keras_root / "keras_openvino").is_dir():
        raise ExportError(
            f"{keras_root} is keras-openvino's tree: the suite patch is for "
            "a Keras source tree (the folder holding keras/src/ops/)."
        )
    new, old = suite_text(keras_root)
    description = (
        (export_patch.SERIES_DESCRIPTIONS / f"{SUITE_NAME}.md")
        .read_text()
        .replace(
            "{classes}", ", ".join(f"`{name}`" for name in suite_classes())
        )
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{SUITE_NAME}.md").write_text(description)
    path = output_dir / f"0001-{SUITE_NAME}.patch"
    path.write_text(
        export_patch.format_patch(
            description, export_patch.unified_diff(SUITE_FILE, old, new)
        )
    )
    return path


def own_test_targets(diffs):
    """The folders the series adds tests to, for pytest: `keras_openvino`,
    and `integration_tests` when it adds some there."""
    added = {
        line[len("+++ b/") :]
        for diff in diffs
        for line in diff.splitlines()
        if line.startswith("+++ b/") and line.endswith("_test.py")
    }
    targets = []
    for folder in ("keras_openvino", "integration_tests"):
        if any(path.startswith(folder + "/") for path in added):
            targets.append(folder)
    return targets


def ci_step(targets):
    """The workflow step, as lines of YAML in the job's steps."""
    return [
        "\n",
        "      - name: Run keras-openvino's own tests\n",
        "        # Also when the Keras suite above has failures of its own.\n",
        "        if: ${{ !cancelled() }}\n",
        "        working-directory: ./keras-openvino\n",
        "        env:\n",
        "          # The Keras checkout, not the keras that pip installed.\n",
        "          PYTHONPATH: ../keras\n",
        f"        run: pytest {' '.join(targets)}\n",
    ]


def workflow_with_step(text, targets):
    """The workflow with the step added right after `STEP_AFTER`'s."""
    lines = text.splitlines(keepends=True)
    starts = [
        index
        for index, line in enumerate(lines)
        if line.strip() == f"- name: {STEP_AFTER}"
    ]
    if len(starts) != 1:
        raise ExportError(
            f"{WORKFLOW} has {len(starts)} steps named {STEP_AFTER!r}, "
            "not one to add the package's tests after."
        )
    indent = len(lines[starts[0]]) - len(lines[starts[0]].lstrip())
    end = starts[0] + 1
    while (
        end < len(lines)
        and lines[end].strip()
        and len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    return "".join(lines[:end] + ci_step(targets) + lines[end:])


def missing_test_packages(diffs, requirements):
    """Packages that the series' tests import and neither the workflow's
    requirement files nor Keras's install."""
    added = "\n".join(diffs)
    return [
        package
        for module, package in TEST_ONLY_PACKAGES.items()
        if re.search(
            rf"^\+(from {module} import|import {module}\b)", added, re.M
        )
        and not re.search(rf"^{package}\b", requirements, re.M)
    ]


def requirements_with(text, packages):
    """`requirements.txt` with `packages` at the end of its testing block
    (the lines after `# Testing`), or at its end."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    end = len(lines)
    if "# Testing\n" in lines:
        end = lines.index("# Testing\n") + 1
        while end < len(lines) and lines[end].strip():
            end += 1
    return "".join(
        lines[:end] + [f"{name}\n" for name in packages] + lines[end:]
    )


def extra_series(keras_root, layout, series):
    """Patches that follow the series in `layout`: for a keras-openvino
    checkout with a workflow, the step that runs the series' own tests."""
    workflow = keras_root / WORKFLOW
    if layout.name != "keras-openvino" or not workflow.is_file():
        return []
    diffs = [diff for _, _, diff in series]
    targets = own_test_targets(diffs)
    if not targets:
        return []
    old = workflow.read_text()
    diff = export_patch.unified_diff(
        WORKFLOW, old, workflow_with_step(old, targets)
    )
    requirements = keras_root / REQUIREMENTS
    old = requirements.read_text() if requirements.is_file() else ""
    packages = missing_test_packages(diffs, old)
    if packages:
        diff += export_patch.unified_diff(
            REQUIREMENTS, old, requirements_with(old, packages)
        )
        needs = (
            "\n\nThe packages only these tests import join "
            f"`{REQUIREMENTS}`'s testing block: "
            + ", ".join(f"`{name}`" for name in packages)
            + "."
        )
    else:
        needs = ""
    description = (
        (export_patch.SERIES_DESCRIPTIONS / f"{CI_NAME}.md")
        .read_text()
        .replace("{command}", f"pytest {' '.join(targets)}")
        .replace("{needs}", needs)
    )
    return [(CI_NAME, description, diff)]


def step_command(workflow_text):
    """The added step's working directory, environment and command, read
    back from the workflow (the lines `ci_step` writes)."""
    lines = workflow_text.splitlines()
    start = lines.index(ci_step([])[1].rstrip("\n"))
    step = {"env": {}}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        key, _, value = line.strip().partition(":")
        if key.startswith("#") or key == "env":
            continue
        if line.startswith(" " * 10):
            step["env"][key] = value.strip()
        else:
            step[key] = value.strip()
    return step
