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

This package's own namespace is filled the same way: the release's
`keras/__init__.py` runs here, after the finder is in place.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_TREE_DIR = os.path.dirname(os.path.abspath(__file__))


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


_RELEASE_DIR = _find_release_dir()


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


class _OverlayLoader(importlib.abc.Loader):
    def __init__(self, release_loader, tree_file):
        self.release_loader = release_loader
        self.tree_file = tree_file

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self.release_loader.exec_module(module)
        release_namespace = dict(module.__dict__)
        with open(self.tree_file, encoding="utf-8") as f:
            code = compile(f.read(), self.tree_file, "exec")
        module.__overlay_file__ = self.tree_file
        exec(code, module.__dict__)
        # What the tree replaced, for benchmarks and the patch export.
        module.__overlaid__ = {
            name: value
            for name, value in release_namespace.items()
            if not name.startswith("__")
            and module.__dict__.get(name) is not value
        }


class _OverlayFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("keras."):
            return None
        tree_file = _tree_source(fullname)
        if tree_file is None:
            return None
        parent = os.path.dirname(
            os.path.join(_RELEASE_DIR, *fullname.split(".")[1:])
        )
        release_spec = importlib.machinery.PathFinder.find_spec(
            fullname, [parent]
        )
        is_package = tree_file.endswith("__init__.py")
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
                submodule_search_locations=(
                    [os.path.dirname(tree_file)] if is_package else None
                ),
            )
        release_spec.loader = _OverlayLoader(release_spec.loader, tree_file)
        if is_package:
            release_spec.submodule_search_locations.append(
                os.path.dirname(tree_file)
            )
        return release_spec


if not any(isinstance(f, _OverlayFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _OverlayFinder())

__path__ = [_RELEASE_DIR, _TREE_DIR]
__overlay_file__ = __file__
with open(os.path.join(_RELEASE_DIR, "__init__.py"), encoding="utf-8") as _f:
    exec(compile(_f.read(), os.path.join(_RELEASE_DIR, "__init__.py"), "exec"))
