"""Patches for upstream's CI, written by `export_patch`: `--keras-suite` adds
the tree's `keras/src/ops/numpy_test.py` classes to a Keras tree's; last in
keras-openvino's series, a workflow step runs the series' own tests."""

import re

import libcst as cst

from tools import export_patch as ep

SUITE_FILE = "keras/src/ops/numpy_test.py"
WORKFLOW = ".github/workflows/actions.yml"
REQUIREMENTS = "requirements.txt"
STEP = """
      - name: Run keras-openvino's own tests
        # Also when the Keras suite above has failures of its own.
        if: ${{ !cancelled() }}
        working-directory: ./keras-openvino
        env:
          # The Keras checkout, not the keras that pip installed.
          PYTHONPATH: ../keras
        run: pytest TARGETS
"""


def suite_module():
    return ep.parse((ep.TREE_ROOT / SUITE_FILE).read_text())


def suite_classes():
    """The test classes the suite patch adds."""
    classes = [s for s in suite_module().body if isinstance(s, cst.ClassDef)]
    return [c.name.value for c in classes if c.name.value.endswith("Test")]


def write_suite_patch(keras_root, output_dir):
    """Writes `output_dir/0001-keras-suite.patch` and `keras-suite.md`."""
    old = (keras_root / SUITE_FILE).read_text()
    release = ep.parse(old)
    known = {ep.bound_name(e) for s in release.body for e in ep.line_imports(s)}
    imports, added = [], []
    for statement in suite_module().body:
        entries = ep.line_imports(statement)
        imports += [e for e in entries if ep.bound_name(e) not in known]
        known |= {ep.bound_name(entry) for entry in entries}
        added += [] if entries else [statement]
    new = ep.with_additions(release, release.body, {}, imports, added)
    classes = ", ".join(f"`{name}`" for name in suite_classes())
    description = description_of("keras-suite", classes=classes)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "keras-suite.md").write_text(description)
    path = output_dir / "0001-keras-suite.patch"
    diff = ep.unified_diff(SUITE_FILE, old, new.code)
    path.write_text(ep.format_patch(description, diff))
    return path


def description_of(name, **fields):
    text = (ep.SERIES_DESCRIPTIONS / f"{name}.md").read_text()
    for field, value in fields.items():
        text = text.replace(f"{{{field}}}", value)
    return text


def workflow_with_step(text, targets):
    """The workflow with the step added right after `Run Tests`."""
    lines = text.splitlines(keepends=True)
    end = [line.strip() for line in lines].index("- name: Run Tests") + 1
    deeper = " " * (lines[end - 1].index("-") + 1)
    while end < len(lines) and lines[end].strip():
        if not lines[end].startswith(deeper):
            break
        end += 1
    step = STEP.replace("TARGETS", " ".join(targets))
    return "".join(lines[:end]) + step + "".join(lines[end:])


def extra_series(keras_root, layout, series):
    """For a keras-openvino checkout with a workflow, the step that runs the
    series' tests, and the packages only they import (hypothesis)."""
    workflow = keras_root / WORKFLOW
    if layout.name != "keras-openvino" or not workflow.is_file():
        return []
    added = "".join(diff for _, _, diff in series)
    targets = [
        folder
        for folder in ("keras_openvino", "integration_tests")
        if re.search(rf"^\+\+\+ b/{folder}/.*_test\.py$", added, re.M)
    ]
    old = workflow.read_text()
    diff = ep.unified_diff(WORKFLOW, old, workflow_with_step(old, targets))
    requirements = (keras_root / REQUIREMENTS).read_text()
    needs = ""
    if re.search(r"^\+(from|import) hypothesis\b", added, re.M) and not (
        re.search(r"^hypothesis\b", requirements, re.M)
    ):
        lines = requirements.splitlines(keepends=True)
        end = lines.index("# Testing\n") + 1
        while end < len(lines) and lines[end].strip():
            end += 1
        new = "".join(lines[:end] + ["hypothesis\n"] + lines[end:])
        diff += ep.unified_diff(REQUIREMENTS, requirements, new)
        needs = (
            "\n\nThe packages only these tests import join "
            f"`{REQUIREMENTS}`'s testing block: `hypothesis`."
        )
    command = f"pytest {' '.join(targets)}"
    description = description_of(
        "ci-package-tests", command=command, needs=needs
    )
    return [("ci-package-tests", description, diff)]


def step_command(workflow_text):
    """The added step's working directory, environment and command, read
    back from the workflow."""
    lines = workflow_text.splitlines()
    step = {"env": {}}
    for line in lines[lines.index(STEP.splitlines()[1]) + 1 :]:
        if not line.strip():
            break
        key, _, value = line.strip().partition(":")
        if not key.startswith("#") and key != "env":
            (step["env"] if line.startswith(" " * 10) else step)[key] = (
                value.strip()
            )
    return step
