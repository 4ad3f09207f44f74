"""A pytest plugin of `tools/suite_runner.py`: with ONLY_MATCHING (a file of
excluded-list entries), only the tests whose id contains an entry run; with
WHICH_KERAS, the file it names gets "tree" when the run imported this tree's
Keras (the overlay), else "release"."""

import os
import sys

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if "ONLY_MATCHING" in os.environ:
        with open(os.environ["ONLY_MATCHING"]) as listing:
            entries = [line.strip() for line in listing if line.strip()]
        kept = [i for i in items if any(e in i.nodeid for e in entries)]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_sessionfinish(session):
    if "WHICH_KERAS" in os.environ:
        overlay = hasattr(sys.modules.get("keras"), "__overlay_file__")
        with open(os.environ["WHICH_KERAS"], "w") as output:
            output.write("tree" if overlay else "release")
