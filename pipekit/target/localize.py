"""
:func:`localize_file_targets`: local stand-ins for a whole structure of targets at once.

``with localize_file_targets(self.output(), mode="w") as outputs:`` gives the same structure
(dicts, lists, tuples, collections) with every file-system target replaced by a local target.
Mode ``"r"``: they hold the current content. Mode ``"w"`` (or ``"a"``): they are written locally
and each moved into place when the block ends without an exception; after an exception all of
them are discarded, so a failed task leaves no new output behind.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["localize_file_targets"]


@contextlib.contextmanager
def localize_file_targets(struct: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """
    Localize every target in *struct* (arguments are passed to each target's ``localize()``);
    yields the structure with the local stand-ins. Objects without ``localize()`` stay as they
    are, except target collections, whose elements are localized one by one.
    """
    from pipekit.structure import map_struct
    from pipekit.target.collection import TargetCollection

    with contextlib.ExitStack() as stack:

        def enter(obj: Any) -> Any:
            if callable(getattr(obj, "localize", None)):
                return stack.enter_context(obj.localize(*args, **kwargs))
            if isinstance(obj, TargetCollection):
                return obj.map(lambda element: map_struct(enter, element))
            return obj

        yield map_struct(enter, struct)
