"""Patches for where upstream's CI runs tests, written by `export_patch`
(descriptions in `docs/series/`):

- `--keras-suite`: the tree's `keras/src/ops/numpy_test.py` test classes
  added after a Keras tree's own (missing imports join its import block),
  the file every backend's CI runs, keras-openvino's included.
- `ci-package-tests`, last in keras-openvino's series when it has
  `.github/workflows/actions.yml`: a step that runs the series' tests under
  `keras_openvino/` and `integration_tests/`, which the step run from the
  Keras checkout never collects, and the packages only they import.
"""

import re

import libcst as cst

from tools import export_patch
from tools.export_patch import ExportError
from tools.export_patch import bound_name
from tools.export_patch import line_imports
from tools.export_patch import name_of

SUITE_FILE = "keras/src/ops/numpy_test.py"
SUITE_NAME, CI_NAME = "keras-suite", "ci-package-tests"
WORKFLOW = ".github/workflows/actions.yml"
STEP_AFTER = "Run Tests"  # In the job that installs the package.
REQUIREMENTS = "requirements.txt"
# Modules the series' tests import that only they need, and their package.
TEST_ONLY_PACKAGES = {"hypothesis": "hypothesis"}


def suite_text(keras_root):
    """The target's op suite with the tree's classes added, and as it was."""
    if not (target := keras_root / SUITE_FILE).is_file():
        raise ExportError(f"{target} does not exist.")
    release = export_patch.parse(target.read_text())
    defined = {name_of(statement) for statement in release.body}
    known = {bound_name(e) for s in release.body for e in line_imports(s)}
    imports, added = [], []
    for statement in suite_module().body:
        entries = line_imports(statement)
        imports += [e for e in entries if bound_name(e) not in known]
        known |= {bound_name(entry) for entry in entries}
        if not entries and (name_of(statement) or "") in defined | {""}:
            raise ExportError(
                f"{target} already defines {name_of(statement)} (or it is no "
                "definition): the patch is applied there, or rename it."
            )
        added += [] if entries else [statement]
    if not added:
        raise ExportError(f"{SUITE_FILE} defines nothing.")
    merged = export_patch.with_additions(
        release, release.body, imports=imports, appended=added
    )
    return merged.code, target.read_text()


def suite_module():
    return export_patch.parse((export_patch.TREE_ROOT / SUITE_FILE).read_text())


def suite_classes():
    """The test classes the suite patch adds."""
    classes = [s for s in suite_module().body if isinstance(s, cst.ClassDef)]
    return [c.name.value for c in classes if c.name.value.endswith("Test")]


def write_suite_patch(keras_root, output_dir):
    """Writes `output_dir/0001-keras-suite.patch` and its description,
    `keras-suite.md`; returns the patch's path."""
    if (keras_root / "keras_openvino").is_dir():
        raise ExportError(
            f"{keras_root} is keras-openvino's tree: the suite patch is for "
            "a Keras source tree (the folder holding keras/src/ops/)."
        )
    new, old = suite_text(keras_root)
    classes = ", ".join(f"`{name}`" for name in suite_classes())
    description = description_of(SUITE_NAME, classes=classes)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{SUITE_NAME}.md").write_text(description)
    path = output_dir / f"0001-{SUITE_NAME}.patch"
    diff = export_patch.unified_diff(SUITE_FILE, old, new)
    path.write_text(export_patch.format_patch(description, diff))
    return path


def description_of(name, **fields):
    text = (export_patch.SERIES_DESCRIPTIONS / f"{name}.md").read_text()
    for field, value in fields.items():
        text = text.replace(f"{{{field}}}", value)
    return text


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
        i for i, s in enumerate(lines) if s.strip() == f"- name: {STEP_AFTER}"
    ]
    if len(starts) != 1:
        raise ExportError(
            f"{WORKFLOW} has {len(starts)} steps named {STEP_AFTER!r}, "
            "not one to add the package's tests after."
        )

    def indent(line):
        return len(line) - len(line.lstrip())

    end = starts[0] + 1
    while end < len(lines) and lines[end].strip():
        if indent(lines[end]) <= indent(lines[starts[0]]):
            break
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
    added = [f"{name}\n" for name in packages]
    return "".join(lines[:end] + added + lines[end:])


def extra_series(keras_root, layout, series):
    """Patches that follow the series in `layout`: for a keras-openvino
    checkout with a workflow, the step that runs the series' own tests."""
    workflow = keras_root / WORKFLOW
    if layout.name != "keras-openvino" or not workflow.is_file():
        return []
    diffs = [diff for _, _, diff in series]
    added = "".join(diffs).splitlines()
    # The folders the series adds tests to, for pytest.
    targets = [
        folder
        for folder in ("keras_openvino", "integration_tests")
        if any(
            line.startswith(f"+++ b/{folder}/") and line.endswith("_test.py")
            for line in added
        )
    ]
    if not targets:
        return []
    old = workflow.read_text()
    new = workflow_with_step(old, targets)
    diff = export_patch.unified_diff(WORKFLOW, old, new)
    requirements = keras_root / REQUIREMENTS
    old = requirements.read_text() if requirements.is_file() else ""
    needs = ""
    if packages := missing_test_packages(diffs, old):
        new = requirements_with(old, packages)
        diff += export_patch.unified_diff(REQUIREMENTS, old, new)
        needs = (
            "\n\nThe packages only these tests import join "
            f"`{REQUIREMENTS}`'s testing block: "
            + ", ".join(f"`{name}`" for name in packages)
            + "."
        )
    command = f"pytest {' '.join(targets)}"
    description = description_of(CI_NAME, command=command, needs=needs)
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
        (step["env"] if line.startswith(" " * 10) else step)[key] = (
            value.strip()
        )
    return step
