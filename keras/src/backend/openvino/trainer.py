import warnings

import openvino as ov


def warn_if_float64(ov_model):
    """Warns if `ov_model` computes in float64; returns whether it did.
    Constants, inputs, conversions and results compute nothing."""
    for node in ov_model.get_ordered_ops():
        types = [output.get_element_type() for output in node.outputs()]
        kind = node.get_type_name()
        computes = kind not in ("Constant", "Parameter", "Convert", "Result")
        if ov.Type.f64 in types and computes:
            warnings.warn(
                "This model computes in float64, which OpenVINO's CPU plugin "
                "computes in float32 (openvino#34138): float64 values beyond "
                "float32's range come back as inf or float32's largest value "
                "(1e300 as inf), beyond its precision they are rounded "
                "(1 + 1e-10 as 1.0).",
                stacklevel=2,
            )
            return True
    return False
