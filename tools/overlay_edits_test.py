"""The overlay's edits: a line of the release's source replaced, or a clear
error."""

import pytest

from tools.export_patch import overlay

SOURCE = """import os


class Model:
    def run(self, x):
        y = x + 1
        return y

    def other(self, x):
        y = x + 1
        return y + y
"""


def edit(anchor, replacement, function="Model.run"):
    return {"function": function, "anchor": anchor, "replacement": replacement}


def test_replacement_takes_the_anchor_line_indentation():
    edited = overlay._apply_edits(
        SOURCE,
        [
            edit("y = x + 1", "\n# Why.\ny = (\n    x + 2\n)\n"),
            {"anchor": "import os", "replacement": "import math\nimport os"},
        ],
        "model.py",
    )
    run = "        # Why.\n        y = (\n            x + 2\n        )\n"
    assert edited.startswith("import math\nimport os\n\n\nclass Model:\n")
    assert f"    def run(self, x):\n{run}        return y\n" in edited
    # The same line in another method is left alone.
    assert "    def other(self, x):\n        y = x + 1\n" in edited


@pytest.mark.parametrize(
    "edits, message",
    [
        ([edit("y = x + 2", "y")], r"Model\.run: the anchor .* occurs 0 times"),
        ([edit("y = x + 1", "y", None)], r"the module: the anchor .* 2 times"),
        ([edit("y = x + 1", "y", "Model.gone")], r"no Model\.gone to edit"),
        ([edit("return y", "x"), edit("return y", "-y")], r"two edits of"),
    ],
    ids=["missing_anchor", "twice_in_module", "no_function", "line_twice"],
)
def test_edit_that_does_not_fit_is_an_error(edits, message):
    with pytest.raises(overlay._EditError, match=rf"^model\.py: {message}"):
        overlay._apply_edits(SOURCE, edits, "model.py")


def test_edits_file_keys_are_checked(tmp_path):
    path = tmp_path / "module.edits.toml"
    path.write_text('[[edit]]\nfunction = "f"\nanchr = "x = 1"\n')
    with pytest.raises(overlay._EditError, match="anchor"):
        overlay._read_edits(path)


def test_edited_module_runs_the_edited_source():
    from keras.src.backend.openvino import trainer

    assert trainer.__edits_file__.endswith("trainer.edits.toml")
    code = trainer.OpenVINOTrainer._unpack_inference_outputs.__code__
    assert "ports" in code.co_varnames
    assert trainer.ml_dtypes.bfloat16
