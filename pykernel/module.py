"""`tf.Module` (a named container that finds its variables and sub-modules) and `tf.name_scope`.

As in TF 2, a module's `variables` are found by walking its attributes (sorted by name,
through lists, tuples and dicts) rather than registered: its own first, then each
sub-module's, every variable once. Keras layers count as modules here, as they do in TF.
"""
import re
import sys
import threading

_local = threading.local()


def _scopes():
    return _local.__dict__.setdefault("scopes", [])


def current_name_scope():
    """The active eager name scope as a prefix ('outer/inner/'), '' outside any."""
    scopes = _scopes()
    return scopes[-1] if scopes else ""


class name_scope:
    """`with tf.name_scope("block"):` variables created inside are named "block/<name>:0".
    A name ending in "/" is absolute (it replaces the enclosing scopes, as in TF)."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"tf.name_scope: name must be a string, got {type(name).__name__}")
        self._name = name
        self._graph_scope = None

    @property
    def name(self):
        return self._name

    def __enter__(self):
        from .graph import compat_v1, compat_v1_variables
        if compat_v1._active and compat_v1.building():   # TF 1 graph mode: the graph's own scopes name its ops
            self._graph_scope = compat_v1_variables.name_scope(self._name)
            return self._graph_scope.__enter__()
        if self._name.endswith("/"):
            scope = self._name
        else:
            scope = current_name_scope() + self._name + "/" if self._name else current_name_scope()
        _scopes().append(scope)
        return scope

    def __exit__(self, *exc):
        if self._graph_scope is not None:
            scope, self._graph_scope = self._graph_scope, None
            return scope.__exit__(*exc)
        _scopes().pop()
        return False


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Module:
    """Base class for models and layers written against plain TF (tf.Module)."""

    def __init__(self, name=None):
        if name is None:
            name = _snake_case(type(self).__name__)
        elif not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
            raise ValueError(f"tf.Module: {name!r} is not a valid module name: it must be a Python "
                             "identifier (letters, digits, underscores; dots and dashes allowed after the start)")
        self._name = name
        self._scope_name = current_name_scope() + name + "/"

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        """`with self.name_scope:` enters this module's scope (absolute, fixed at creation)."""
        return name_scope(self._scope_name)

    @property
    def variables(self):
        return tuple(self._walk(lambda v: True))

    @property
    def trainable_variables(self):
        return tuple(self._walk(lambda v: v.trainable))

    @property
    def non_trainable_variables(self):
        return tuple(self._walk(lambda v: not v.trainable))

    @property
    def submodules(self):
        """Every module reachable from this one's attributes, breadth-first, each once."""
        found, seen, queue = [], {id(self)}, [self]
        while queue:
            module = queue.pop(0)
            for child in _children(module):
                if id(child) not in seen:
                    seen.add(id(child))
                    found.append(child)
                    if isinstance(child, Module):
                        queue.append(child)
        return tuple(found)

    def _walk(self, predicate):
        seen = set()
        for module in (self, *self.submodules):
            for variable in _own_variables(module):
                if id(variable) not in seen and predicate(variable):
                    seen.add(id(variable))
                    yield variable

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: run `method` inside its module's name scope."""
        import functools

        @functools.wraps(method)
        def scoped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return scoped

    def __repr__(self):
        return f"<{type(self).__module__}.{type(self).__qualname__} name={self._name!r}>"


def _attribute_leaves(module):
    """The values in a module's attributes (sorted by name), flattened through containers."""
    pending = [value for key, value in sorted(vars(module).items()) if not key.startswith("_pykernel")]
    pending.reverse()
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(reversed([value[k] for k in sorted(value, key=str)]))
        elif isinstance(value, (list, tuple)):
            pending.extend(reversed(value))
        else:
            yield value


def _is_keras_layer(value):
    layers = sys.modules.get("pykernel.keras.layers.layer")   # keras loads lazily: no layers before
    return layers is not None and isinstance(value, layers.Layer)


def _children(module):
    if not isinstance(module, Module):
        return []
    return [v for v in _attribute_leaves(module) if isinstance(v, Module) or _is_keras_layer(v)]


def _own_variables(module):
    from .variables import Variable
    if not isinstance(module, Module):   # a Keras layer: its weights, sub-layers' included
        return list(module.weights)
    return [v for v in _attribute_leaves(module) if isinstance(v, Variable)]
