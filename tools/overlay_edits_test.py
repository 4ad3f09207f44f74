"""The overlay's edits: a line of the release's source replaced, or a clear
error."""

import textwrap

import pytest

from tools import export_patch

overlay = export_patch.overlay

SOURCE = textwrap.dedent(
    """\
    import os


    class Model:
        def run(self, x):
            y = x + 1
            return y

        def other(self, x):
            y = x + 1
            return y + y
    """
)


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
    assert edited.startswith("import math\nimport os\n\n\nclass Model:\n")
    assert (
        "    def run(self, x):\n"
        "        # Why.\n"
        "        y = (\n"
        "            x + 2\n"
        "        )\n"
        "        return y\n"
    ) in edited
    # The same line in another method is left alone.
    assert "    def other(self, x):\n        y = x + 1\n" in edited


@pytest.mark.parametrize(
    "edits, message",
    [
        pytest.param(
            [edit("y = x + 2", "y = x")],
            r"model\.py: Model\.run: the anchor 'y = x \+ 2' occurs 0 times",
            id="missing_anchor",
        ),
        pytest.param(
            [edit("y = x + 1", "y = x", function=None)],
            r"model\.py: the module: the anchor 'y = x \+ 1' occurs 2 times",
            id="anchor_twice_in_the_module",
        ),
        pytest.param(
            [edit("y = x + 1", "y = x", function="Model.gone")],
            r"model\.py: no Model\.gone to edit",
            id="missing_function",
        ),
        pytest.param(
            [edit("return y", "return x"), edit("return y", "return -y")],
            r"model\.py: two edits of the line 'return y'",
            id="same_line_twice",
        ),
    ],
)
def test_edit_that_does_not_fit_is_an_error(edits, message):
    with pytest.raises(overlay._EditError, match=message):
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
