"""Branch workflows (see :mod:`pipekit.workflow.base`) and the local workflow type."""

from pipekit.workflow.base import (
    BaseWorkflow,
    WorkflowParameter,
    cached_workflow_property,
    dynamic_workflow_condition,
    workflow_property,
)
from pipekit.workflow.local import LocalWorkflow

__all__ = [
    "BaseWorkflow",
    "LocalWorkflow",
    "WorkflowParameter",
    "workflow_property",
    "cached_workflow_property",
    "dynamic_workflow_condition",
]
