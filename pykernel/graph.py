"""`function`: TF's decorator for compiled steps.

For now it is correct rather than fast: it calls the Python function eagerly each time
(the result is the same as a trace would give). Later: trace once into a graph of
backend primitives, fuse elementwise chains, and replay.
"""
import functools


class Function:
    def __init__(self, python_function, input_signature=None, jit_compile=None, reduce_retracing=False,
                 autograph=True, name=None):
        self.python_function = python_function
        self.input_signature = input_signature
        self._instance = None
        functools.update_wrapper(self, python_function)

    def __call__(self, *args, **kwargs):
        if self._instance is not None:
            return self.python_function(self._instance, *args, **kwargs)
        return self.python_function(*args, **kwargs)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        bound = Function(self.python_function, self.input_signature)
        bound._instance = instance
        return bound

    def get_concrete_function(self, *args, **kwargs):
        return self

    def experimental_get_tracing_count(self):
        return 0


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_relax_shapes=None, name=None, **_ignored):
    """Decorator (`@tf.function` or `@tf.function(...)`) making `func` a Function."""
    def decorate(f):
        return Function(f, input_signature=input_signature, jit_compile=jit_compile,
                        reduce_retracing=reduce_retracing, autograph=autograph, name=name)
    return decorate if func is None else decorate(func)
