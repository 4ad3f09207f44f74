"""Writes this tree's contribution as git-format patches against Keras.

Each module the tree lays over Keras becomes Keras's file with the tree's
definitions in place of Keras's own (`class Name(Name):` replaces only its
methods); new definitions go just before the next replaced one, imports the
file lacks join its import block in isort's order and imports left unused
go. The merge works on LibCST syntax trees, so comments and formatting
stay. Edits files (`X.edits.toml`) are applied with the overlay's own
`_apply_edits`; `docs/series/series.toml` splits the work into concerns.

Keras is the installed `keras` (or `keras-nightly`), or a Keras or
keras-openvino source tree given with `--keras-root`. From the tree's root:

    python -m tools.export_patch --output keras-openvino-nan-to-num.patch
    python -m tools.export_patch --series --keras-root ../keras-openvino
    python -m tools.export_patch --keras-suite --keras-root ../keras

`--series` writes one patch per concern (`--core`: no speed patches) into
`--output-dir`; `--check` runs `git apply` on a copy of that Keras.
"""

import argparse
import contextlib
import difflib
import functools
import importlib.metadata
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ExpressionContext
from libcst.metadata import ExpressionContextProvider
from libcst.metadata import MetadataWrapper

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOT_EXPORTED = {
    "keras/__init__.py",  # The overlay.
    # The eager audit needs the overlay to find the release's definitions.
    "integration_tests/openvino_eager_audit.py",
    "integration_tests/openvino_eager_audit_test.py",
    "keras/src/ops/numpy_test.py",  # A patch of its own: `--keras-suite`.
}
BACKEND = "keras/src/backend/openvino/"
EXCLUDED_TESTS = BACKEND + "excluded_concrete_tests.txt"
REPLACED_DEFINITIONS = TREE_ROOT / "tools" / "replaced_definitions.txt"
SERIES_DESCRIPTIONS = TREE_ROOT / "docs" / "series"
SPEED_DIR = TREE_ROOT / "speed"
KERAS_OPENVINO_CONFTEST = TREE_ROOT / "tools/series/keras_openvino_conftest.py"
with open(SERIES_DESCRIPTIONS / "series.toml", "rb") as file:
    SERIES = tuple(
        (
            concern["name"],
            {path: tuple(n) for path, n in concern["roots"].items()},
        )
        for concern in tomllib.load(file)["concern"]
    )
FILE_LEVEL_NAMES = {None, "pytestmark"}  # Statements every stage keeps.
BLANK = cst.EmptyLine()
IMPORT = m.Import() | m.ImportFrom()


def load_overlay():
    """The overlay's helpers: under another name than `keras`, the file lays
    nothing over anything."""
    path = TREE_ROOT / "keras" / "__init__.py"
    spec = importlib.util.spec_from_file_location("keras_overlay", path)
    spec.loader.exec_module(module := importlib.util.module_from_spec(spec))
    return module


overlay = load_overlay()


class ExportError(Exception):
    pass


class KerasLayout:
    """The tree's own layout: Keras's source tree."""

    name = package = "keras"
    skipped_concerns = frozenset()  # Changes the target already has.
    excluded_tests = EXCLUDED_TESTS

    def path(self, relative):
        return relative

    def rewrite(self, text):
        return text

    def with_own_files(self, keras_root, texts):
        return texts

    def describe(self, description):
        """The PR description with `{backend}/file.py` where it is here."""
        backend = r"\{backend\}/(\w+\.py)"
        return re.sub(backend, lambda f: self.path(BACKEND + f[1]), description)


class KerasOpenVINOLayout(KerasLayout):
    """keras-openvino, the backend's home since Keras 3.16: op modules in
    `keras_openvino/src/ops/`, the others (the trainer) in
    `keras_openvino/src/`. Its trainer class is `OpenVINOTrainer` on main,
    `Trainer` from 0.0.1 on."""

    name, package = "keras-openvino", "keras_openvino"
    skipped_concerns = frozenset({"nan-cumulative"})  # It keeps infinities.
    excluded_tests = "excluded_tests.txt"

    def __init__(self, root):
        self.root = root
        trainer = parse((root / "keras_openvino/src/trainer.py").read_text())
        names = {name_of(statement) for statement in trainer.body}
        self.trainer = "Trainer" if "Trainer" in names else "OpenVINOTrainer"

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
        if not relative.endswith(".py") or relative == BACKEND + "__init__.py":
            return None
        if relative.startswith(BACKEND):
            return self.module_path(relative[len(BACKEND) : -3]) + ".py"
        # Keras's package markers stay Keras's.
        return None if relative.startswith("keras/") else relative

    def with_own_files(self, keras_root, texts):
        # The first patch with tests brings the conftest.py they need.
        if not (keras_root / "conftest.py").is_file():
            tests = [
                p for p, t in texts.items() if p.endswith("_test.py") and t
            ]
            conftest = KERAS_OPENVINO_CONFTEST.read_text()
            texts["conftest.py"] = conftest if tests else None
        return texts

    def rewrite(self, text):
        text = re.sub(
            r"keras\.src\.backend\.openvino\.(\w+)",
            lambda match: self.module_path(match[1]).replace("/", "."),
            text,
        )
        for old, new in (
            ("keras_openvino.src.ops.core import get_device", "keras_openvino.src.utils import get_device"),
            ("keras.src.backend.openvino import", "keras_openvino.src.ops import"),
        ):  # fmt: skip
            text = text.replace(f"from {old}", f"from {new}")
        return re.sub(r"\bOpenVINOTrainer\b", self.trainer, text)


def layout_of(root):
    """The layout of the source tree at `root`."""
    if (root / "keras_openvino").is_dir():
        return KerasOpenVINOLayout(root)
    return KerasLayout()


def installed_keras_root():
    """The directory holding the installed `keras` package, and its name."""
    for name in ("keras", "keras-nightly"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            dist = importlib.metadata.distribution(name)
            package = pathlib.Path(dist.locate_file("keras"))
            if (package / "__init__.py").is_file():
                return package.parent, f"{name} {dist.version}"
    raise ExportError("Neither keras nor keras-nightly is installed.")


# Syntax trees do not change, so a source parsed once serves every stage.
parse = functools.lru_cache(maxsize=None)(cst.parse_module)


def name_of(statement):
    """The name a definition or an assignment to a single name binds."""
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    assign = m.Assign([m.AssignTarget(m.Name())]) | m.AnnAssign(m.Name())
    if not m.matches(statement, m.SimpleStatementLine([assign])):
        return None
    small = statement.body[0]
    return (getattr(small, "target", None) or small.targets[0].target).value


def import_entries(node):
    """(module, name, alias) of each name an import binds; name is None for
    `import module`."""
    if isinstance(node, cst.Import):
        names = [(get_full_name_for_node(a.name), None, a) for a in node.names]
    else:
        module = get_full_name_for_node(node.module) if node.module else ""
        names = [(module, a.evaluated_name, a) for a in node.names]
    return [(module, name, a.evaluated_alias) for module, name, a in names]


def line_imports(statement):
    """The entries of a top-level import line, or none."""
    if m.matches(statement, m.SimpleStatementLine([IMPORT])):
        return import_entries(statement.body[0])
    return []


def bound_name(entry):
    module, name, alias = entry
    return alias or name or module.split(".")[0]


def is_docstring(statement):
    string = m.Expr(m.SimpleString() | m.ConcatenatedString())
    return m.matches(statement, m.SimpleStatementLine([string]))


def name_reads(module):
    """A function giving the names a node of `module` reads, as (name, None),
    and its `name.attribute` reads, as (name, attribute): loads as Python's
    `ast` counts them, not the names imports bind nor keyword arguments."""
    context = MetadataWrapper(module, unsafe_skip_copy=True).resolve(
        ExpressionContextProvider
    )

    def reads(node):
        imports = m.findall(node, IMPORT)
        skipped = {
            id(n)
            for i in imports
            for n in m.findall(i, m.Name() | m.Attribute())
        }
        skipped |= {id(arg.keyword) for arg in m.findall(node, m.Arg())}
        names = {
            (name.value, None)
            for name in m.findall(node, m.Name())
            if context.get(name) == ExpressionContext.LOAD
            and id(name) not in skipped
            and name.value not in ("True", "False", "None")
        }
        attributes = m.findall(node, m.Attribute(value=m.Name()))
        return names | {
            (a.value.value, a.attr.value)
            for a in attributes
            if id(a) not in skipped
        }

    return reads


def used_names(module, node=None):
    return {name for name, _ in name_reads(module)(node or module)}


def split_comments(statement):
    """The lines above a statement: those before the comments right above
    it, and those comments, which belong to it."""
    lines = list(statement.leading_lines)
    start = len(lines)
    while start and lines[start - 1].comment:
        start -= 1
    return lines[:start], lines[start:]


def in_place_of(new, old):
    """`new` where `old` was: `old`'s blank lines, `new`'s own comments."""
    lines = split_comments(old)[0] + split_comments(new)[1]
    return new.with_changes(leading_lines=lines)


def import_sort_key(entry):
    """isort's order, as ruff applies it: stdlib, third party, then Keras;
    `import` before `from`; constants, classes, then other names."""
    module, name, _ = entry
    root = module.split(".")[0]
    group = 2 if root == "keras" else int(root not in sys.stdlib_module_names)
    if not name or len(name) > 1 and name.isupper():
        member = 0, name or ""
    else:
        member = 1 if name[0].isupper() else 2, name
    return group, name is not None, module.lower(), member


def import_line(entry):
    module, name, alias = entry
    line = f"from {module} import {name}" if name else f"import {module}"
    return cst.parse_statement(line + (f" as {alias}" if alias else "") + "\n")


def with_additions(module, body, before=None, imports=(), appended=()):
    """`module` with `body`, where `before` maps a statement's id to the
    (statement, blank lines after it) that go just above it; with a line
    for each import entry where isort's order puts it, and `appended` after
    two blank lines at the end."""
    before, after = dict(before or {}), {}
    placed = sorted(
        (
            (import_sort_key(entry), s)
            for s in body
            for entry in line_imports(s)
        ),
        key=lambda pair: pair[0],
    )
    for entry in sorted(imports, key=import_sort_key):
        key, line = import_sort_key(entry), import_line(entry)
        group = [s for k, s in placed if k[0] == key[0]]
        later = [(k[0], s) for k, s in placed if k > key]
        if later and (later[0][0] == key[0] or not group):
            # Before the next import in order; a new group, a blank line.
            blank_lines = int(later[0][0] != key[0])
            before.setdefault(id(later[0][1]), []).append((line, blank_lines))
        elif placed:
            # After the last of its group, or of all after a blank line.
            last = (group or [s for _, s in placed])[-1]
            line = line.with_changes(leading_lines=[] if group else [BLANK])
            after.setdefault(id(last), []).append(line)
        else:
            before.setdefault(id(body[0]), []).append((line, 1))
    merged = []
    for statement in body:
        gap, comments = split_comments(statement)
        for new, blank_lines in before.get(id(statement), []):
            merged.append(
                new.with_changes(leading_lines=gap + list(new.leading_lines))
            )
            gap = [BLANK] * blank_lines
        merged.append(statement.with_changes(leading_lines=gap + comments))
        merged += after.get(id(statement), [])
    footer = list(module.footer)
    if appended:
        while footer and not footer[-1].comment:
            footer.pop()
        lines = footer + [BLANK, BLANK] + split_comments(appended[0])[1]
        merged += [appended[0].with_changes(leading_lines=lines)]
        merged += appended[1:]
        footer = []
    return module.with_changes(body=merged, footer=footer)


def without(module, dropped, keep_comments=True):
    """`module` without the statements whose ids are in `dropped`; the lines
    above each stay, its own comments unless `keep_comments` is false."""
    body, carried = [], []
    for statement in module.body:
        if id(statement) in dropped:
            gap, comments = split_comments(statement)
            carried += gap + (comments if keep_comments else [])
            continue
        lines = carried + list(statement.leading_lines)
        body.append(statement.with_changes(leading_lines=lines))
        carried = []
    return module.with_changes(body=body, footer=carried + list(module.footer))


def merged_class(release_class, tree_class):
    """Keras's class with the methods of the tree's `class Name(Name):`."""
    methods = list(release_class.body.body)
    index = {name_of(method): i for i, method in enumerate(methods)}
    for method in tree_class.body.body:
        if not isinstance(method, cst.FunctionDef):
            continue
        if method.name.value in index:
            i = index[method.name.value]
            methods[i] = in_place_of(method, methods[i])
        else:
            lines = [BLANK] + split_comments(method)[1]
            methods.append(method.with_changes(leading_lines=lines))
    body = release_class.body.with_changes(body=methods)
    return release_class.with_changes(body=body)


def merge_module(module_name, release_source, tree_source):
    """Keras's module with the tree's definitions and imports merged in."""
    release, tree = parse(release_source), parse(tree_source)
    body = list(release.body)
    position = {name_of(s): i for i, s in enumerate(body) if name_of(s)}
    known = {bound_name(entry) for s in body for entry in line_imports(s)}
    imports, before, pending = [], {}, []
    for statement in tree.body:
        for entry in line_imports(statement):
            # A tree module imports Keras's own definitions from itself.
            if entry[0] != module_name and bound_name(entry) not in known:
                imports.append(entry)
                known.add(bound_name(entry))
        if line_imports(statement) or is_docstring(statement):
            continue
        name = name_of(statement)
        if name is None:
            line = tree.code_for_node(statement).strip().splitlines()[0]
            raise ExportError(f"{module_name}: cannot place {line!r}.")
        if name not in position:
            pending.append(statement)
            continue
        index, target = position[name], body[position[name]]
        # `class Name(Name):` replaces only the methods it defines.
        if any(
            m.matches(base.value, m.Name(name))
            for base in getattr(statement, "bases", ())
        ):
            body[index] = merged_class(target, statement)
        else:
            body[index] = in_place_of(statement, target)
        if pending:
            first = pending[0]
            first = first.with_changes(leading_lines=split_comments(first)[1])
            items = [(s, 0) for s in [first] + pending[1:]]
            before[id(body[index])] = items[:-1] + [(items[-1][0], 2)]
            pending = []
    merged = with_additions(release, body, before, imports, pending)
    # Imports of one name that the merge left unused, but Keras used.
    used_before, used_after = used_names(release), used_names(merged)
    unused = {
        id(statement)
        for statement in merged.body
        if len(entries := line_imports(statement)) == 1
        and bound_name(entries[0]) in used_before - used_after
    }
    return without(merged, unused).code


def module_name_of(relative):
    return relative[: -len(".py")].replace("/", ".").removesuffix(".__init__")


class TreeModule:
    """A Python file of the tree, as top-level statements."""

    def __init__(self, relative):
        self.relative = relative
        self.name = module_name_of(relative)
        self.source = (TREE_ROOT / relative).read_text()
        self.tree = parse(self.source)
        self.statements = list(self.tree.body)
        self.defined = {name_of(s) for s in self.statements} - {None}
        self.reads = name_reads(self.tree)
        self.every_use = {name for name, _ in self.reads(self.tree)}
        # Names bound by imports anywhere at the top level (under `if`s too).
        self.imported = {
            bound_name(entry): entry
            for statement in self.statements
            if not isinstance(statement, cst.FunctionDef | cst.ClassDef)
            for node in m.findall(statement, m.Import() | m.ImportFrom())
            for entry in import_entries(node)
        }

    def is_file_level(self, statement):
        if (
            line_imports(statement)
            or statement is self.statements[0]
            and (is_docstring(statement))
        ):
            return False
        return name_of(statement) in FILE_LEVEL_NAMES | {None}

    def references(self, statement, modules):
        """The tree's definitions, as (file, name), that `statement` uses;
        `modules` maps module names to the tree's modules."""
        bindings = dict(self.imported)
        for node in m.findall(statement, m.Import() | m.ImportFrom()):
            bindings |= {bound_name(e): e for e in import_entries(node)}
        found = set()
        for name, attribute in self.reads(statement):
            if name in self.defined and name != name_of(statement):
                found.add((self.relative, name))
                continue
            source, imported, _ = bindings.get(name, ("", None, None))
            if imported is None:
                continue  # Not a name, nor `import module`: `from` imports.
            for module, wanted in (
                (modules.get(source), imported),
                (modules.get(f"{source}.{imported}"), attribute),
            ):
                if module and wanted in module.defined:
                    found.add((module.relative, wanted))
        return found

    def stage_source(self, present):
        """The source with only the definitions in `present` (None: it has
        none), without the imports only dropped definitions used."""
        named = {
            id(s)
            for s in self.statements
            if (self.relative, name_of(s)) in present
        }
        if not named:
            return None
        kept = [
            s
            for s in self.statements
            if self.is_file_level(s) or id(s) in named
        ]
        used = {name for s in kept for name, _ in self.reads(s)}
        dropped, header = set(), None
        for index, statement in enumerate(self.statements):
            names = {bound_name(entry) for entry in line_imports(statement)}
            if names:
                # An import no definition uses stays as the tree has it.
                if names & self.every_use and not names & used:
                    dropped.add(id(statement))
            elif index or not is_docstring(statement):
                header = statement if header is None else header
                if not any(statement is s for s in kept):
                    dropped.add(id(statement))
        if not dropped:
            return self.source
        # Blank lines and statements in order, the header's end marked.
        pieces = list(self.tree.header)
        for statement in self.statements:
            gap, comments = split_comments(statement)
            pieces += gap
            if statement is header:
                end = len(pieces)
            if id(statement) not in dropped:
                pieces += comments + [statement.with_changes(leading_lines=())]
        pieces += self.tree.footer
        head, rest = pieces[:end], pieces[end:]
        trailing = 0
        while trailing < len(head) and is_blank(head[-1 - trailing]):
            trailing += 1
        pieces = collapsed(head, 1) + [BLANK] * trailing + collapsed(rest, 2)
        body, lines = [], []
        for piece in pieces:
            if isinstance(piece, cst.EmptyLine):
                lines.append(piece)
            else:
                body.append(piece.with_changes(leading_lines=lines))
                lines = []
        return self.tree.with_changes(header=(), body=body, footer=lines).code


def collapsed(pieces, limit):
    """`pieces` with runs of blank lines cut to `limit`, none at either end."""
    kept, run = [], 0
    for piece in pieces:
        run = run + 1 if is_blank(piece) else 0
        if run <= limit and (kept or run == 0):
            kept.append(piece)
    while kept and is_blank(kept[-1]):
        kept.pop()
    return kept


def is_blank(piece):
    return m.matches(piece, m.EmptyLine(comment=None))


def tree_files():
    for directory in ("keras", "integration_tests"):
        for path in sorted((TREE_ROOT / directory).rglob("*")):
            relative = path.relative_to(TREE_ROOT).as_posix()
            if path.suffix in (".py", ".txt") and "__pycache__" not in relative:
                if relative not in NOT_EXPORTED:
                    yield relative


def tree_modules():
    return {
        relative: TreeModule(relative)
        for relative in tree_files()
        if relative.endswith(".py")
    }


def edits_files():
    """The tree's edits files, each with the module it edits."""
    suffix = overlay._EDITS_SUFFIX
    for path in sorted((TREE_ROOT / "keras").rglob("*" + suffix)):
        relative = path.relative_to(TREE_ROOT).as_posix()
        yield relative, relative.removesuffix(suffix) + ".py"


def edit_keys():
    """(edits file, function) for each edit inside a function."""
    return {
        (relative, edit["function"])
        for relative, _ in edits_files()
        for edit in overlay._read_edits(TREE_ROOT / relative)
        if edit.get("function")
    }


def series_stages(modules):
    """For each concern, the (file, name) definitions present once it is
    applied: its roots and previous stages' with all they use. File-level
    statements come with their file's first definition."""
    by_name = {module.name: module for module in modules.values()}
    uses, file_level = {}, {}
    for relative, module in modules.items():
        file_level[relative] = set()
        for statement in module.statements:
            references = module.references(statement, by_name)
            if module.is_file_level(statement):
                file_level[relative] |= references
            elif name_of(statement):
                uses[relative, name_of(statement)] = references
    for key in edit_keys():
        uses[key], file_level[key[0]] = set(), set()
    stages, present = [], set()
    for name, roots in SERIES:
        pending = [
            (file, root) for file, names in roots.items() for root in names
        ]
        for file, root in pending:
            if (file, root) not in uses:
                raise ExportError(f"{name}: the tree has no {root} in {file}")
        while pending:
            key = pending.pop()
            if key in present:
                continue
            if not any(file == key[0] for file, _ in present):
                pending += file_level[key[0]]
            present.add(key)
            pending += uses[key]
        stages.append(frozenset(present))
    if unplaced := sorted(set(uses) - present):
        raise ExportError(
            "Definitions in no concern of the series: "
            + ", ".join(f"{file}: {name}" for file, name in unplaced)
        )
    return stages


def required_definitions():
    lines = REPLACED_DEFINITIONS.read_text().splitlines()
    return [
        tuple(line.split()) for line in lines if line.strip() and line[0] != "#"
    ]


def check_required_definitions(keras_root, layout):
    missing = []
    for path, dotted in required_definitions():
        path, dotted = layout.path(path), layout.rewrite(dotted)
        if not (keras_root / path).is_file():
            missing.append(f"{path} (the file is gone) for {dotted}")
            continue
        scope = parse((keras_root / path).read_text()).body
        for part in dotted.split("."):
            found = [s for s in scope if name_of(s) == part]
            if not found:
                missing.append(f"{path}: {dotted}")
                break
            scope = getattr(getattr(found[0], "body", ()), "body", ())
    if missing:
        raise ExportError(
            "This Keras no longer has definitions that the tree replaces; "
            "update the tree before exporting:\n  " + "\n  ".join(missing)
        )


def unified_diff(relative, old_text, new_text):
    diff = "".join(
        difflib.unified_diff(
            (old_text or "").splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            "/dev/null" if old_text is None else f"a/{relative}",
            f"b/{relative}",
        )
    )
    if not diff:
        return diff
    new_file = "new file mode 100644\n" if old_text is None else ""
    return f"diff --git a/{relative} b/{relative}\n{new_file}{diff}"


def excluded_tests_text(keras_root, layout, present):
    """The target's excluded list without the entries naming a test of an op
    whose definition is in `present`, or None when it has no list."""
    path = keras_root / layout.excluded_tests
    if not path.is_file():
        return None
    ops = sorted(
        name
        for file, name in required_definitions()
        if file == BACKEND + "numpy.py" and (file, name) in present
    )
    text = path.read_text()
    if not ops:
        return text
    # An entry names a test by a prefix of its id: `...::test_argmax` and
    # its parameterized variants, not `test_nanargmax`.
    enabled = re.compile(rf"::test_({'|'.join(ops)})(_|$)")
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if not enabled.search(line.strip()))


def apply_edits(text, edits, target, advice=""):
    try:
        return overlay._apply_edits(text, edits, target)
    except overlay._EditError as error:
        raise ExportError(f"{error}{advice}") from None


def edited_texts(keras_root, layout, present):
    """Each file that the tree edits, as it reads with the edits of the
    functions in `present`: target path -> text."""
    texts = {}
    for relative, module in edits_files():
        target = layout.path(module)
        if not (keras_root / target).is_file():
            raise ExportError(f"{target} (the file is gone) for {relative}")
        edits = [
            {key: layout.rewrite(value) for key, value in edit.items()}
            for edit in overlay._read_edits(TREE_ROOT / relative)
            if (relative, edit.get("function")) in present
            or not edit.get("function")
        ]
        text = (keras_root / target).read_text()
        if any(edit.get("function") for edit in edits):
            advice = f"; update {relative} before exporting"
            text = apply_edits(text, edits, target, advice)
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
    texts = edited_texts(keras_root, layout, present)
    for relative in tree_files():
        target = layout.path(relative)
        if target is None:
            continue
        if relative == EXCLUDED_TESTS:
            texts[target] = excluded_tests_text(keras_root, layout, present)
            continue
        source = modules[relative].stage_source(present)
        edits = [edit for edit in speed_edits if edit["module"] == relative]
        if source is not None and edits:
            source = apply_edits(source, edits, relative)
        release = texts.get(target)
        if release is None and (keras_root / target).is_file():
            release = (keras_root / target).read_text()
        if source is None or not source.strip():
            texts[target] = release  # Not in this stage, or a package marker.
        elif release is None:
            texts[target] = layout.rewrite(source)
        else:
            name = module_name_of(target)
            texts[target] = merge_module(name, release, layout.rewrite(source))
    return layout.with_own_files(keras_root, texts)


def stage_diff(before, after):
    return "".join(
        unified_diff(target, before[target], after[target])
        for target in sorted(after)
        if after[target] != before[target]
    )


def series_names(layout, core_only=False):
    """The names of the series' patches for `layout`, in order."""
    names = [name for name, _ in SERIES if name not in layout.skipped_concerns]
    return names + ([] if core_only else [name for name, _ in speed_patches()])


def export_series(keras_root, core_only=False):
    """The series as (name, description, patch text), in order: the core,
    then (unless `core_only`) the speed patches, then the CI step."""
    from tools import keras_suite_patch

    layout = layout_of(keras_root)
    check_required_definitions(keras_root, layout)
    modules = tree_modules()
    stages = series_stages(modules)
    # A concern the target does not need leaves its definitions out of
    # every stage.
    skipped = frozenset().union(
        *(
            present - before
            for (name, _), before, present in zip(
                SERIES, [frozenset()] + stages, stages
            )
            if name in layout.skipped_concerns
        )
    )
    presents = [frozenset()] + [
        present - skipped
        for (name, _), present in zip(SERIES, stages)
        if name not in layout.skipped_concerns
    ]
    texts = [stage_texts(keras_root, layout, modules, p) for p in presents]
    applied = []
    for _, edits in [] if core_only else speed_patches():
        applied += edits
        texts.append(
            stage_texts(keras_root, layout, modules, presents[-1], applied)
        )
    series = [
        (
            name,
            layout.describe((SERIES_DESCRIPTIONS / f"{name}.md").read_text()),
            stage_diff(before, after),
        )
        for name, before, after in zip(
            series_names(layout, core_only), texts, texts[1:]
        )
    ]
    return series + keras_suite_patch.extra_series(keras_root, layout, series)


def export(keras_root):
    """The whole contribution as one patch, speed patches included."""
    layout = layout_of(keras_root)
    check_required_definitions(keras_root, layout)
    modules = tree_modules()
    speed_edits = [edit for _, edits in speed_patches() for edit in edits]
    return stage_diff(
        stage_texts(keras_root, layout, modules, frozenset()),
        stage_texts(
            keras_root, layout, modules, series_stages(modules)[-1], speed_edits
        ),
    )


def format_patch(description, diff, number=1, total=1):
    """A patch as `git format-patch` writes one: the PR description as the
    message, then the diff."""
    title, _, body = description.partition("\n")
    return (
        f"Subject: [PATCH {number}/{total}] {title.lstrip('# ').strip()}"
        f"\n\n{body.strip()}\n---\n{diff}"
    )


def write_series(keras_root, output_dir, core_only=False):
    """Writes `output_dir/0001-<name>.patch`, ...; returns their paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    series = export_series(keras_root, core_only)
    paths = []
    for number, (name, description, diff) in enumerate(series, start=1):
        paths.append(output_dir / f"{number:04d}-{name}.patch")
        paths[-1].write_text(
            format_patch(description, diff, number, len(series))
        )
    return paths


def check_applies(patch_paths, keras_root):
    """Whether the patches apply, in order, to a copy of `keras_root`."""
    layout = layout_of(keras_root)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        shutil.copytree(keras_root / layout.package, scratch / layout.package)
        # Other files the patches change: the excluded list, the workflow.
        changed = {layout.excluded_tests} | {
            line[len("--- a/") :]
            for path in patch_paths
            for line in pathlib.Path(path).read_text().splitlines()
            if line.startswith("--- a/")
        }
        for relative in sorted(changed):
            if (keras_root / relative).is_file() and not (
                scratch / relative
            ).exists():
                (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(keras_root / relative, scratch / relative)
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
        "keras/ or keras_openvino/) instead of the installed Keras",
    )
    parser.add_argument(
        "--series",
        action="store_true",
        help="one patch per concern, into --output-dir",
    )
    parser.add_argument(
        "--core", action="store_true", help="--series without speed patches"
    )
    parser.add_argument("--output-dir", type=pathlib.Path, default="series")
    parser.add_argument(
        "--keras-suite",
        action="store_true",
        help="one patch adding the backend-agnostic test classes to Keras's "
        "keras/src/ops/numpy_test.py, into --output-dir",
    )
    parser.add_argument(
        "--check", action="store_true", help="`git apply` on a copy of Keras"
    )
    args = parser.parse_args()
    if args.keras_root:
        keras_root, description = args.keras_root.resolve(), "source tree"
    else:
        keras_root, description = installed_keras_root()
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
    layout = layout_of(keras_root).name
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
