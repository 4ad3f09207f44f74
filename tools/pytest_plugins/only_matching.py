"""A pytest plugin that runs only the tests whose id contains one of the
lines of the file named by `ONLY_TESTS_MATCHING` (excluded-list entries).

    ONLY_TESTS_MATCHING=entries.txt PYTHONPATH=tools/pytest_plugins \
        pytest -p only_matching FILES
"""

import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    with open(os.environ["ONLY_TESTS_MATCHING"], encoding="utf-8") as listing:
        fragments = [line.strip() for line in listing if line.strip()]
    kept = [item for item in items if any(f in item.nodeid for f in fragments)]
    config.hook.pytest_deselected(
        items=[item for item in items if item not in kept]
    )
    items[:] = kept
