"""The computation graph: `tf.function` (trace once, replay) and TF 1 graph mode on one IR.

ir.py (Graph, Node, Value), primitives.py (each backend primitive's abstract evaluation),
trace.py (the tracing backend), replay.py (a graph as a flat list of backend calls),
signature.py (TensorSpec and trace-cache keys), function.py (tf.function).
"""
from .function import ConcreteFunction, Function, function, functions_run_eagerly, run_functions_eagerly  # noqa: F401
from .signature import TensorSpec  # noqa: F401
from .trace import init_scope  # noqa: F401
