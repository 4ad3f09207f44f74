"""Lays this contribution tree over the installed Keras release.

Not part of the upstream patch: it is what lets a tree that holds only the
files written here run as if it were the whole of Keras.

When this directory's parent comes first on `sys.path`, `import keras` lands
here. We find the release's `keras` package further down `sys.path` and
install one meta path finder. For every module `keras.X` it asks:

- only the release has it: the release's module, untouched;
- only this tree has it (new modules, our tests): this tree's module;
- both have it: one module object whose namespace first receives the
  release's code, then this tree's code. Later definitions win, so the tree's
  functions replace the release's of the same name, and the release's own
  code, which looks its globals up at call time, calls the tree's versions.
  The replaced definitions stay reachable in the module's `__overlaid__`.

A small change inside one of the release's functions is stated as data
instead: `X.edits.toml` beside module `X` (it may have no `X.py`) holds
`[[edit]]` tables, each with

- `function`: the function or method (`Class.method`) the edit is in; left
  out, the edit may be anywhere in the file (an import);
- `anchor`: the stripped text of one line that must occur exactly once
  there;
- `replacement`: the lines that take that line's place, indented relative
  to it;
- `concern` (optional): the patch of the series that makes the edit, where
  it is not the first to edit that function (only the export reads it).

The release's source gets its edits (`_apply_edits`) and runs under the
release file's name, before the tree's own code for the module, if any.
An anchor that is missing or not unique stops the import with an
`_EditError` naming the file, function and anchor. `tools/export_patch.py`
applies the same edits to Keras's file, so the patch shows just the lines
they change.

This package's own namespace is filled the same way: the release's
`keras/__init__.py` runs here, after the finder is in place. Loaded under
another name than `keras` (the patch export does, for `_apply_edits`), this
file only defines its helpers.
"""

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import os
import sys
import tomllib

_TREE_DIR = os.path.dirname(os.path.abspath(__file__))
_EDITS_SUFFIX = ".edits.toml"
# Speed patches: edits of this tree's own modules, each a later patch of
# the series; the tree runs with all of them. An edit with `edited = true`
# changes a release function as this tree's edits left it.
_SPEED_DIR = os.path.join(os.path.dirname(_TREE_DIR), "speed")


class _EditError(ValueError):
    pass


def _read_edits(path):
    """The `[[edit]]` tables of an edits file, checked for their keys."""
    with open(path, "rb") as f:
        edits = tomllib.load(f).get("edit", [])
    for edit in edits:
        keys = {
            *("function", "anchor", "replacement", "concern"),
            *("module", "edited"),  # A speed patch's.
        }
        unknown = set(edit) - keys
        if unknown or not {"anchor", "replacement"} <= set(edit):
            raise _EditError(
                f"{path}: an edit has `anchor`, `replacement` and optionally "
                f"`function` and `concern` (and `module`, `edited` in a speed "
                f"patch), not {sorted(edit)}"
            )
    return edits


def _line_range(module, function, filename):
    """The 0-based range of lines of `function` (`Class.method`)."""
    scope, node = module.body, None
    for part in function.split("."):
        found = [
            child
            for child in scope
            if isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            )
            and child.name == part
        ]
        if not found:
            raise _EditError(f"{filename}: no {function} to edit")
        node = found[0]
        scope = node.body
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return first - 1, node.end_lineno


def _apply_edits(source, edits, filename):
    """`source` with each edit's anchor line replaced, or an `_EditError`."""
    lines = source.splitlines(keepends=True)
    module = ast.parse(source, filename)
    changes = {}
    for edit in edits:
        function, anchor = edit.get("function"), edit["anchor"].strip()
        start, end = (0, len(lines))
        if function:
            start, end = _line_range(module, function, filename)
        hits = [i for i in range(start, end) if lines[i].strip() == anchor]
        if len(hits) != 1:
            raise _EditError(
                f"{filename}: {function or 'the module'}: the anchor "
                f"{anchor!r} occurs {len(hits)} times; an edit needs it "
                "exactly once"
            )
        line = lines[hits[0]]
        if hits[0] in changes:
            raise _EditError(f"{filename}: two edits of the line {anchor!r}")
        indent = line[: len(line) - len(line.lstrip())]
        changes[hits[0]] = [
            indent + new + "\n" if new.strip() else "\n"
            for new in edit["replacement"].strip("\n").splitlines()
        ]
    for index in sorted(changes, reverse=True):
        lines[index : index + 1] = changes[index]
    return "".join(lines)


def _apply_speed_edits(source, edits, filename):
    """`source` with the speed patches' `edits` made patch by patch, so that
    a patch can edit the lines an earlier one added."""
    for patch in dict.fromkeys(edit["patch"] for edit in edits):
        chosen = [edit for edit in edits if edit["patch"] == patch]
        source = _apply_edits(source, chosen, filename)
    return source


def _unedited_functions(source, edits, filename, module):
    """The module-level functions that `edits` change, built from the
    unedited `source` in `module`'s namespace, by name."""
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    functions = {}
    for name in {edit.get("function") for edit in edits}:
        if not name or "." in name:
            continue
        start, end = _line_range(tree, name, filename)
        code = compile(
            "\n" * start + "".join(lines[start:end]), filename, "exec"
        )
        # The module's names, with the imports that the edits may drop.
        namespace, scratch = dict(module.__dict__), {}
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(
                    compile(ast.Module([node], []), filename, "exec"), namespace
                )
        exec(code, namespace, scratch)
        functions[name] = scratch[name]
    return functions


def _speed_edits(tree_file):
    """The edits that the speed patches (`speed/*.edits.toml`, in order)
    make to `tree_file`; none with `KERAS_OVERLAY_CORE_ONLY` set, only the
    first N with `KERAS_OVERLAY_SPEED_PATCHES=N` (for benchmarks)."""
    if os.environ.get("KERAS_OVERLAY_CORE_ONLY") or not os.path.isdir(
        _SPEED_DIR
    ):
        return []
    relative = os.path.relpath(tree_file, os.path.dirname(_TREE_DIR))
    names = sorted(os.listdir(_SPEED_DIR))
    names = [name for name in names if name.endswith(_EDITS_SUFFIX)]
    if count := os.environ.get("KERAS_OVERLAY_SPEED_PATCHES"):
        names = names[: int(count)]
    edits = []
    for name in names:
        path = os.path.join(_SPEED_DIR, name)
        edits += [
            dict(edit, patch=name)
            for edit in _read_edits(path)
            if edit.get("module") == relative.replace(os.sep, "/")
        ]
    return edits


def _find_release_dir():
    for entry in sys.path:
        candidate = os.path.join(os.path.abspath(entry or "."), "keras")
        init_file = os.path.join(candidate, "__init__.py")
        if os.path.isfile(init_file) and not os.path.samefile(
            candidate, _TREE_DIR
        ):
            return candidate
    raise ImportError(
        "This Keras contribution tree needs the Keras release installed "
        "below it on sys.path: pip install -r requirements-openvino.txt"
    )


def _tree_source(fullname):
    """Path of this tree's file for module `fullname`, or None."""
    relative = os.path.join(*fullname.split(".")[1:])
    package_init = os.path.join(_TREE_DIR, relative, "__init__.py")
    if os.path.isfile(package_init):
        return package_init
    module_file = os.path.join(_TREE_DIR, relative + ".py")
    if os.path.isfile(module_file):
        return module_file
    return None


def _edits_source(fullname):
    """Path of this tree's edits file for module `fullname`, or None."""
    relative = os.path.join(*fullname.split(".")[1:])
    edits_file = os.path.join(_TREE_DIR, relative + _EDITS_SUFFIX)
    return edits_file if os.path.isfile(edits_file) else None


def _tree_code(tree_file):
    """The code of one of this tree's files, with the speed patches'
    edits made to it."""
    with open(tree_file, encoding="utf-8") as f:
        source = f.read()
    speed_edits = [e for e in _speed_edits(tree_file) if not e.get("edited")]
    if speed_edits:
        source = _apply_speed_edits(source, speed_edits, tree_file)
        # Tracebacks and `inspect` then show the lines that run.
        linecache.cache[tree_file] = (
            len(source),
            None,
            source.splitlines(keepends=True),
            tree_file,
        )
    return compile(source, tree_file, "exec")


class _TreeLoader(importlib.abc.Loader):
    """Runs a module that only this tree has (its tests, new modules)."""

    def __init__(self, tree_file):
        self.tree_file = tree_file

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(_tree_code(self.tree_file), module.__dict__)


class _OverlayLoader(importlib.abc.Loader):
    def __init__(self, release_loader, tree_file, edits_file):
        self.release_loader = release_loader
        self.tree_file = tree_file
        self.edits_file = edits_file

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if self.edits_file is None:
            self.release_loader.exec_module(module)
        else:
            origin = module.__spec__.origin
            with open(origin, encoding="utf-8") as f:
                original = f.read()
            edits = _read_edits(self.edits_file)
            source = _apply_edits(original, edits, origin)
            # Speed patches' edits of the functions those edits changed.
            module_file = self.edits_file.removesuffix(_EDITS_SUFFIX) + ".py"
            edited = [e for e in _speed_edits(module_file) if e.get("edited")]
            if edited:
                source = _apply_speed_edits(source, edited, origin)
            module.__edits_file__ = self.edits_file
            # Tracebacks and `inspect` then show the lines that run.
            linecache.cache[origin] = (
                len(source),
                None,
                source.splitlines(keepends=True),
                origin,
            )
            exec(compile(source, origin, "exec"), module.__dict__)
            unedited = _unedited_functions(original, edits, origin, module)
        release_namespace = dict(module.__dict__)
        if self.tree_file is not None:
            module.__overlay_file__ = self.tree_file
            exec(_tree_code(self.tree_file), module.__dict__)
        # What the tree replaced, for benchmarks and the patch export.
        module.__overlaid__ = {
            name: value
            for name, value in release_namespace.items()
            if not name.startswith("__")
            and module.__dict__.get(name) is not value
        }
        if self.edits_file is not None:
            # Edited functions too, as the release wrote them, so that the
            # audit can run the release's code beside the tree's.
            module.__overlaid__.update(unedited)


class _OverlayFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("keras."):
            return None
        tree_file = _tree_source(fullname)
        edits_file = _edits_source(fullname)
        if tree_file is None and edits_file is None:
            return None
        parent = os.path.dirname(
            os.path.join(_RELEASE_DIR, *fullname.split(".")[1:])
        )
        release_spec = importlib.machinery.PathFinder.find_spec(
            fullname, [parent]
        )
        if release_spec is None and edits_file is not None:
            raise ImportError(
                f"{edits_file} edits {fullname}, which the installed Keras "
                f"({_RELEASE_DIR}) lacks",
                name=fullname,
            )
        is_package = tree_file is not None and tree_file.endswith("__init__.py")
        if release_spec is None and is_package:
            # The tree's packages only mirror the release's.
            raise ImportError(
                f"The installed Keras ({_RELEASE_DIR}) has no package "
                f"{fullname}, which this tree lays itself over; the tree "
                "targets the Keras release pinned in requirements-openvino.txt",
                name=fullname,
            )
        if release_spec is None:
            return importlib.util.spec_from_file_location(
                fullname,
                tree_file,
                loader=_TreeLoader(tree_file),
                submodule_search_locations=(
                    [os.path.dirname(tree_file)] if is_package else None
                ),
            )
        release_spec.loader = _OverlayLoader(
            release_spec.loader, tree_file, edits_file
        )
        if is_package:
            release_spec.submodule_search_locations.append(
                os.path.dirname(tree_file)
            )
        return release_spec


if __name__ == "keras":
    _RELEASE_DIR = _find_release_dir()
    if not any(isinstance(f, _OverlayFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _OverlayFinder())

    __path__ = [_RELEASE_DIR, _TREE_DIR]
    __overlay_file__ = __file__
    _init_file = os.path.join(_RELEASE_DIR, "__init__.py")
    with open(_init_file, encoding="utf-8") as _f:
        exec(compile(_f.read(), _init_file, "exec"))
