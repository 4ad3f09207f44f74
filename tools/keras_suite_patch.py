"""The suite and CI-step patches: they live in `tools.export_patch`."""

from tools.export_patch import SUITE_FILE as SUITE_FILE
from tools.export_patch import WORKFLOW as WORKFLOW
from tools.export_patch import step_command as step_command
from tools.export_patch import suite_classes as suite_classes
from tools.export_patch import write_suite_patch as write_suite_patch
