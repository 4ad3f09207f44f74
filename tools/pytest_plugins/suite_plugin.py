"""The suite runner's pytest plugin: with ONLY_MATCHING (excluded-list
entries, space-separated), only the tests whose id contains one run."""

import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    entries = os.environ.get("ONLY_MATCHING", "").split()
    kept = [i for i in items if any(e in i.nodeid for e in entries)]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept
