"""Writes this tree's contribution as one patch against the installed Keras.

Each module that the tree lays over Keras becomes Keras's file with the
tree's definitions in place of Keras's own, at the same position; the
tree's new definitions go just before the first replaced one that follows
them, and imports that the file lacks join its import block. A class
written as `class Name(Name):` replaces only the methods it defines. A
module's edits file (`X.edits.toml`, described in `keras/__init__.py`) is
applied to Keras's file with the overlay's own `_apply_edits`, so the
patch shows just the lines it changes. The
tree's new files (its tests, the integration test) are added whole. With
a Keras source tree that has `excluded_concrete_tests.txt`, its lines that
name a test of an op the tree replaces in `numpy.py` are removed.

Keras is the installed `keras` or `keras-nightly` package, or a Keras
source tree given with `--keras-root`. Every definition listed in
`tools/replaced_definitions.txt` must still exist there, and every edit's
anchor once in its function; the export stops and says which one is
missing otherwise.

Run from the tree's root:
`python -m tools.export_patch --output keras-openvino-nan-to-num.patch`;
add `--check` to run `git apply --check` on a copy of that Keras.
"""

import argparse
import ast
import difflib
import importlib.metadata
import importlib.util
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
    "integration_tests/openvino_eager_audit.py",
    "integration_tests/openvino_eager_audit_test.py",
    # Keras's own op tests: a patch of their own (`--keras-suite`).
    "keras/src/ops/numpy_test.py",
}
EXPORTED_DIRS = ("keras", "integration_tests")
BACKEND = "keras/src/backend/openvino/"
EXCLUDED_TESTS = BACKEND + "excluded_concrete_tests.txt"
NUMPY_MODULE = "keras/src/backend/openvino/numpy.py"
REPLACED_DEFINITIONS = TREE_ROOT / "tools" / "replaced_definitions.txt"
SPEED_DIR = TREE_ROOT / "speed"


def load_overlay():
    """The overlay file's helpers. Loaded under another name than `keras`,
    it defines them and lays nothing over anything."""
    spec = importlib.util.spec_from_file_location(
        "keras_overlay", TREE_ROOT / "keras" / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


overlay = load_overlay()


class ExportError(Exception):
    pass


class KerasLayout:
    """The tree's own layout: Keras's source tree."""

    name = "keras"
    # Concerns of `SERIES` whose change the target already has.
    skipped_concerns = frozenset()
    package = "keras"
    excluded_tests = EXCLUDED_TESTS

    def path(self, relative):
        return relative

    def rewrite(self, text):
        return text

    def with_own_files(self, keras_root, texts):
        """`texts` with the files this layout needs besides the tree's."""
        return texts

    def describe(self, description):
        """A PR description with each `{backend}/file.py` where this layout
        puts the backend's file."""
        return re.sub(
            r"\{backend\}/(\w+\.py)",
            lambda match: self.path(BACKEND + match.group(1)),
            description,
        )


class KerasOpenVINOLayout(KerasLayout):
    """keras-openvino's source tree, the OpenVINO backend's home since
    Keras 3.16 (keras-nightly), where the same definitions moved: the op
    modules to `keras_openvino/src/ops/`, the others (the trainer) to
    `keras_openvino/src/`. Its trainer class is `OpenVINOTrainer` on main
    and `Trainer` from 0.0.1 on."""

    name = "keras-openvino"
    # Its nancumsum and nancumprod already keep infinities.
    skipped_concerns = frozenset({"nan-cumulative"})
    package = "keras_openvino"
    excluded_tests = "excluded_tests.txt"

    def __init__(self, root):
        self.root = root
        trainer = (root / "keras_openvino/src/trainer.py").read_text()
        self.trainer_class = (
            "Trainer"
            if re.search(r"^class Trainer\b", trainer, re.MULTILINE)
            else "OpenVINOTrainer"
        )

    def module_path(self, name):
        """Where the backend's module `name` (`numpy`, `trainer_test`) goes:
        beside the module it is about."""
        stem = name.removesuffix("_test")
        if (self.root / f"keras_openvino/src/{stem}.py").is_file():
            return f"keras_openvino/src/{name}"
        return f"keras_openvino/src/ops/{name}"

    def path(self, relative):
        if relative == EXCLUDED_TESTS:
            return self.excluded_tests
        if not relative.endswith(".py"):
            return None
        if relative.startswith(BACKEND):
            name = relative[len(BACKEND) : -len(".py")]
            if name == "__init__":
                return None
            return self.module_path(name) + ".py"
        if relative.startswith("keras/"):
            return None  # Package markers over Keras's own.
        return relative

    def with_own_files(self, keras_root, texts):
        # keras-openvino has no tests of its own yet: the first patch that
        # brings some brings the conftest.py they need.
        conftest = keras_root / "conftest.py"
        has_tests = any(
            path.endswith("_test.py") and text is not None
            for path, text in texts.items()
        )
        if not conftest.is_file():
            texts["conftest.py"] = (
                KERAS_OPENVINO_CONFTEST.read_text() if has_tests else None
            )
        return texts

    def rewrite(self, text):
        def module(match):
            return self.module_path(match.group(1)).replace("/", ".")

        text = re.sub(r"keras\.src\.backend\.openvino\.(\w+)", module, text)
        # Where keras-openvino keeps it.
        text = text.replace(
            "from keras_openvino.src.ops.core import get_device",
            "from keras_openvino.src.utils import get_device",
        )
        text = text.replace(
            "from keras.src.backend.openvino import",
            "from keras_openvino.src.ops import",
        )
        return re.sub(r"\bOpenVINOTrainer\b", self.trainer_class, text)


def layout_of(root):
    """The layout of the source tree at `root`."""
    if (root / "keras_openvino").is_dir():
        return KerasOpenVINOLayout(root)
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


def edits_files():
    """The tree's edits files, each with the module it edits."""
    for path in sorted(
        (TREE_ROOT / "keras").rglob("*" + overlay._EDITS_SUFFIX)
    ):
        relative = path.relative_to(TREE_ROOT).as_posix()
        yield relative, relative[: -len(overlay._EDITS_SUFFIX)] + ".py"


def edit_keys():
    """(edits file, function) for each edit inside a function."""
    return {
        (relative, edit["function"])
        for relative, _ in edits_files()
        for edit in overlay._read_edits(TREE_ROOT / relative)
        if edit.get("function")
    }


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


def member_sort_key(name):
    """isort's order-by-type, as ruff applies it: constants, classes, then
    the rest."""
    if not name:
        return (0, "")
    if len(name) > 1 and name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def import_sort_key(entry):
    kind, module, name, _ = entry
    return (
        import_group(module),
        kind == "from",
        module.lower(),
        member_sort_key(name),
    )


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


# The contribution as a series of patches, one concern each, in the order
# in which they apply. Each concern names its roots: the definitions and the
# tests it is about, and the functions that an edits file edits (its edits
# outside functions come with the first of these). A definition that a root
# uses comes with the first concern that needs it; every definition and
# edited function of the tree must belong to one.
# `docs/series/<name>.md` is the concern's PR description.
SERIES = (
    (
        "eager-evaluation",
        {
            BACKEND + "core.edits.toml": ("convert_to_numpy",),
            BACKEND + "core.py": ("evaluate_constant_graph",),
            BACKEND + "core_test.py": (
                "ConvertToNumpyTest",
                "EagerEvaluationTest",
            ),
        },
    ),
    (
        "predict-at-float32",
        {
            BACKEND + "trainer.edits.toml": (
                "OpenVINOTrainer._get_compiled_model",
                "OpenVINOTrainer._unpack_inference_outputs",
            ),
            BACKEND + "trainer_test.py": (
                "PredictPrecisionTest",
                "BFloat16PredictTest",
            ),
        },
    ),
    (
        "argmax-argmin",
        {
            BACKEND + "numpy.py": ("argmax", "argmin"),
            BACKEND + "numpy_test.py": (
                "ArgExtremumParityTest",
                "ArgExtremumLengthTest",
                "ArgExtremumBadInputTest",
                "ArgExtremumGraphTest",
            ),
            BACKEND + "numpy_fuzz_test.py": ("ArgExtremumFuzzTest",),
        },
    ),
    (
        "exact-nan-to-num",
        {
            BACKEND + "numpy.py": ("nan_to_num",),
            BACKEND + "core_test.py": (
                "EagerResultsTest",
                "Bfloat16ConstantLimitTest",
            ),
            BACKEND + "numpy_test.py": (
                "NanToNumParityTest",
                "NanToNumBadInputTest",
                "NanToNumGraphTest",
            ),
            BACKEND + "numpy_fuzz_test.py": ("NanToNumFuzzTest",),
            "integration_tests/openvino_nan_to_num_tabular_test.py": (
                "TabularCleaningTest",
            ),
        },
    ),
    (
        "nan-cumulative",
        {
            BACKEND + "numpy.py": ("nancumsum", "nancumprod"),
            BACKEND + "numpy_test.py": ("NanCumulativeTest",),
        },
    ),
)
SERIES_DESCRIPTIONS = TREE_ROOT / "docs" / "series"
KERAS_OPENVINO_CONFTEST = TREE_ROOT / "tools/series/keras_openvino_conftest.py"
# Module-level statements kept in every stage that has their file.
FILE_LEVEL_NAMES = {"pytestmark"}


def module_name_of(relative):
    name = relative[: -len(".py")].replace("/", ".")
    return name.removesuffix(".__init__")


class TreeModule:
    """A Python file of the tree, as top-level blocks and what each uses."""

    def __init__(self, relative):
        self.relative = relative
        self.source = (TREE_ROOT / relative).read_text()
        self.name = module_name_of(relative)
        self.blocks, self.lines = blocks_of(self.source)
        self.defined = {block.name for block in self.blocks if block.name}
        tree = ast.parse(self.source)
        self.every_use = used_names(tree)
        # Names bound by imports anywhere at the top level (under `if`s too).
        self.imported = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    for entry in import_entries(child):
                        self.imported[bound_name(entry)] = entry

    def is_file_level(self, block):
        if isinstance(block.node, ast.Import | ast.ImportFrom):
            return False
        if block is self.blocks[0] and isinstance(block.node, ast.Expr):
            return False  # The docstring.
        return block.name is None or block.name in FILE_LEVEL_NAMES


def tree_modules():
    return {
        relative: TreeModule(relative)
        for relative in tree_files()
        if relative.endswith(".py")
    }


def block_references(module, block, modules):
    """The tree's definitions, as (file, name), that `block` uses;
    `modules` maps module names to the tree's modules."""
    bindings = dict(module.imported)
    for child in ast.walk(block.node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            for entry in import_entries(child):
                bindings[bound_name(entry)] = entry
    references = set()

    def resolve(name, attribute=None):
        if name in module.defined and name != block.name:
            references.add((module.relative, name))
            return
        entry = bindings.get(name)
        if entry is None or entry[0] != "from":
            return
        _, source, imported, _ = entry
        target = modules.get(source)
        if target and imported in target.defined:
            references.add((target.relative, imported))
        submodule = modules.get(f"{source}.{imported}")
        if submodule and attribute in submodule.defined:
            references.add((submodule.relative, attribute))

    for child in ast.walk(block.node):
        if isinstance(child, ast.Attribute) and isinstance(
            child.value, ast.Name
        ):
            resolve(child.value.id, child.attr)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            resolve(child.id)
    return references


def series_stages(modules):
    """For each concern, the (file, name) definitions present once it is
    applied: its roots and previous stages' with all they use. File-level
    statements come with their file's first definition."""
    by_name = {module.name: module for module in modules.values()}
    uses = {
        (relative, block.name): block_references(module, block, by_name)
        for relative, module in modules.items()
        for block in module.blocks
        if block.name and not module.is_file_level(block)
    }
    file_level = {
        relative: set().union(
            *(
                block_references(module, block, by_name)
                for block in module.blocks
                if module.is_file_level(block)
            )
        )
        for relative, module in modules.items()
    }
    for key in edit_keys():
        uses[key] = set()
        file_level[key[0]] = set()
    stages = []
    present = set()
    for name, roots in SERIES:
        pending = [
            (file, root) for file, names in roots.items() for root in names
        ]
        for key in pending:
            if key not in uses:
                raise ExportError(
                    f"{name}: the tree has no {key[1]} in {key[0]}"
                )
        while pending:
            key = pending.pop()
            if key in present:
                continue
            present.add(key)
            pending.extend(uses[key])
            if not any(file == key[0] for file, _ in present - {key}):
                pending.extend(file_level[key[0]])
        stages.append(frozenset(present))
    unplaced = sorted(set(uses) - present)
    if unplaced:
        raise ExportError(
            "Definitions in no concern of the series: "
            + ", ".join(f"{file}: {name}" for file, name in unplaced)
        )
    return stages


def collapsed_blank_lines(lines, limit):
    """`lines` with runs of blank lines cut to `limit`, none at either end."""
    kept = []
    run = 0
    for line in lines:
        run = run + 1 if not line.strip() else 0
        if run <= limit and (kept or run == 0):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def stage_source(module, present):
    """The module's source with only the definitions in `present`, or None
    when it has none of them. Imports that only dropped definitions used
    go too."""
    kept = [
        block
        for block in module.blocks
        if module.is_file_level(block)
        or (block.name and (module.relative, block.name) in present)
    ]
    if not any((module.relative, block.name) in present for block in kept):
        return None
    used = set().union(*(used_names(block.node) for block in kept))
    header_end = None
    dropped = []
    for index, block in enumerate(module.blocks):
        node = block.node
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = {bound_name(entry) for entry in import_entries(node)}
            # An import no definition uses stays as the tree has it.
            if names & module.every_use and not names & used:
                dropped.append((block.start, block.end))
            continue
        if index == 0 and isinstance(node, ast.Expr):
            continue  # The docstring.
        if header_end is None:
            header_end = block.start
        if block not in kept:
            dropped.append((block.start, block.end))
    lines = list(module.lines)
    for start, end in sorted(dropped, reverse=True):
        del lines[start:end]
    if not dropped:
        return module.source
    header_end -= sum(
        end - start for start, end in dropped if end <= header_end
    )
    header, body = lines[:header_end], lines[header_end:]
    written = [index for index, line in enumerate(header) if line.strip()]
    gap = len(header) - (written[-1] + 1 if written else 0)
    header = collapsed_blank_lines(header, 1) + ["\n"] * gap
    return "".join(header + collapsed_blank_lines(body, 2))


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


def excluded_tests_text(keras_root, layout, present):
    """The target's excluded list without the entries naming a test of an op
    whose definition is in `present`, or None when it has no list."""
    path = keras_root / layout.excluded_tests
    if not path.is_file():
        return None
    ops = sorted(
        name
        for file, name in required_definitions()
        if file == NUMPY_MODULE and (file, name) in present
    )
    text = path.read_text()
    if not ops:
        return text
    # An entry names a test by a prefix of its id: `...::test_argmax` and
    # its parameterized variants, not `test_nanargmax`.
    enabled = re.compile(rf"::test_({'|'.join(ops)})(_|$)")
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not enabled.search(line.strip())
    )


def edited_texts(keras_root, layout, present):
    """Each file that the tree edits, as it reads with the edits of the
    functions in `present`: target path -> text."""
    texts = {}
    for relative, module in edits_files():
        target = layout.path(module)
        path = keras_root / target
        if not path.is_file():
            raise ExportError(f"{target} (the file is gone) for {relative}")
        edits = [
            {key: layout.rewrite(value) for key, value in edit.items()}
            for edit in overlay._read_edits(TREE_ROOT / relative)
            if (relative, edit.get("function")) in present
            or not edit.get("function")
        ]
        text = path.read_text()
        if any(edit.get("function") for edit in edits):
            try:
                text = overlay._apply_edits(text, edits, target)
            except overlay._EditError as error:
                raise ExportError(
                    f"{error}; update {relative} before exporting"
                ) from error
        texts[target] = text
    return texts


def speed_patches():
    """Each speed patch's name and edits, in order: `speed/NN-name.edits.toml`
    edits the tree's own modules (each edit names its `module`)."""
    return [
        (
            path.name.removesuffix(".edits.toml").split("-", 1)[1],
            overlay._read_edits(path),
        )
        for path in sorted(SPEED_DIR.glob("*.edits.toml"))
    ]


def stage_texts(keras_root, layout, modules, present, speed_edits=()):
    """Every file the contribution touches, as it reads once the
    definitions in `present` are in and `speed_edits` made: target path ->
    text (None: absent)."""
    texts = {}
    edited = edited_texts(keras_root, layout, present)
    for relative in tree_files():
        target = layout.path(relative)
        if target is None:
            continue
        if relative == EXCLUDED_TESTS:
            texts[target] = excluded_tests_text(keras_root, layout, present)
            continue
        source = stage_source(modules[relative], present)
        edits = [edit for edit in speed_edits if edit["module"] == relative]
        if source is not None and edits:
            try:
                source = overlay._apply_edits(source, edits, relative)
            except overlay._EditError as error:
                raise ExportError(str(error)) from None
        release_path = keras_root / target
        release = release_path.read_text() if release_path.is_file() else None
        release = edited.get(target, release)
        if source is None or not source.strip():
            # Not in this stage, or an empty package marker.
            texts[target] = release
            continue
        source = layout.rewrite(source)
        if release is None:
            texts[target] = source
        else:
            merged = merge_module(module_name_of(target), release, source)
            texts[target] = merged
    for target, text in edited.items():
        texts.setdefault(target, text)
    return layout.with_own_files(keras_root, texts)


def stage_diff(before, after):
    return "".join(
        unified_diff(target, before[target], after[target])
        for target in sorted(after)
        if after[target] != before[target]
    )


def export_series(keras_root, core_only=False):
    """The series as (name, description, patch text), in order: the core,
    then (unless `core_only`) the speed patches."""
    layout = layout_of(keras_root)
    check_required_definitions(keras_root, layout)
    modules = tree_modules()
    stages = series_stages(modules)
    # A concern the target does not need leaves its definitions out of
    # every stage.
    skipped = frozenset()
    kept = []
    for (name, _), before, present in zip(
        SERIES, [frozenset()] + stages, stages
    ):
        if name in layout.skipped_concerns:
            skipped |= present - before
        else:
            kept.append((name, present))
    names = [name for name, _ in kept]
    texts = [stage_texts(keras_root, layout, modules, frozenset())]
    texts += [
        stage_texts(keras_root, layout, modules, present - skipped)
        for _, present in kept
    ]
    applied = []
    for name, edits in [] if core_only else speed_patches():
        applied += edits
        texts.append(
            stage_texts(
                keras_root, layout, modules, stages[-1] - skipped, applied
            )
        )
        names.append(name)
    series = []
    for name, before, after in zip(names, texts, texts[1:]):
        description = (SERIES_DESCRIPTIONS / f"{name}.md").read_text()
        series.append(
            (name, layout.describe(description), stage_diff(before, after))
        )
    from tools import keras_suite_patch

    return series + keras_suite_patch.extra_series(keras_root, layout, series)


def series_names(layout, core_only=False):
    """The names of the series' patches for `layout`, in order."""
    names = [name for name, _ in SERIES if name not in layout.skipped_concerns]
    return names + ([] if core_only else [name for name, _ in speed_patches()])


def export(keras_root):
    """The whole contribution as one patch, speed patches included."""
    layout = layout_of(keras_root)
    check_required_definitions(keras_root, layout)
    modules = tree_modules()
    everything = series_stages(modules)[-1]
    speed_edits = [edit for _, edits in speed_patches() for edit in edits]
    return stage_diff(
        stage_texts(keras_root, layout, modules, frozenset()),
        stage_texts(keras_root, layout, modules, everything, speed_edits),
    )


def write_series(keras_root, output_dir, core_only=False):
    """Writes `output_dir/0001-<name>.patch`, ... as `git format-patch`
    would: the PR description as the message, then the diff."""
    output_dir.mkdir(parents=True, exist_ok=True)
    series = export_series(keras_root, core_only)
    paths = []
    for number, (name, description, diff) in enumerate(series, start=1):
        title, _, body = description.partition("\n")
        path = output_dir / f"{number:04d}-{name}.patch"
        path.write_text(
            f"Subject: [PATCH {number}/{len(series)}] "
            f"{title.lstrip('# ').strip()}\n\n{body.strip()}\n---\n{diff}"
        )
        paths.append(path)
    return paths


def check_applies(patch_paths, keras_root):
    """Whether the patches apply, in order, to a copy of `keras_root`."""
    layout = layout_of(keras_root)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        shutil.copytree(keras_root / layout.package, scratch / layout.package)
        excluded = keras_root / layout.excluded_tests
        if excluded.is_file():
            shutil.copy(excluded, scratch / layout.excluded_tests)
        # Other files the patches change (keras-openvino's workflow).
        for path in patch_paths:
            for line in pathlib.Path(path).read_text().splitlines():
                changed = line[len("--- a/") :]
                if (
                    line.startswith("--- a/")
                    and (keras_root / changed).is_file()
                    and not (scratch / changed).exists()
                ):
                    (scratch / changed).parent.mkdir(
                        parents=True, exist_ok=True
                    )
                    shutil.copy(keras_root / changed, scratch / changed)
        for path in patch_paths:
            result = subprocess.run(
                ["git", "apply", str(pathlib.Path(path).resolve())],
                cwd=scratch,
                capture_output=True,
                text=True,
            )
            if result.returncode:
                return False, f"{path}: {result.stderr}"
    return True, ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="keras-openvino-nan-to-num.patch")
    parser.add_argument(
        "--keras-root",
        type=pathlib.Path,
        help="a Keras or keras-openvino source tree (the folder holding "
        "keras/ or keras_openvino/) to diff against instead of the "
        "installed Keras",
    )
    parser.add_argument(
        "--series",
        action="store_true",
        help="write the contribution as a series of patches, one concern "
        "each, into --output-dir",
    )
    parser.add_argument(
        "--core",
        action="store_true",
        help="with --series: the core alone, without the speed patches",
    )
    parser.add_argument("--output-dir", type=pathlib.Path, default="series")
    parser.add_argument(
        "--keras-suite",
        action="store_true",
        help="write one patch that adds the backend-agnostic test classes "
        "to Keras's keras/src/ops/numpy_test.py, into --output-dir",
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
    layout = layout_of(keras_root).name
    try:
        if args.keras_suite:
            from tools import keras_suite_patch

            paths = [
                keras_suite_patch.write_suite_patch(keras_root, args.output_dir)
            ]
        elif args.series:
            paths = write_series(keras_root, args.output_dir, args.core)
        else:
            paths = [pathlib.Path(args.output)]
            paths[0].write_text(export(keras_root))
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"Wrote {path}")
    print(f"against {description} at {keras_root}, in {layout}'s layout.")
    if args.check:
        applies, message = check_applies(paths, keras_root)
        print("git apply --check:", "ok" if applies else "FAILED")
        if not applies:
            print(message, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    # Through the imported module, the one tools.keras_suite_patch uses, so
    # that its ExportError is this one.
    from tools import export_patch

    sys.exit(export_patch.main())
