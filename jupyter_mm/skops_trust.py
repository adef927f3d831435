"""Loading skops models without running code the file chose.

skops constructs only the types it trusts by default (scikit-learn estimators, numpy dtypes
and ufuncs, builtins), plus the ones the caller names. Trust is never granted by module
prefix: numpy, scipy and scikit-learn all hold callables (``numpy.testing``'s
``runstring``, loaders, import helpers) that run code when a crafted file calls them.

Without the caller's trust a model loads when ``skops.io.get_untrusted_types`` comes back
empty, or when every type it reports is on :data:`REVIEWED_TYPES`, a short list of
classes that real models need and that skops leaves out for a reason we check ourselves:

``sklearn.tree._tree.Tree`` (every DecisionTree*, RandomForest*, ExtraTrees* and
GradientBoosting* model). skops leaves it out because scikit-learn follows the stored node
indices without bounds checks, so a crafted tree can read memory out of range on
``predict``. Before anything is constructed, each stored tree is checked: its arguments
and arrays have the shapes the constructor expects, every split points to later nodes
inside the array (so walking it ends), every split feature is below the tree's
``n_features``; after loading, every estimator holding a tree must pass it as many
columns as the tree was built for.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection, Iterator
from typing import Any

from .errors import InvalidInput

TREE_TYPE = "sklearn.tree._tree.Tree"
#: types loaded without ``trusted`` once the check next to each one passes
REVIEWED_TYPES = frozenset({TREE_TYPE})
#: how many untrusted type names an error message shows
_SHOWN = 8


class _Refused(Exception):
    """A stored tree failed a structure check; the message says which."""


def load_skops(data: bytes, trusted: bool | Collection[str] = False) -> Any:
    """The object in the skops file ``data``.

    ``trusted``: ``True`` trusts every type in the file; a collection of type names (as
    ``skops.io.get_untrusted_types`` reports them) trusts those in addition to skops'
    defaults and :data:`REVIEWED_TYPES`. Anything else is refused with InvalidInput naming
    the types, before any object is constructed.
    """
    try:
        import skops.io as skops_io
    except ImportError:
        raise InvalidInput(
            "This model was saved with skops; `pip install skops` to load it."
        ) from None
    if isinstance(trusted, str):
        trusted = [trusted]
    named = set() if trusted is True else set(trusted or ())
    if not _has_node_tree():
        return _load_unchecked_layout(skops_io, data, trusted, named)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root, untrusted = _node_tree(archive)
            checked = trusted is not True and TREE_TYPE in untrusted and TREE_TYPE not in named
            if trusted is not True:
                refused = [t for t in untrusted if t not in named and t not in REVIEWED_TYPES]
                if refused:
                    raise InvalidInput(_untrusted_message(refused))
                if checked:
                    check_stored_trees(root)
            model = _construct(root, untrusted)
        if checked:
            check_tree_holders(model)
    except _Refused as exc:
        raise InvalidInput(
            f"The skops model's {TREE_TYPE} failed its check ({exc}); refusing to load it. "
            f"Pass trusted=[{TREE_TYPE!r}] only if you trust who saved it."
        ) from None
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"The model is not a readable skops file ({_first_line(exc)})."
        ) from None
    return model


def _has_node_tree() -> bool:
    try:
        from skops.io._audit import audit_tree, get_tree  # noqa: F401
        from skops.io._sklearn import TreeNode  # noqa: F401
        from skops.io._utils import read_schema  # noqa: F401
    except ImportError:
        return False
    return True


def _load_unchecked_layout(skops_io: Any, data: bytes, trusted: Any, named: set[str]) -> Any:
    """A skops version whose node tree this module cannot read: the public API only, and
    the reviewed types need ``trusted`` like any other."""
    try:
        untrusted = skops_io.get_untrusted_types(data=data)
    except Exception as exc:
        raise InvalidInput(
            f"The model is not a readable skops file ({_first_line(exc)})."
        ) from None
    refused = [] if trusted is True else [t for t in untrusted if t not in named]
    if refused:
        raise InvalidInput(_untrusted_message(refused))
    return skops_io.loads(data, trusted=untrusted)


def _node_tree(archive: zipfile.ZipFile) -> tuple[Any, list[str]]:
    """(skops' node tree of the file, nothing constructed yet; its untrusted type names).

    These are the steps ``skops.io.loads`` takes before it constructs (read the schema,
    build the nodes, audit); taking them here lets the checks look at the very nodes that
    will be constructed. They are internal to skops (see :func:`_has_node_tree`)."""
    from skops.io._audit import get_tree
    from skops.io._utils import read_schema

    schema, context = read_schema(archive)
    root = get_tree(schema, context, trusted=None)
    return root, sorted(root.get_unsafe_set())


def _construct(root: Any, accepted: list[str]) -> Any:
    """Audit ``root`` with skops' own audit (types outside ``accepted`` and skops' defaults
    raise) and construct it."""
    from skops.io._audit import audit_tree

    audit_tree(root, trusted=accepted)
    return root.construct()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _untrusted_message(types: list[str]) -> str:
    shown = ", ".join(types[:_SHOWN]) + (
        f" and {len(types) - _SHOWN} more" if len(types) > _SHOWN else ""
    )
    return (
        f"The skops model contains types skops does not trust by default: {shown}. Nothing "
        "was loaded; if you trust who saved it, pass trusted=[...] with the type names "
        "(skops.io.get_untrusted_types lists them all), or trusted=True for any type."
    )


# -- before loading: the stored trees -------------------------------------------------------


def check_stored_trees(root: Any) -> None:
    """Check every tree node under skops' node tree ``root`` before it is constructed (see
    the module docstring). Only the tree's own arguments and state are constructed here:
    JSON numbers and numpy arrays read without pickles. Raises _Refused."""
    from skops.io._sklearn import TreeNode

    trees = [node for node in _nodes(root) if isinstance(node, TreeNode)]
    if not trees:
        raise _Refused("no tree is stored the way skops stores one")
    for tree in trees:
        if (tree.module_name, tree.class_name) != ("sklearn.tree._tree", "Tree"):
            raise _Refused("a tree node names another type")
        _check_tree(tree)


def _nodes(root: Any) -> Iterator[Any]:
    """Every node reachable through ``children`` (cached nodes resolved), once."""
    from skops.io._audit import Node

    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, Node) and id(item) not in seen:
            seen.add(id(item))
            yield item
            stack.extend(item.children.values())
            if hasattr(item, "cached"):
                stack.append(item.cached)


def _plain(node: Any, loaders: tuple[str, ...], types: tuple[str, ...], what: str) -> Any:
    """``node`` (a cached node resolved) when its loader and type are the expected ones."""
    node = getattr(node, "cached", node)
    kind = f"{node.module_name}.{node.class_name}" if hasattr(node, "module_name") else "?"
    if type(node).__name__ not in loaders or kind not in types:
        raise _Refused(f"{what} is stored as {kind}, not as plain data")
    if type(node).__name__ == "NdArrayNode" and node.type != "numpy":
        raise _Refused(f"{what} is not a numeric array")
    return node


_NUMBER = (("JsonNode",), ("builtins.str", "builtins.int"))
_ARRAY = (("NdArrayNode",), ("numpy.ndarray",))


def _integer(node: Any, what: str) -> int:
    value = _plain(node, *_NUMBER, what).construct()
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(f"{what} is not an integer")
    return value


def _check_tree(tree: Any) -> None:
    args = _plain(tree.args, ("TupleNode",), ("builtins.tuple",), "the tree's arguments")
    if len(args.content) != 3:
        raise _Refused("the tree's arguments are not (n_features, n_classes, n_outputs)")
    n_features = _integer(args.content[0], "n_features")
    n_classes = _plain(args.content[1], *_ARRAY, "n_classes").construct()
    n_outputs = _integer(args.content[2], "n_outputs")
    if n_features < 1 or n_outputs < 1:
        raise _Refused("n_features and n_outputs must be positive")
    if n_classes.dtype.kind not in "iu" or n_classes.shape != (n_outputs,) or (n_classes < 1).any():
        raise _Refused("n_classes must hold one positive count per output")
    state = _plain(tree.attrs, ("DictNode",), ("builtins.dict",), "the tree's state")
    if set(state.content) != {"max_depth", "node_count", "nodes", "values"}:
        raise _Refused("the tree's state does not have the fields scikit-learn stores")
    key_types = _plain(state.key_types, ("ListNode",), ("builtins.list",), "the state's keys")
    for key_type in key_types.content:  # keys are rebuilt by calling these types
        _plain(key_type, ("TypeNode",), ("builtins.str",), "a key of the tree's state")
    _integer(state.content["max_depth"], "max_depth")
    node_count = _integer(state.content["node_count"], "node_count")
    nodes = _plain(state.content["nodes"], *_ARRAY, "the node array").construct()
    values = _plain(state.content["values"], *_ARRAY, "the value array").construct()
    _check_nodes(nodes, node_count, n_features)
    if values.shape != (len(nodes), n_outputs, int(n_classes.max())):
        raise _Refused("the value array does not have one row per node")


def _check_nodes(nodes: Any, node_count: int, n_features: int) -> None:
    """Every split names a feature below ``n_features`` and two children stored after it
    (scikit-learn writes a child after its parent), leaves have no children."""
    import numpy as np

    needed = {"left_child", "right_child", "feature"}
    if nodes.ndim != 1 or nodes.dtype.names is None or not needed <= set(nodes.dtype.names):
        raise _Refused("the node array is not scikit-learn's node records")
    if node_count != len(nodes) or node_count < 1:
        raise _Refused("node_count does not match the node array")
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    feature = nodes["feature"].astype(np.int64)
    index = np.arange(len(nodes))
    leaf = left == -1
    if (right[leaf] != -1).any():
        raise _Refused("a leaf has a right child")
    split = ~leaf
    inside = (left > index) & (left < len(nodes)) & (right > index) & (right < len(nodes))
    if not inside[split].all():
        raise _Refused("a split points outside the tree or back up it")
    if ((feature[split] < 0) | (feature[split] >= n_features)).any():
        raise _Refused("a split names a feature the tree does not have")


# -- after loading: who passes rows to the trees --------------------------------------------


def check_tree_holders(model: Any) -> None:
    """Every decision tree estimator is built for its tree's column count, and every
    ensemble that hands rows to trees unchecked hands them as many columns as they expect.
    Raises _Refused."""
    from sklearn.base import BaseEstimator
    from sklearn.tree import BaseDecisionTree
    from sklearn.tree._tree import Tree

    for obj in _reachable(model):
        if isinstance(obj, BaseDecisionTree):
            tree = getattr(obj, "tree_", None)
            if isinstance(tree, Tree) and _n_features_in(obj) != tree.n_features:
                raise _Refused(f"a {type(obj).__name__} is not built for its tree's columns")
        elif isinstance(obj, BaseEstimator) and "estimators_" in vars(obj):
            _check_ensemble(obj, BaseDecisionTree)


def _check_ensemble(ensemble: Any, tree_class: type) -> None:
    members = list(_flat(ensemble.estimators_))
    features = getattr(ensemble, "estimators_features_", None)
    for position, member in enumerate(members):
        if not isinstance(member, tree_class):
            continue
        if features is not None:
            try:
                expected = len(features[position])
            except (TypeError, IndexError):
                raise _Refused("the ensemble's feature subsets do not match its trees") from None
        else:
            expected = _n_features_in(ensemble)
        if _n_features_in(member) != expected:
            raise _Refused(f"a {type(ensemble).__name__} passes its trees another column count")


def _n_features_in(estimator: Any) -> int:
    value = vars(estimator).get("n_features_in_")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(f"a {type(estimator).__name__} does not record its column count")
    return value


def _flat(items: Any) -> Iterator[Any]:
    import numpy as np

    if isinstance(items, np.ndarray) and items.dtype == object:
        yield from items.ravel()
    elif isinstance(items, (list, tuple)):
        for item in items:
            yield from _flat(item) if isinstance(item, (list, tuple, np.ndarray)) else (item,)
    else:
        yield items


def _reachable(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through containers and instance attributes."""
    import numpy as np

    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel())
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
