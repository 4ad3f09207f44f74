"""Writes this tree's contribution as a git-format patch series, a patch per
concern of `docs/series/series.toml`, against a Keras or keras-openvino
source tree (merging modules on LibCST), ending with a keras-openvino CI
step; or `--keras-suite`, the tree's op suite classes added to Keras's.
`python -m tools.export_patch --series [--core] --keras-root ../keras`."""

import argparse
import ast
import collections
import contextlib
import difflib
import email.utils
import functools
import importlib.metadata
import importlib.util
import pathlib
import re
import subprocess
import sys
import tomllib

import libcst as cst
import libcst.matchers as m
import yaml

TREE_ROOT = pathlib.Path(__file__).resolve().parents[1]
BACKEND = "keras/src/backend/openvino/"
EXCLUDED_TESTS = BACKEND + "excluded_concrete_tests.txt"
EXPORT = "keras/src/export/openvino.py"
# keras-openvino builds the model that Keras's `export_openvino` exports.
PACKAGE_EXPORT = "keras_openvino/src/export.py", "get_model_for_openvino_export"
SERIES_DESCRIPTIONS = TREE_ROOT / "docs" / "series"
with open(SERIES_DESCRIPTIONS / "series.toml", "rb") as file:
    SERIES = [(c["name"], c["roots"]) for c in tomllib.load(file)["concern"]]
BLANK = cst.EmptyLine()
IMPORT_LINE = m.SimpleStatementLine([m.Import() | m.ImportFrom()])
STRING = m.Expr(m.SimpleString() | m.ConcatenatedString())
DOCSTRING = m.SimpleStatementLine([STRING])
SUITE_FILE = "keras/src/ops/numpy_test.py"
# The overlay, Keras's op suite (a patch of its own), and the audit against
# the release, which needs the overlay.
AUDIT = "integration_tests/openvino_eager_audit"
UNEXPORTED = "keras/__init__.py", SUITE_FILE, f"{AUDIT}.py", f"{AUDIT}_test.py"
WORKFLOW = ".github/workflows/actions.yml"
REQUIREMENTS = "requirements.txt"
IMPORT = re.compile(r"(import|from) \w")
STEP = """
      - name: Run keras-openvino's own tests
        # Also when the Keras suite above has failures of its own.
        if: ${{ !cancelled() }}
        working-directory: ./keras-openvino
        env:
          # The Keras checkout, not the keras that pip installed.
          PYTHONPATH: ../keras
        run: pytest TARGETS -n auto
"""
with open(TREE_ROOT / "tools" / "replaced_definitions.txt") as file:
    REQUIRED = [tuple(line.split()) for line in file if line[0] != "#"]
parse = functools.cache(cst.parse_module)
_spec = importlib.util.spec_from_file_location(
    "keras_overlay", TREE_ROOT / "keras" / "__init__.py"
)
overlay = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(overlay)
# Also what the overlay raises for an edit whose anchor Keras lacks.
ExportError = overlay._EditError


class Layout:
    def __init__(self, root):
        self.root, self.kov = root, (root / "keras_openvino").is_dir()
        # keras-openvino keeps nancumsum's and nancumprod's infinities.
        self.skipped_concerns = {"nan-cumulative"} if self.kov else set()
        if self.kov:
            trainer = (root / "keras_openvino/src/trainer.py").read_text()
            names = {name_of(s) for s in parse(trainer).body}
            self.trainer = (
                "" if "Trainer" in names else "OpenVINO"
            ) + "Trainer"

    def module(self, name):
        stem = name.removesuffix("_test")
        own = (self.root / f"keras_openvino/src/{stem}.py").is_file()
        return f"keras_openvino.src.{'' if own else 'ops.'}{name}"

    def path(self, relative):
        if relative == EXCLUDED_TESTS or not self.kov:
            return "excluded_tests.txt" if self.kov else relative
        if relative == EXPORT:
            return PACKAGE_EXPORT[0]
        py = relative.endswith(".py") and relative != BACKEND + "__init__.py"
        if py and relative.startswith(BACKEND):
            module = self.module(relative[len(BACKEND) : -3])
            return module.replace(".", "/") + ".py"
        return relative if py and not relative.startswith("keras/") else None

    def rewrite(self, text):
        if not self.kov:
            return text
        module = r"keras\.src\.backend\.openvino\.(\w+)"
        text = re.sub(module, lambda match: self.module(match[1]), text)
        text = text.replace(
            "keras.src.backend.openvino import", "keras_openvino.src.ops import"
        )
        for name in ("get_device", "DTYPES_MAX", "DTYPES_MIN"):
            moved = f"keras_openvino.src.ops.core import {name}"
            text = text.replace(moved, moved.replace("ops.core", "utils"))
        text = re.sub(r"\bexport_openvino\b", PACKAGE_EXPORT[1], text)
        return re.sub(r"\bOpenVINOTrainer\b", self.trainer, text)


def installed_keras_root():
    for name in ("keras", "keras-nightly"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            dist = importlib.metadata.distribution(name)
            package = pathlib.Path(dist.locate_file("keras"))
            if (package / "__init__.py").is_file():
                return package.parent, f"{name} {dist.version}"
    raise ExportError("Neither keras nor keras-nightly is installed.")


def name_of(statement):
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    assign = m.Assign([m.AssignTarget(m.Name())]) | m.AnnAssign(m.Name())
    if m.matches(statement, m.SimpleStatementLine([assign])):
        small = statement.body[0]
        return (getattr(small, "target", None) or small.targets[0].target).value


def imports(node):
    """(module, name or None for `import module`, alias) per bound name."""
    return [
        (n.module or "", a.name, a.asname)
        if isinstance(n, ast.ImportFrom)
        else (a.name, None, a.asname)
        for n in ast.walk(ast.parse(cst.Module([node]).code))
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    ]


def line_imports(statement):
    return imports(statement) if m.matches(statement, IMPORT_LINE) else []


def bound_name(entry):
    return entry[2] or entry[1] or entry[0].split(".")[0]


def reads(code):
    found = set()
    for node in ast.walk(ast.parse(code)):
        match node:
            case ast.Name(ctx=ast.Load()):
                found.add((node.id, None))
            case ast.Attribute(value=ast.Name()):
                found.add((node.value.id, node.attr))
    return found


def split_comments(statement):
    lines = list(statement.leading_lines)
    start = len(lines)
    while start and lines[start - 1].comment:
        start -= 1
    return lines[:start], lines[start:]


def in_place_of(new, old):
    lines = split_comments(old)[0] + split_comments(new)[1]
    return new.with_changes(leading_lines=lines)


def import_sort_key(entry):
    module, name, _ = entry
    root = module.split(".")[0]
    group = 2 if root == "keras" else int(root not in sys.stdlib_module_names)
    if not name or len(name) > 1 and name.isupper():
        member = 0, name or ""
    else:
        member = 1 if name[0].isupper() else 2, name
    return group, name is not None, module.lower(), member


def with_additions(module, body, before, imports, appended):
    after = {}
    placed = [(import_sort_key(e), s) for s in body for e in line_imports(s)]
    placed.sort(key=lambda pair: pair[0])
    for entry in sorted(imports, key=import_sort_key):
        key, (source, name, alias) = import_sort_key(entry), entry
        text = f"from {source} import {name}" if name else f"import {source}"
        line = cst.parse_statement(text + f" as {alias}" * bool(alias) + "\n")
        group = [s for k, s in placed if k[0] == key[0]]
        later = [(k[0], s) for k, s in placed if k > key]
        if later and (later[0][0] == key[0] or not group):
            blank_lines = int(later[0][0] != key[0])
            before.setdefault(id(later[0][1]), []).append((line, blank_lines))
        else:
            last = (group or [s for _, s in placed])[-1]
            line = line.with_changes(leading_lines=[] if group else [BLANK])
            after.setdefault(id(last), []).append(line)
    merged, footer = [], list(module.footer)
    for statement in body:
        gap, comments = split_comments(statement)
        for new, blank_lines in before.get(id(statement), []):
            lines = gap + [*new.leading_lines]
            merged.append(new.with_changes(leading_lines=lines))
            gap = [BLANK] * blank_lines
        merged.append(statement.with_changes(leading_lines=gap + comments))
        merged += after.get(id(statement), [])
    if appended:
        while footer and not footer[-1].comment:
            footer.pop()
        lines = footer + [BLANK, BLANK] + split_comments(appended[0])[1]
        merged += [appended[0].with_changes(leading_lines=lines), *appended[1:]]
        footer = []
    return module.with_changes(body=merged, footer=footer)


# Every stage of the series merges each module again, mostly from the same
# two sources.
@functools.cache
def merge_module(module_name, release_source, tree_source):
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
        if line_imports(statement) or m.matches(statement, DOCSTRING):
            continue
        if (name := name_of(statement)) not in position:
            pending.append(statement)
            continue
        index, old = position[name], body[position[name]]
        bases = [base.value for base in getattr(statement, "bases", ())]
        body[index] = in_place_of(statement, old)
        if any(m.matches(base, m.Name(name)) for base in bases):
            methods = list(old.body.body)
            at = {name_of(method): i for i, method in enumerate(methods)}
            for method in statement.body.body:
                if (i := at.get(method.name.value)) is not None:
                    methods[i] = in_place_of(method, methods[i])
                else:
                    lines = [BLANK] + split_comments(method)[1]
                    methods.append(method.with_changes(leading_lines=lines))
            block = old.body.with_changes(body=methods)
            body[index] = old.with_changes(body=block)
        if pending:
            lines = split_comments(pending[0])[1]
            pending[0] = pending[0].with_changes(leading_lines=lines)
            items = [(s, 0) for s in pending[:-1]] + [(pending[-1], 2)]
            before[id(body[index])], pending = items, []
    merged = with_additions(release, body, before, imports, pending)
    merged_source = merged.code
    # Imports of a single name that Keras used and the merge left unused.
    used = [
        {name for name, _ in reads(code)}
        for code in (release_source, merged_source)
    ]
    unused = used[0] - used[1]
    body, carried = [], []
    for statement in merged.body:
        entries = line_imports(statement)
        if len(entries) == 1 and bound_name(entries[0]) in unused:
            carried += statement.leading_lines  # Its comments stay.
            continue
        lines = carried + list(statement.leading_lines)
        body.append(statement.with_changes(leading_lines=lines))
        carried = []
    if len(body) == len(merged.body):
        return merged_source  # No import dropped.
    footer = carried + list(merged.footer)
    return merged.with_changes(body=body, footer=footer).code


class TreeModule:
    def __init__(self, relative):
        self.relative = relative
        self.name = relative[:-3].replace("/", ".").removesuffix(".__init__")
        self.tree = parse((TREE_ROOT / relative).read_text())
        self.code = self.tree.code_for_node
        self.statements = list(self.tree.body)
        # What each statement reads, which every stage of the series asks.
        self.reads = {id(s): reads(self.code(s)) for s in self.statements}
        self.defined = {name_of(s) for s in self.statements} - {None}
        # Names bound by imports anywhere at the top level (under `if`s too).
        self.imported = {
            bound_name(entry): entry
            for statement in self.statements
            if not isinstance(statement, cst.FunctionDef | cst.ClassDef)
            for entry in imports(statement)
        }

    def is_file_level(self, statement):
        first = statement is self.statements[0]
        if line_imports(statement) or first and m.matches(statement, DOCSTRING):
            return False
        return name_of(statement) in (None, "pytestmark")

    def references(self, statement, modules):
        local = {bound_name(entry): entry for entry in imports(statement)}
        bindings = self.imported | local
        found = set()
        for name, attribute in self.reads[id(statement)]:
            if name in self.defined and name != name_of(statement):
                found.add((self.relative, name))
                continue
            source, imported, _ = bindings.get(name, ("", None, None))
            for module, wanted in (
                (modules.get(source), imported),
                (modules.get(f"{source}.{imported}"), attribute),
            ):
                if imported and module and wanted in module.defined:
                    found.add((module.relative, wanted))
        return found

    def stage_source(self, present):
        mine = {name for file, name in present if file == self.relative}
        kept = [s for s in self.statements if name_of(s) in mine]
        if not kept:
            return None
        kept += [s for s in self.statements if self.is_file_level(s)]
        used = {name for s in kept for name, _ in self.reads[id(s)]}
        head, rest, below = [*self.tree.header], [], False
        for index, statement in enumerate(self.statements):
            names = {bound_name(entry) for entry in line_imports(statement)}
            gap, comments = split_comments(statement)
            (rest if below else head).extend(gap)
            other = not names and (index or not m.matches(statement, DOCSTRING))
            below = below or other
            if names and not names & used:
                continue
            if not other or any(statement is s for s in kept):
                lines = [*comments, statement.with_changes(leading_lines=())]
                (rest if below else head).extend(lines)
        code = cst.Module([]).code_for_node
        head, rest = (
            "".join(map(code, p)) for p in (head, rest + [*self.tree.footer])
        )
        trailing = "\n" * (len(head) - len(head.rstrip("\n")) - 1)
        head = re.sub(r"\n\n\n+", "\n\n", head.lstrip("\n")).rstrip("\n") + "\n"
        rest = re.sub(r"\n\n\n\n+", "\n\n\n", rest.lstrip("\n")).rstrip("\n")
        return head + trailing + rest + "\n"


def tree_modules():
    files = {}
    for folder in ("keras", "integration_tests"):
        for path in sorted((TREE_ROOT / folder).rglob("*")):
            relative = path.relative_to(TREE_ROOT).as_posix()
            if relative in UNEXPORTED:
                continue
            if path.suffix in (".py", ".txt"):
                python = path.suffix == ".py"
                files[relative] = TreeModule(relative) if python else None
    return files


def edits(directory):
    for path in sorted(directory.rglob("*.edits.toml")):
        yield path.relative_to(TREE_ROOT).as_posix(), overlay._read_edits(path)


def series_stages(modules, skipped=()):
    by_name = {module.name: module for module in modules.values() if module}
    uses, file_level = {}, collections.defaultdict(set)
    for relative, module in modules.items():
        for statement in module.statements if module else ():
            references = module.references(statement, by_name)
            if module.is_file_level(statement):
                file_level[relative] |= references
            elif name_of(statement):
                uses[relative, name_of(statement)] = references
    for relative, file_edits in edits(TREE_ROOT / "keras"):
        for function in filter(None, (e.get("function") for e in file_edits)):
            uses[relative, function] = set()
    stages, present = [], set()
    for concern, roots in SERIES:
        if concern in skipped:
            continue
        pending = [(file, n) for file, names in roots.items() for n in names]
        while pending:
            if (key := pending.pop()) not in present:
                if not any(file == key[0] for file, _ in present):
                    pending += file_level[key[0]]
                present.add(key)
                pending += uses[key]
        present.add(("concern", concern))
        stages.append(frozenset(present))
    return stages


def check_required_definitions(keras_root, layout):
    missing = []
    for path, name in REQUIRED:
        file = keras_root / layout.path(path)
        body = parse(file.read_text()).body if file.is_file() else ()
        if name not in {name_of(statement) for statement in body}:
            missing.append(f"{layout.path(path)}: {name}")
    if missing:
        raise ExportError(f"Keras lacks what the tree replaces: {missing}")


def unified_diff(relative, old_text, new_text):
    old, new = (old_text or "").splitlines(True), new_text.splitlines(True)
    old_name = "/dev/null" if old_text is None else f"a/{relative}"
    diff = "".join(difflib.unified_diff(old, new, old_name, f"b/{relative}"))
    new_file = "new file mode 100644\n" if old_text is None else ""
    return diff and f"diff --git a/{relative} b/{relative}\n{new_file}{diff}"


def edited(text, edits, filename, speed=False):
    """`text` with `edits` made (a speed patch's, patch by patch); every
    stage of the series makes most of them again, on the same text."""
    frozen = tuple(tuple(sorted(edit.items())) for edit in edits)
    return _edited(text, frozen, filename, speed)


@functools.cache
def _edited(text, frozen, filename, speed):
    apply = overlay._apply_speed_edits if speed else overlay._apply_edits
    return apply(text, [dict(edit) for edit in frozen], filename)


def stage_texts(layout, modules, present, speed_edits=()):
    keras_root, texts = layout.root, {}
    for relative, file_edits in edits(TREE_ROOT / "keras"):
        target = layout.path(relative.removesuffix(".edits.toml") + ".py")
        chosen = [
            {key: layout.rewrite(value) for key, value in edit.items()}
            for edit in file_edits
            if (
                (relative, edit.get("function")) in present
                or not edit.get("function")
            )
            # An edit of a later concern than the function's first.
            and (
                not edit.get("concern")
                or ("concern", edit["concern"]) in present
            )
        ]
        texts[target] = (keras_root / target).read_text()
        if any(edit.get("function") for edit in chosen):
            texts[target] = edited(texts[target], chosen, target)
        module = relative.removesuffix(".edits.toml") + ".py"
        if later := [
            {key: layout.rewrite(str(value)) for key, value in edit.items()}
            for edit in speed_edits
            if edit.get("edited") and edit["module"] == module
        ]:
            texts[target] = edited(texts[target], later, target, speed=True)
    for relative, module in modules.items():
        if (target := layout.path(relative)) is None:
            continue
        if relative == EXCLUDED_TESTS:
            # Its entries for the tests of the ops in `present` go.
            if (keras_root / target).is_file():
                ops = [n for f, n in REQUIRED if (f, n) in present]
                enabled = re.compile(rf"::test_({'|'.join(ops)})(_|$)")
                lines = (keras_root / target).read_text().splitlines(True)
                texts[target] = "".join(
                    x for x in lines if not ops or not enabled.search(x.strip())
                )
            continue
        release = texts.get(target)
        if release is None and (keras_root / target).is_file():
            release = (keras_root / target).read_text()
        source = module.stage_source(present)
        if chosen := [
            e
            for e in speed_edits
            if e["module"] == relative and not e.get("edited")
        ]:
            source = source and edited(source, chosen, relative, speed=True)
        if source is None or not source.strip():
            texts[target] = release  # Not in this stage, or a package marker.
        elif release is None:
            texts[target] = layout.rewrite(source)
        else:
            name = target[:-3].replace("/", ".").removesuffix(".__init__")
            texts[target] = merge_module(name, release, layout.rewrite(source))
    tests = "".join(t for p, t in texts.items() if p.endswith("_test.py") and t)
    hypothesis = re.search(r"^(from|import) hypothesis\b", tests, re.M)
    if layout.kov and not (keras_root / "conftest.py").is_file():
        texts["conftest.py"] = (
            package_conftest(bool(hypothesis)) if tests else None
        )
    if layout.kov and (keras_root / REQUIREMENTS).is_file():
        text = texts[REQUIREMENTS] = (keras_root / REQUIREMENTS).read_text()
        if hypothesis and not re.search(r"^hypothesis\b", text, re.M):
            # With the first tests that import it, in the testing block.
            testing = re.compile(r"^# Testing\n(.+\n)*", re.M)
            add = lambda block: block[0] + "hypothesis\n"
            texts[REQUIREMENTS] = testing.sub(add, text, count=1)
    return texts


def package_conftest(hypothesis, functional_call=False):
    """keras-openvino's root conftest.py: `tools/series/conftest/base.py`
    with the parts the series so far needs, their imports merged."""
    folder = TREE_ROOT / "tools/series/conftest"
    text, imports, bodies = (folder / "base.py").read_text(), [], []
    wanted = {"hypothesis": hypothesis, "functional_call": functional_call}
    for part in [part for part, needed in wanted.items() if needed]:
        lines = (folder / f"{part}.py").read_text().splitlines(True)
        heading = [line for line in lines if IMPORT.match(line)]
        imports += [line for line in heading if line not in text]
        bodies.append("".join(lines[lines.index(heading[-1]) + 2 :]))
    if imports:
        imports.sort(key=lambda line: (line.startswith("from"), line))
        text = text.replace("import os\n", "import os\n\n" + "".join(imports))
    # One blank line after the imports, two between the parts.
    bodies = "\n\n\n".join(body.strip("\n") for body in bodies)
    return "\n\n".join(filter(None, [text.strip("\n"), bodies])) + "\n"


def speed_patches():
    patches = []
    for relative, file_edits in edits(TREE_ROOT / "speed"):
        name = relative.split("-", 1)[1].removesuffix(".edits.toml")
        patches.append((name, [dict(e, patch=name) for e in file_edits]))
    return patches


def series_names(layout, core_only=False):
    names = [name for name, _ in SERIES if name not in layout.skipped_concerns]
    return names + ([] if core_only else [name for name, _ in speed_patches()])


def export_series(keras_root, core_only=False):
    layout, modules = Layout(keras_root), tree_modules()
    check_required_definitions(keras_root, layout)
    presents = [frozenset(), *series_stages(modules, layout.skipped_concerns)]
    texts = [stage_texts(layout, modules, p) for p in presents]
    applied = []
    for _, speed_edits in [] if core_only else speed_patches():
        applied += speed_edits
        texts.append(stage_texts(layout, modules, presents[-1], applied))
    series, names = [], series_names(layout, core_only)
    for name, old, new in zip(names, texts, texts[1:]):
        diff = "".join(
            unified_diff(target, old[target], new[target])
            for target in sorted(new)
            if new[target] != old[target]
        )
        series.append((name, described(name, layout), diff))
    if layout.kov and (keras_root / WORKFLOW).is_file():
        series += ci_step(layout, series)
    return series


def suite_classes():
    body = parse((TREE_ROOT / SUITE_FILE).read_text()).body
    names = [s.name.value for s in body if isinstance(s, cst.ClassDef)]
    return [name for name in names if name.endswith("Test")]


def described(name, layout, **fields):
    text = (SERIES_DESCRIPTIONS / f"{name}.md").read_text()
    text = re.sub(r"\{(\w+)\}", lambda x: fields.get(x[1], x[0]), text)
    backend = r"\{backend\}/(\w+\.py)"
    return re.sub(backend, lambda x: layout.path(BACKEND + x[1]), text)


def write_suite_patch(keras_root, output_dir):
    """The tree's suite classes appended to Keras's, as a patch."""
    old = (keras_root / SUITE_FILE).read_text()
    tree = (TREE_ROOT / SUITE_FILE).read_text()
    new = merge_module(SUITE_FILE[:-3].replace("/", "."), old, tree)
    classes = ", ".join(f"`{name}`" for name in suite_classes())
    description = described("keras-suite", Layout(keras_root), classes=classes)
    diff = unified_diff(SUITE_FILE, old, new)
    (path,) = write_patches(output_dir, [("keras-suite", description, diff)])
    (output_dir / "keras-suite.md").write_text(description)
    return path


def ci_step(layout, series):
    """keras-openvino's workflow step that runs the series' tests, after
    `Run Tests`, and the conftest hook for Keras #23397's NameError."""
    added = "".join(diff for _, _, diff in series)
    targets = " ".join(
        folder
        for folder in ("keras_openvino", "integration_tests")
        if re.search(rf"^\+\+\+ b/{folder}/.*_test\.py$", added, re.M)
    )
    old = (layout.root / WORKFLOW).read_text()
    step = STEP.replace("TARGETS", targets)
    # After the `Run Tests` step: its line and the deeper ones below it.
    tests = re.compile(r"^( *)- name: Run Tests *\n(\1 +\S.*\n)*", re.M)
    new = tests.sub(lambda match: match[0] + step, old, count=1)
    diff = unified_diff(WORKFLOW, old, new)
    if not (layout.root / "conftest.py").is_file():
        # Keras #23397's NameError becomes an expected failure in this step.
        hypothesis = re.search(r"^\+(from|import) hypothesis\b", added, re.M)
        old = package_conftest(bool(hypothesis))
        new = package_conftest(bool(hypothesis), functional_call=True)
        diff += unified_diff("conftest.py", old, new)
    name, command = "ci-package-tests", f"pytest {targets} -n auto"
    description = described(name, layout, command=command, needs="")
    return [(name, description, diff)]


def step_command(workflow_text):
    """The CI step's keys (`env`, `run`, ...) in the patched workflow."""
    name = yaml.safe_load(STEP)[0]["name"]
    jobs = yaml.safe_load(workflow_text)["jobs"].values()
    return next(s for j in jobs for s in j["steps"] if s.get("name") == name)


def author_headers():
    """`From:` and `Date:` from git's author identity, which `git am`
    needs; none where git has no identity (nor could `git am` commit)."""
    ident = subprocess.run(
        ["git", "var", "GIT_AUTHOR_IDENT"],
        capture_output=True,
        text=True,
        cwd=pathlib.Path(__file__).parent,
    ).stdout.strip()
    if not ident:
        return ""
    author, timestamp, _ = ident.rsplit(" ", 2)
    date = email.utils.formatdate(int(timestamp))
    return f"From: {author}\nDate: {date}\n"


def write_patches(output_dir, series):
    output_dir.mkdir(parents=True, exist_ok=True)
    paths, total, headers = [], len(series), author_headers()
    for number, (name, description, diff) in enumerate(series, 1):
        title, _, body = description.partition("\n")
        subject = f"[PATCH {number}/{total}] {title.lstrip('# ').strip()}"
        paths.append(output_dir / f"{number:04d}-{name}.patch")
        text = f"{headers}Subject: {subject}\n\n{body.strip()}\n---\n{diff}"
        paths[-1].write_text(text)
    return paths


def write_series(keras_root, output_dir, core_only=False):
    return write_patches(output_dir, export_series(keras_root, core_only))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--series", "--core", "--keras-suite"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("--keras-root", type=pathlib.Path)
    parser.add_argument("--output-dir", type=pathlib.Path, default="series")
    args = parser.parse_args()
    if not (args.series or args.keras_suite):
        parser.error("give --series or --keras-suite")
    root = (args.keras_root or installed_keras_root()[0]).resolve()
    try:
        suite = args.keras_suite and [write_suite_patch(root, args.output_dir)]
        paths = suite or write_series(root, args.output_dir, args.core)
    except ExportError as error:
        sys.exit(f"error: {error}")
    print("".join(f"Wrote {path}\n" for path in paths), end="")


if __name__ == "__main__":
    sys.exit(main())
