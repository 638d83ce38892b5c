"""
Ready-made tasks from law's ``contrib.tasks``: :class:`RunOnceTask`, :class:`TransferLocalFile`
and :class:`ForestMerge` (merge many inputs in a tree of merge steps).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import luigi

from pipekit.decorator import factory
from pipekit.errors import WorkflowError
from pipekit.parameter import NO_STR
from pipekit.structure import flatten, map_struct
from pipekit.target.collection import SiblingFileCollection, TargetCollection
from pipekit.target.file import FileSystemTarget
from pipekit.target.local import LocalFileTarget
from pipekit.task.base import Task
from pipekit.workflow.local import LocalWorkflow
from pipekit.workflow.parameter import branches_to_ranges

__all__ = ["RunOnceTask", "TransferLocalFile", "ForestMerge", "MergeTree"]


class RunOnceTask(Task):
    """
    A task without outputs that is complete once it ran in this process; decorate ``run`` with
    ``@RunOnceTask.complete_on_success`` (or call :meth:`mark_complete`).
    """

    exclude_index = True

    @staticmethod
    @factory(accept_generator=True)
    def complete_on_success(fn: Any, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
        return (
            (lambda: None),
            (lambda state: fn(task, *args, **kwargs)),
            (lambda state: task.mark_complete()),
        )

    @property
    def has_run(self) -> bool:
        return bool(self.__dict__.get("_has_run", False))

    def mark_complete(self) -> None:
        self.__dict__["_has_run"] = True

    def complete(self) -> bool:
        return self.has_run


class TransferLocalFile(Task):
    """
    Copy a local file (``--source-path``, or this task's input) to :meth:`single_output`, or
    to ``--replicas`` numbered copies next to it (a :class:`SiblingFileCollection`).
    """

    source_path = luigi.Parameter(
        default=NO_STR,
        description="the file to transfer; default: the task's input",
    )
    replicas = luigi.IntParameter(
        default=0,
        description="number of numbered copies to write instead of one output; default: 0",
    )

    exclude_index = True
    exclude_params_repr_empty = {"source_path"}

    def single_output(self) -> FileSystemTarget:
        """The destination (user hook)."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement single_output()")

    def get_source_target(self) -> Any:
        if self.source_path not in (NO_STR, None, ""):
            path = os.path.expandvars(os.path.expanduser(str(self.source_path)))
            return LocalFileTarget(os.path.abspath(path))
        return self.input()

    def get_replicated_path(self, basename: str, i: int | None = None) -> str:
        if i is None:
            return basename
        name, ext = os.path.splitext(basename)
        return f"{name}.{i}{ext}"

    def output(self) -> Any:
        output = self.single_output()
        if self.replicas <= 0:
            return output
        return SiblingFileCollection(
            [
                output.parent.child(self.get_replicated_path(output.basename, i), "f")
                for i in range(self.replicas)
            ]
        )

    def trace_transfer_output(self, output: Any) -> Any:
        return output

    def run(self) -> None:
        self.transfer(self.get_source_target())

    def transfer(self, src: Any, output: Any = None) -> None:
        """Copy *src* (a local target or path) to the output, or to every replica."""
        if output is None:
            output = self.trace_transfer_output(self.output())
        if not isinstance(output, SiblingFileCollection):
            output.copy_from_local(src)
            return
        progress = self.create_progress_callback(self.replicas)
        for i, replica in enumerate(output.iter_targets()):
            replica.copy_from_local(src)
            progress(i)
            self.publish_message(f"written replica {replica.basename}")


@dataclass(frozen=True)
class MergeTree:
    """
    One merge tree over *n_leaves* inputs: level sizes from the root (depth 0, one node) down
    to the leaf level, whose nodes merge up to *factor* inputs each (all of them when
    *factor* <= 0); every node above merges up to *factor* nodes of the next level.
    """

    n_leaves: int
    factor: int
    sizes: tuple[int, ...]

    @classmethod
    def build(cls, n_leaves: int, factor: int) -> MergeTree:
        if n_leaves < 1:
            raise WorkflowError("a merge tree needs at least one input to merge")
        if factor <= 0 or factor >= n_leaves:
            return cls(n_leaves, factor, (1,))
        sizes = [math.ceil(n_leaves / factor)]
        while sizes[-1] > 1:
            sizes.append(math.ceil(sizes[-1] / factor))
        return cls(n_leaves, factor, tuple(reversed(sizes)))

    @property
    def max_depth(self) -> int:
        return len(self.sizes) - 1

    def leaf_range(self, depth: int, index: int) -> tuple[int, int]:
        """Inputs ``[start, end)`` that node *index* at *depth* covers."""
        if self.factor <= 0 or self.max_depth == 0:
            return 0, self.n_leaves
        span = self.factor ** (self.max_depth - depth + 1)
        return index * span, min((index + 1) * span, self.n_leaves)

    def children(self, depth: int, index: int) -> list[int]:
        """Nodes at ``depth + 1`` that node *index* merges."""
        size = self.sizes[depth + 1]
        return list(range(index * self.factor, min((index + 1) * self.factor, size)))


# (class, significant parameters except the tree's own) -> (trees, leaves per tree)
_forest_cache: dict[tuple, tuple[list[MergeTree], list[int]]] = {}
_TREE_PARAMS = frozenset(
    {"tree_index", "tree_depth", "branch", "branches", "keep_nodes", "workflow"}
)


class ForestMerge(LocalWorkflow):
    """
    Merge many inputs step by step: *merge_factor* inputs per merge, then *merge_factor*
    merged results per merge, up to one result (per tree; ``merge_output()`` returning a list
    makes one tree per element). Hooks: :meth:`merge_workflow_requires`, :meth:`merge_requires`,
    :meth:`merge_output`, :meth:`merge`. Require ``MyMerge.req(self)`` (``--tree-index -1``,
    the forest) to get the final results; intermediate results are removed once merged unless
    ``--keep-nodes``. Each level of a tree is a workflow whose branches are its nodes.
    """

    tree_index = luigi.IntParameter(
        default=-1,
        description="the merge tree; -1 (default) is the forest of all trees",
    )
    tree_depth = luigi.IntParameter(
        default=0,
        description="the level in the merge tree; 0 (default) is the root",
    )
    keep_nodes = luigi.BoolParameter(
        default=False,
        significant=False,
        description="keep the intermediate merged results",
    )

    # every input must be merged: these workflow options are fixed
    acceptance = 1.0
    tolerance = 0.0
    pilot = False

    #: inputs (or merged results) per merge step; <= 0 merges everything in one step
    merge_factor = 2
    #: basename of intermediate results, next to the final output
    node_format = "{name}.t{tree}.d{depth}.b{branch}{ext}"

    exclude_index = True
    exclude_params_forest_merge = {"tree_index", "tree_depth", "keep_nodes", "branch", "branches"}

    # -- hooks ----------------------------------------------------------------------------------

    def merge_workflow_requires(self) -> Any:
        """What produces the inputs, e.g. ``Upstream.req(self)`` (a workflow)."""
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement merge_workflow_requires()"
        )

    def merge_requires(self, start_leaf: int, end_leaf: int) -> Any:
        """What one first-level merge needs: inputs ``start_leaf`` to ``end_leaf - 1``."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement merge_requires()")

    def merge_output(self) -> Any:
        """The final output; a list (or collection) of them makes one tree per element."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement merge_output()")

    def merge(self, inputs: list, output: Any) -> None:
        """Merge the list *inputs* into *output*."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement merge()")

    def trace_merge_workflow_inputs(self, inputs: Any) -> Any:
        """The inputs of merge_workflow_requires() as something with a length (or an int)."""
        if isinstance(inputs, dict) and isinstance(inputs.get("collection"), TargetCollection):
            return inputs["collection"]
        return inputs

    def trace_merge_inputs(self, inputs: Any) -> Any:
        """The inputs of merge_requires() as a list."""
        if isinstance(inputs, dict) and isinstance(inputs.get("collection"), TargetCollection):
            return inputs["collection"].values()
        if isinstance(inputs, dict):
            return list(inputs.values())
        return inputs

    # -- the forest -----------------------------------------------------------------------------

    @classmethod
    def get_param_values(cls, params: list, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        values = super().get_param_values(params, args, kwargs)
        if dict(values).get("tree_index", -1) < 0:
            # the forest is a single task, never a workflow (as in law: its branch is 0)
            values = [(n, 0 if n == "branch" else v) for n, v in values]
        return values

    def is_forest(self) -> bool:
        return self.tree_index < 0

    def is_root(self) -> bool:
        return not self.is_forest() and self.tree_depth == 0

    def is_leaf(self) -> bool:
        """True on the level that merges the original inputs."""
        return not self.is_forest() and self.tree_depth == self.max_tree_depth

    def as_workflow(self) -> Any:
        return self if self.is_forest() else super().as_workflow()

    req_workflow = as_workflow

    def _forest_key(self) -> tuple:
        params = self.to_str_params(only_significant=True)
        return (
            type(self),
            tuple(sorted((k, v) for k, v in params.items() if k not in _TREE_PARAMS)),
        )

    def _build_forest(self) -> tuple[list[MergeTree], list[int]]:
        key = self._forest_key()
        if key not in _forest_cache:
            output = self.merge_output()
            n_trees = len(output) if isinstance(output, (list, tuple, TargetCollection)) else 1
            inputs = self.trace_merge_workflow_inputs(
                luigi.task.getpaths(self.merge_workflow_requires())
            )
            n_leaves = inputs if isinstance(inputs, int) else len(inputs)
            if n_leaves < n_trees:
                raise WorkflowError(
                    f"{self.__class__.__name__}: {n_leaves} input(s) cannot fill {n_trees} merge trees"
                )
            base, extra = divmod(n_leaves, n_trees)
            per_tree = [base + 1] * extra + [base] * (n_trees - extra)
            trees = [MergeTree.build(n, self.merge_factor) for n in per_tree]
            _forest_cache[key] = (trees, per_tree)
        return _forest_cache[key]

    @property
    def merge_forest(self) -> list[MergeTree]:
        return self._build_forest()[0]

    @property
    def leaves_per_tree(self) -> list[int]:
        return self._build_forest()[1]

    @property
    def merge_tree(self) -> MergeTree:
        if self.is_forest():
            raise WorkflowError(f"{self!r} is the merge forest; it has no single tree")
        trees = self.merge_forest
        if self.tree_index >= len(trees):
            raise WorkflowError(
                f"{self!r}: tree {self.tree_index} does not exist ({len(trees)} tree(s))"
            )
        return trees[self.tree_index]

    @property
    def max_tree_depth(self) -> int:
        return self.merge_tree.max_depth

    @property
    def leaf_range(self) -> tuple[int, int]:
        """The original inputs ``[start, end)`` this node covers (global over all trees)."""
        offset = sum(self.leaves_per_tree[: self.tree_index])
        start, end = self.merge_tree.leaf_range(self.tree_depth, self.branch)
        return offset + start, offset + end

    def create_branch_map(self) -> dict[int, Any]:
        if self.is_forest():
            return {0: None}
        tree = self.merge_tree
        if not 0 <= self.tree_depth <= tree.max_depth:
            raise WorkflowError(
                f"{self.__class__.__name__}: tree depth {self.tree_depth} does not exist "
                f"(tree {self.tree_index} has depths 0-{tree.max_depth})"
            )
        offset = sum(self.leaves_per_tree[: self.tree_index])
        return {
            i: tuple(offset + x for x in tree.leaf_range(self.tree_depth, i))
            for i in range(tree.sizes[self.tree_depth])
        }

    # -- requirements, outputs, run ---------------------------------------------------------------

    def _req_tree(self, **kwargs: Any) -> ForestMerge:
        kwargs.setdefault("branches", ())
        return type(self).req(self, _skip_task_excludes=True, **kwargs)

    def workflow_requires(self) -> Any:
        if self.is_leaf():
            return {"forest_merge": self.merge_workflow_requires()}
        # only the next level's nodes below missing nodes: merged intermediates may be gone
        tree, depth = self.merge_tree, self.tree_depth
        missing = self.missing_branches()
        if len(missing) == len(self.branch_map):
            return {"forest_merge": self._req_tree(branch=-1, tree_depth=depth + 1)}
        children = [c for b in missing for c in tree.children(depth, b)]
        if not children:
            return {}
        return {
            "forest_merge": self._req_tree(
                branch=-1, tree_depth=depth + 1, branches=branches_to_ranges(children)
            )
        }

    def requires(self) -> Any:
        if self.is_forest():
            trees = range(len(self.merge_forest))
            return {
                "forest_merge": {
                    i: self._req_tree(branch=-1, tree_index=i, tree_depth=0) for i in trees
                }
            }
        if self.is_leaf():
            return {"forest_merge": self.merge_requires(*self.leaf_range)}
        children = self.merge_tree.children(self.tree_depth, self.branch)
        return {
            "forest_merge": {
                c: self._req_tree(branch=c, tree_depth=self.tree_depth + 1) for c in children
            }
        }

    def output(self) -> Any:
        output = self.merge_output()
        if self.is_forest():
            return output
        if isinstance(output, (list, tuple, TargetCollection)):
            output = output[self.tree_index]
        if self.is_root():
            return output
        if isinstance(output, SiblingFileCollection):
            directory = output.dir
        else:
            leaves = (
                output.iter_targets() if isinstance(output, TargetCollection) else flatten(output)
            )
            first = next(iter(leaves), None)
            if not isinstance(first, FileSystemTarget):
                raise WorkflowError(
                    f"{self.__class__.__name__}: cannot place intermediate results next to "
                    f"{output!r}; merge_output() must return file targets"
                )
            directory = first.parent

        def intermediate(target: Any) -> Any:
            name, ext = os.path.splitext(target.basename)
            basename = self.node_format.format(
                name=name, ext=ext, tree=self.tree_index, depth=self.tree_depth, branch=self.branch
            )
            return directory.child(basename, type="f")

        if isinstance(output, TargetCollection):
            return output.map(lambda element: map_struct(intermediate, element))
        return map_struct(intermediate, output)

    def run(self) -> None:
        if self.is_forest():
            return  # the trees did the work; the forest only collects their outputs
        inputs = self.input()["forest_merge"]
        if self.is_leaf():
            inputs = list(self.trace_merge_inputs(inputs))
        else:
            inputs = [inputs[c] for c in sorted(inputs)]
        start, end = self.leaf_range
        self.publish_message(
            f"merging {len(inputs)} input(s) of tree {self.tree_index}, depth {self.tree_depth}, "
            f"node {self.branch} (inputs {start}-{end - 1})"
        )
        self.merge(inputs, self.output())
        if not self.is_leaf() and not self.keep_nodes:
            for target in flatten(inputs):
                target.remove()
