"""A pytest plugin that writes, to the file `WHICH_KERAS` names, whether
the run imported this tree's Keras (the overlay) or the release alone.

    WHICH_KERAS=out.txt PYTHONPATH=tools/pytest_plugins \
        pytest -p which_keras --collect-only FILES
"""

import os
import sys


def pytest_sessionfinish(session):
    keras = sys.modules.get("keras")
    overlay = hasattr(keras, "__overlay_file__")
    with open(os.environ["WHICH_KERAS"], "w", encoding="utf-8") as output:
        output.write("tree" if overlay else "release")
