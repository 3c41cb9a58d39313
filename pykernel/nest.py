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
    position = [0]

    def build(s):
        if isinstance(s, dict):
            return type(s)((key, build(s[key])) for key in sorted(s))
        if isinstance(s, (list, tuple)):
            items = [build(item) for item in s]
            if isinstance(s, tuple) and hasattr(s, "_fields"):  # namedtuple
                return type(s)(*items)
            return type(s)(items)
        value = flat[position[0]]
        position[0] += 1
        return value

    out = build(structure)
    if position[0] != len(flat):
        raise ValueError(f"structure has {position[0]} leaves but {len(flat)} values were given")
    return out


def map_structure(fn, *structures):
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])
