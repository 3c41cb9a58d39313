"""Flatten and rebuild nested lists/tuples/dicts (a tiny tf.nest)."""


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten(structure):
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure, flat):
    flat = list(flat)
    leaves = iter(flat)
    try:
        out = _build(structure, leaves)
    except _TooFewLeaves:
        out = None
    if out is None and len(flatten(structure)) != len(flat) or next(leaves, _END) is not _END:
        raise ValueError(f"structure has {len(flatten(structure))} leaves but {len(flat)} values were given")
    return out


_END = object()


class _TooFewLeaves(Exception):
    pass


def _build(s, leaves):
    # A module-level recursion: a nested recursive closure would be a reference cycle that
    # keeps the leaves (device buffers) alive until the garbage collector runs.
    if isinstance(s, dict):   # leaves in sorted-key order (as flatten), keys in the dict's own order
        built = {key: _build(s[key], leaves) for key in sorted(s)}
        return type(s)((key, built[key]) for key in s)
    if isinstance(s, (list, tuple)):
        items = [_build(item, leaves) for item in s]
        if isinstance(s, tuple) and hasattr(s, "_fields"):  # namedtuple
            return type(s)(*items)
        return type(s)(items)
    value = next(leaves, _END)
    if value is _END:
        raise _TooFewLeaves
    return value


def map_structure(fn, *structures):
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])
