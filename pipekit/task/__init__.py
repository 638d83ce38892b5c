"""Tasks: luigi tasks with law's conveniences (see :mod:`pipekit.task.base`)."""

from pipekit.task.base import BaseTask, ExternalTask, Register, Task, WrapperTask

__all__ = ["Register", "BaseTask", "Task", "ExternalTask", "WrapperTask"]
