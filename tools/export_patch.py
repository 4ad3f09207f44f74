"""Writes this tree's contribution as one patch against the installed Keras.

Each module that the tree lays over Keras becomes Keras's file with the
tree's definitions in place of Keras's own, at the same position; the
tree's new definitions go just before the first replaced one that follows
them, and imports that the file lacks join its import block. A class
written as `class Name(Name):` replaces only the methods it defines. The
tree's new files (its tests, the integration test) are added whole. With
a Keras source tree that has `excluded_concrete_tests.txt`, its lines that
name a test of an op the tree replaces in `numpy.py` are removed.

Keras is the installed `keras` or `keras-nightly` package, or a Keras
source tree given with `--keras-root`. Every definition listed in
`tools/replaced_definitions.txt` must still exist there; the export stops
and says which one is missing otherwise.

Run from the tree's root:
`python -m tools.export_patch --output keras-openvino-nan-to-num.patch`;
add `--check` to run `git apply --check` on a copy of that Keras.
"""

import argparse
import ast
import difflib
import importlib.metadata
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The overlay, and the audit that needs it to find the release's definitions.
NOT_EXPORTED = {
    "keras/__init__.py",
    "keras/src/backend/openvino/eager_audit.py",
    "keras/src/backend/openvino/eager_audit_test.py",
}
EXPORTED_DIRS = ("keras", "integration_tests")
EXCLUDED_TESTS = "keras/src/backend/openvino/excluded_concrete_tests.txt"
NUMPY_MODULE = "keras/src/backend/openvino/numpy.py"
REPLACED_DEFINITIONS = TREE_ROOT / "tools" / "replaced_definitions.txt"


class ExportError(Exception):
    pass


class KerasLayout:
    """The tree's own layout: Keras's source tree."""

    name = "keras"
    package = "keras"

    def path(self, relative):
        return relative

    def rewrite(self, text):
        return text


class KerasOpenVINOLayout(KerasLayout):
    """keras-openvino's source tree, the OpenVINO backend's home since
    Keras 3.16 (keras-nightly), where the same definitions moved."""

    name = "keras-openvino"
    package = "keras_openvino"
    PATHS = {
        "keras/src/backend/openvino/trainer.py": (
            "keras_openvino/src/trainer.py"
        ),
    }
    # Ordered: the longest module paths first.
    RENAMES = (
        ("keras.src.backend.openvino.trainer", "keras_openvino.src.trainer"),
        ("keras.src.backend.openvino.", "keras_openvino.src.ops."),
        (
            "from keras.src.backend.openvino import",
            "from keras_openvino.src.ops import",
        ),
        ("OpenVINOTrainer", "Trainer"),
    )

    def path(self, relative):
        backend = "keras/src/backend/openvino/"
        if relative == EXCLUDED_TESTS or not relative.endswith(".py"):
            return None
        if relative in self.PATHS:
            return self.PATHS[relative]
        if relative.startswith(backend):
            if relative.endswith("__init__.py"):
                return None
            return "keras_openvino/src/ops/" + relative[len(backend) :]
        if relative.startswith("keras/"):
            return None  # Package markers over Keras's own.
        return relative

    def rewrite(self, text):
        for old, new in self.RENAMES:
            text = text.replace(old, new)
        return text


def layout_of(root):
    """The layout of the source tree at `root`."""
    if (root / "keras/src/backend/openvino").is_dir():
        return KerasLayout()
    if (root / "keras_openvino").is_dir():
        return KerasOpenVINOLayout()
    return KerasLayout()


def installed_keras_root():
    """The directory holding the installed `keras` package, and its name."""
    for distribution in ("keras", "keras-nightly"):
        try:
            dist = importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        package = pathlib.Path(dist.locate_file("keras"))
        if (package / "__init__.py").is_file():
            return package.parent, f"{distribution} {dist.version}"
    raise ExportError("Neither keras nor keras-nightly is installed.")


def tree_files():
    for directory in EXPORTED_DIRS:
        for path in sorted((TREE_ROOT / directory).rglob("*")):
            if path.suffix not in (".py", ".txt") or "__pycache__" in str(path):
                continue
            relative = path.relative_to(TREE_ROOT).as_posix()
            if relative not in NOT_EXPORTED:
                yield relative


class Block:
    """A top-level statement of a module, with its leading comments."""

    def __init__(self, node, lines):
        start = node.lineno - 1
        decorators = getattr(node, "decorator_list", [])
        if decorators:
            start = min(d.lineno for d in decorators) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        self.node = node
        self.start = start
        self.end = node.end_lineno
        self.text = lines[self.start : self.end]

    @property
    def name(self):
        node = self.node
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, ast.AsyncFunctionDef):
            return node.name
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            if isinstance(node.targets[0], ast.Name):
                return node.targets[0].id
        if isinstance(node, ast.AnnAssign) and isinstance(
            node.target, ast.Name
        ):
            return node.target.id
        return None


def blocks_of(source):
    lines = source.splitlines(keepends=True)
    module = ast.parse(source)
    return [Block(node, lines) for node in module.body], lines


def import_entries(node):
    if isinstance(node, ast.Import):
        return [
            ("import", alias.name, None, alias.asname) for alias in node.names
        ]
    return [
        ("from", node.module, alias.name, alias.asname) for alias in node.names
    ]


def bound_name(entry):
    kind, module, name, asname = entry
    if asname:
        return asname
    return module.split(".")[0] if kind == "import" else name


def used_names(module):
    """Names a module reads, besides its imports."""
    return {
        node.id
        for node in ast.walk(module)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def drop_unused_imports(release_source, merged_source):
    """Removes imports that the merge left unused but Keras used."""
    used_before = used_names(ast.parse(release_source))
    merged = ast.parse(merged_source)
    used_after = used_names(merged)
    lines = merged_source.splitlines(keepends=True)
    for node in reversed(merged.body):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if len(node.names) != 1:
            continue
        name = bound_name(import_entries(node)[0])
        if name in used_before and name not in used_after:
            del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


def import_line(entry):
    kind, module, name, asname = entry
    alias = f" as {asname}" if asname else ""
    if kind == "import":
        return f"import {module}{alias}\n"
    return f"from {module} import {name}{alias}\n"


def import_group(module):
    root = module.split(".")[0]
    if root == "keras":
        return 2
    return 0 if root in sys.stdlib_module_names else 1


def import_sort_key(entry):
    kind, module, name, _ = entry
    return (import_group(module), kind == "from", module.lower(), name or "")


def add_imports(release_blocks, entries):
    """Edits that insert import lines where isort's order puts them."""
    placed = sorted(
        (
            (import_sort_key(entry), block)
            for block in release_blocks
            if isinstance(block.node, (ast.Import, ast.ImportFrom))
            for entry in import_entries(block.node)
        ),
        key=lambda pair: pair[0],
    )
    edits = []
    for entry in sorted(entries, key=import_sort_key):
        key = import_sort_key(entry)
        line = import_line(entry)
        same_group = [block for k, block in placed if k[0] == key[0]]
        later = [block for k, block in placed if k > key]
        if same_group and later and later[0] in same_group:
            edits.append((later[0].start, later[0].start, [line]))
        elif same_group:
            edits.append((same_group[-1].end, same_group[-1].end, [line]))
        elif later:
            edits.append((later[0].start, later[0].start, [line, "\n"]))
        elif placed:
            edits.append((placed[-1][1].end, placed[-1][1].end, ["\n", line]))
        else:
            edits.append((0, 0, [line, "\n"]))
    return edits


def merge_class(release_block, tree_block, lines):
    """Edits that replace or add the tree class's methods in Keras's."""
    release_methods = {
        node.name: Block(node, lines)
        for node in release_block.node.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    edits = []
    tree_lines = tree_block.text
    offset = tree_block.start
    for node in tree_block.node.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        method = Block(node, [""] * offset + tree_lines)
        if node.name in release_methods:
            target = release_methods[node.name]
            edits.append((target.start, target.end, method.text))
        else:
            edits.append(
                (release_block.end, release_block.end, ["\n"] + method.text)
            )
    return edits


def is_overlay_class(node):
    return isinstance(node, ast.ClassDef) and any(
        isinstance(base, ast.Name) and base.id == node.name
        for base in node.bases
    )


def pending_text(pending, tree_lines):
    """The new definitions as the tree spells them, blank lines included."""
    return tree_lines[pending[0].start : pending[-1].end]


def merge_module(module_name, release_source, tree_source):
    release_blocks, lines = blocks_of(release_source)
    tree_blocks, tree_lines = blocks_of(tree_source)
    release_by_name = {
        block.name: block for block in release_blocks if block.name
    }
    known_names = {
        bound_name(entry)
        for block in release_blocks
        if isinstance(block.node, (ast.Import, ast.ImportFrom))
        for entry in import_entries(block.node)
    }
    new_imports = []
    edits = []
    pending = []  # New definitions waiting for the next replaced one.
    for block in tree_blocks:
        node = block.node
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for entry in import_entries(node):
                # A tree module imports Keras's own definitions from itself.
                name = bound_name(entry)
                if entry[1] != module_name and name not in known_names:
                    new_imports.append(entry)
                    known_names.add(name)
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # A docstring.
        if block.name is None:
            raise ExportError(
                f"{module_name}: cannot place a top-level "
                f"{type(node).__name__} statement (line {node.lineno})."
            )
        target = release_by_name.get(block.name)
        if target is None:
            pending.append(block)
            continue
        if pending:
            text = pending_text(pending, tree_lines) + ["\n\n"]
            edits.append((target.start, target.start, text))
            pending = []
        if is_overlay_class(node):
            edits.extend(merge_class(target, block, lines))
        else:
            edits.append((target.start, target.end, block.text))
    if pending:
        text = ["\n\n"] + pending_text(pending, tree_lines)
        edits.append((len(lines), len(lines), text))
    edits.extend(add_imports(release_blocks, new_imports))
    merged = list(lines)
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]))[::-1]:
        merged[start:end] = text
    return drop_unused_imports(release_source, "".join(merged))


def required_definitions():
    required = []
    for line in REPLACED_DEFINITIONS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            path, name = line.split()
            required.append((path, name))
    return required


def check_required_definitions(keras_root, layout):
    missing = []
    for path, dotted in required_definitions():
        path, dotted = layout.path(path), layout.rewrite(dotted)
        file = keras_root / path
        if not file.is_file():
            missing.append(f"{path} (the file is gone) for {dotted}")
            continue
        scope = ast.parse(file.read_text()).body
        for part in dotted.split("."):
            found = [
                node
                for node in scope
                if getattr(node, "name", None) == part
                or (
                    isinstance(node, ast.Assign)
                    and any(
                        getattr(t, "id", None) == part for t in node.targets
                    )
                )
            ]
            if not found:
                missing.append(f"{path}: {dotted}")
                break
            scope = getattr(found[0], "body", [])
    if missing:
        raise ExportError(
            "This Keras no longer has definitions that the tree replaces; "
            "update the tree before exporting:\n  " + "\n  ".join(missing)
        )


def unified_diff(relative, old_text, new_text):
    old_name = "/dev/null" if old_text is None else f"a/{relative}"
    diff = difflib.unified_diff(
        [] if old_text is None else old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        old_name,
        f"b/{relative}",
    )
    text = "".join(diff)
    if text and old_text is None:
        text = (
            f"diff --git a/{relative} b/{relative}\nnew file mode 100644\n"
            + (text)
        )
    elif text:
        text = f"diff --git a/{relative} b/{relative}\n" + text
    return text


def excluded_tests_change(keras_root):
    path = keras_root / EXCLUDED_TESTS
    if not path.is_file():
        print(
            f"note: {EXCLUDED_TESTS} is not in this Keras (the wheels do not "
            "ship it); no change to it is exported.",
            file=sys.stderr,
        )
        return ""
    ops = sorted(
        name for file, name in required_definitions() if file == NUMPY_MODULE
    )
    # An entry names a test by a prefix of its id: `...::test_argmax` and
    # its parameterized variants, not `test_nanargmax`.
    enabled = re.compile(rf"::test_({'|'.join(ops)})(_|$)")
    text = path.read_text()
    kept = [
        line
        for line in text.splitlines(keepends=True)
        if not enabled.search(line.strip())
    ]
    if len(kept) == len(text.splitlines()):
        print(
            f"note: {EXCLUDED_TESTS} lists no test of {', '.join(ops)}.",
            file=sys.stderr,
        )
    return unified_diff(EXCLUDED_TESTS, text, "".join(kept))


def export(keras_root):
    layout = layout_of(keras_root)
    check_required_definitions(keras_root, layout)
    parts = []
    for relative in tree_files():
        target = layout.path(relative)
        if target is None:
            continue
        tree_text = layout.rewrite((TREE_ROOT / relative).read_text())
        if target == EXCLUDED_TESTS:
            parts.append(excluded_tests_change(keras_root))
            continue
        release_path = keras_root / target
        if release_path.is_file():
            if not tree_text.strip():
                continue  # An empty package marker over Keras's own.
            module_name = target[: -len(".py")].replace("/", ".")
            module_name = module_name.removesuffix(".__init__")
            merged = merge_module(
                module_name, release_path.read_text(), tree_text
            )
            parts.append(unified_diff(target, release_path.read_text(), merged))
        elif tree_text.strip():
            parts.append(unified_diff(target, None, tree_text))
    return "".join(parts)


def check_applies(patch_path, keras_root):
    package = layout_of(keras_root).package
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(keras_root / package, pathlib.Path(scratch) / package)
        excluded = keras_root / EXCLUDED_TESTS
        if excluded.is_file():
            shutil.copy(excluded, pathlib.Path(scratch) / EXCLUDED_TESTS)
        result = subprocess.run(
            ["git", "apply", "--check", str(patch_path.resolve())],
            cwd=scratch,
            capture_output=True,
            text=True,
        )
    return result.returncode == 0, result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="keras-openvino-nan-to-num.patch")
    parser.add_argument(
        "--keras-root",
        type=pathlib.Path,
        help="a Keras source tree (the folder holding keras/) to diff "
        "against instead of the installed package",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run `git apply --check` on a copy of that Keras",
    )
    args = parser.parse_args()
    if args.keras_root:
        keras_root, description = args.keras_root.resolve(), "source tree"
    else:
        keras_root, description = installed_keras_root()
    try:
        patch = export(keras_root)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output = pathlib.Path(args.output)
    output.write_text(patch)
    layout = layout_of(keras_root).name
    print(
        f"Wrote {output} against {description} at {keras_root}, in "
        f"{layout}'s layout."
    )
    if args.check:
        applies, message = check_applies(output, keras_root)
        print("git apply --check:", "ok" if applies else "FAILED")
        if not applies:
            print(message, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
