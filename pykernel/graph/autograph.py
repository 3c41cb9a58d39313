"""AutoGraph, the small version: `if`, `for` and `while` on tensors inside tf.function.

A traced function's source is rewritten once, so that

    if x > 0:            becomes   def if_true(): nonlocal y; y = x       (and if_false)
        y = x                      ag__.if_stmt(x > 0, if_true, if_false, get_state, set_state)

and likewise `for v in <iterable>:` (ag__.for_stmt) and `while <test>:` (ag__.while_stmt).
At run time each statement checks its condition: a Python value (or a constant tensor) runs
the statement as Python does; a symbolic tensor makes it a graph op (tf.cond over the
variables the branches assign, tf.while_loop over those the loop body assigns).

Statements with `return`, `break`, `continue` or `yield` inside, and functions whose source
is not available (lambdas, the REPL) or that use `super()` without arguments, are left as
they are: a tensor condition there raises OperatorNotAllowedInGraphError naming the line.
pykernel's own functions (Keras's train_step) are not converted, as TF does not convert its own.
"""
import ast
import functools
import inspect
import textwrap
import warnings

from .. import nest
from ..tensor import Tensor, convert_to_tensor
from . import control_flow, ir, trace


class _Undefined:
    def __repr__(self):
        return "<undefined>"


UNDEFINED = _Undefined()


# ---------------------------------------------------------------- the rewrite

def convert(fn):
    """`fn` with its if/for/while statements routed through this module, or `fn` itself when
    it cannot or need not be converted."""
    target = getattr(fn, "__func__", fn)
    if not inspect.isfunction(target) or (target.__module__ or "").startswith("pykernel"):
        return fn
    if target.__name__ == "<lambda>" or "__class__" in target.__code__.co_freevars:
        return fn
    try:
        source = textwrap.dedent(inspect.getsource(target))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return fn
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) or isinstance(definition, ast.AsyncFunctionDef):
        return fn
    rewriter = _Rewriter()
    definition.decorator_list = []
    definition.body = rewriter.statements(definition.body, top=True)
    if not rewriter.changed:
        return fn
    definition.body = [_binding_stub(sorted(rewriter.bound))] + definition.body if rewriter.bound else definition.body
    free = list(target.__code__.co_freevars)
    factory = ast.FunctionDef(name="__pykernel_autograph_factory",
                              args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in free], vararg=None,
                                                 kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
                              body=[definition, ast.Return(value=ast.Name(id=definition.name, ctx=ast.Load()))],
                              decorator_list=[], returns=None, type_params=[])
    module = ast.Module(body=[factory], type_ignores=[])
    for node in ast.walk(module):   # generated nodes take the line of the statement they replace
        if hasattr(node, "end_lineno") and getattr(node, "lineno", None) is not None and \
                (node.end_lineno is None or node.end_lineno < node.lineno):
            node.end_lineno = node.lineno
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, target.__code__.co_firstlineno - 1)
    namespace = dict(target.__globals__)
    namespace["ag__"] = _Runtime
    try:
        code = compile(module, target.__code__.co_filename, "exec")
        exec(code, namespace)
        cells = [c.cell_contents for c in (target.__closure__ or ())]
        converted = namespace["__pykernel_autograph_factory"](*cells)
    except Exception as error:   # anything this rewrite cannot express: keep Python's semantics
        warnings.warn(f"AutoGraph could not transform {target.__qualname__} and will run it as-is: {error!r}",
                      stacklevel=3)
        return fn
    converted.__defaults__ = target.__defaults__
    converted.__kwdefaults__ = target.__kwdefaults__
    functools.update_wrapper(converted, target)
    if target is not fn:   # a bound method
        return converted.__get__(fn.__self__)
    return converted


def _binding_stub(names):
    """`if False: a = b = None`: makes the names locals of the function (so the generated
    defs can declare them nonlocal) without binding them."""
    targets = [ast.Name(id=n, ctx=ast.Store()) for n in names]
    return ast.If(test=ast.Constant(value=False),
                  body=[ast.Assign(targets=targets, value=ast.Constant(value=None))], orelse=[])


class _Rewriter:
    def __init__(self):
        self.changed = False
        self.bound = set()
        self.counter = 0

    def statements(self, body, top=False):
        """Rewrite a statement list; `top`: a `return` in it returns the function's result."""
        out = []
        for index, statement in enumerate(body):
            if top and isinstance(statement, ast.If) and _returns(statement.body + statement.orelse) \
                    and not _escapes(statement.body + statement.orelse, allow_return=True):
                out.extend(self.convert_if_return(statement, body[index + 1:]))
                return out
            out.extend(self.statement(statement))
        return out

    def convert_if_return(self, node, rest):
        """`if t: ... return a` + the statements after it: each branch (with those statements
        appended) becomes a function, and the `if` returns the chosen branch's result."""
        self.changed = True
        names = sorted(_assigned(node.body + node.orelse + rest))
        self.bound.update(names)
        true_fn, false_fn = self._name("if_true"), self._name("if_false")
        body = self.statements(node.body + rest, top=True)
        orelse = self.statements(node.orelse + rest, top=True)
        call = _call("if_return", [node.test, _load(true_fn), _load(false_fn)])
        return [_def(true_fn, [], names, body), _def(false_fn, [], names, orelse), ast.Return(value=call)]

    def statement(self, node):
        if isinstance(node, ast.If) and not _escapes(node.body + node.orelse):
            return self.convert_if(node)
        if isinstance(node, ast.For) and not node.orelse and not _escapes(node.body):
            return self.convert_for(node)
        if isinstance(node, ast.While) and not node.orelse and not _escapes(node.body):
            return self.convert_while(node)
        for field in ("body", "orelse", "finalbody"):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                break
            if isinstance(getattr(node, field, None), list) and getattr(node, field) and \
                    isinstance(getattr(node, field)[0], ast.stmt):
                setattr(node, field, self.statements(getattr(node, field)))
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                handler.body = self.statements(handler.body)
        return [node]

    def _name(self, kind):
        self.counter += 1
        return f"{kind}_{self.counter}"

    def convert_if(self, node):
        self.changed = True
        names = sorted(_assigned(node.body + node.orelse))
        self.bound.update(names)
        true_fn, false_fn = self._name("if_true"), self._name("if_false")
        body = self.statements(node.body)
        orelse = self.statements(node.orelse) or [ast.Pass()]
        get_fn, set_fn = self._name("get_state"), self._name("set_state")
        call = _call("if_stmt", [node.test, _load(true_fn), _load(false_fn), _load(get_fn), _load(set_fn),
                                 _names_tuple(names)])
        return [_def(true_fn, [], names, body), _def(false_fn, [], names, orelse), *_state_defs(get_fn, set_fn, names),
                ast.Expr(value=call)]

    def convert_for(self, node):
        self.changed = True
        names = sorted(_assigned(node.body) | _assigned_target(node.target))
        self.bound.update(names)
        body_fn, item = self._name("loop_body"), self._name("item")
        body = [ast.Assign(targets=[node.target], value=_load(item))] + self.statements(node.body)
        get_fn, set_fn = self._name("get_state"), self._name("set_state")
        iterable = node.iter
        if isinstance(iterable, ast.Call) and not iterable.keywords and \
                ((isinstance(iterable.func, ast.Attribute) and iterable.func.attr == "range") or
                 (isinstance(iterable.func, ast.Name) and iterable.func.id == "range")):
            call = _call("for_range", [iterable.func, ast.Tuple(elts=list(iterable.args), ctx=ast.Load()),
                                       _load(body_fn), _load(get_fn), _load(set_fn), _names_tuple(names)])
        else:
            call = _call("for_stmt", [iterable, _load(body_fn), _load(get_fn), _load(set_fn), _names_tuple(names)])
        return [_def(body_fn, [item], names, body), *_state_defs(get_fn, set_fn, names), ast.Expr(value=call)]

    def convert_while(self, node):
        self.changed = True
        names = sorted(_assigned(node.body))
        self.bound.update(names)
        test_fn, body_fn = self._name("loop_test"), self._name("loop_body")
        get_fn, set_fn = self._name("get_state"), self._name("set_state")
        test = ast.FunctionDef(name=test_fn, args=_arguments([]), body=[ast.Return(value=node.test)],
                               decorator_list=[], returns=None, type_params=[])
        call = _call("while_stmt", [_load(test_fn), _load(body_fn), _load(get_fn), _load(set_fn), _names_tuple(names)])
        return [test, _def(body_fn, [], names, self.statements(node.body)), *_state_defs(get_fn, set_fn, names),
                ast.Expr(value=call)]


def _escapes(body, allow_return=False):
    """Whether control leaves these statements other than by falling off the end."""
    kinds = (ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal, ast.Await)
    for statement in body:
        for node in _walk_local(statement):
            if isinstance(node, kinds) or (isinstance(node, ast.Return) and not allow_return):
                return True
    return False


def _returns(body):
    return any(isinstance(node, ast.Return) for statement in body for node in _walk_local(statement))


def _walk_local(node):
    """ast.walk, not descending into nested functions, classes or lambdas."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield ast.Name(id=child.name, ctx=ast.Store())
            continue
        yield from _walk_local(child)


def _assigned(body):
    names = set()
    for statement in body:
        for node in _walk_local(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
    return names


def _assigned_target(target):
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _load(name):
    return ast.Name(id=name, ctx=ast.Load())


def _call(function, args):
    return ast.Call(func=ast.Attribute(value=_load("ag__"), attr=function, ctx=ast.Load()), args=args, keywords=[])


def _names_tuple(names):
    return ast.Tuple(elts=[ast.Constant(value=n) for n in names], ctx=ast.Load())


def _arguments(names):
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])


def _def(name, params, nonlocals, body):
    head = [ast.Nonlocal(names=list(nonlocals))] if nonlocals else []
    return ast.FunctionDef(name=name, args=_arguments(params), body=head + (body or [ast.Pass()]),
                           decorator_list=[], returns=None, type_params=[])


def _unbind(name):
    """`try: del name / except NameError: pass`: back to undefined, as before the statement."""
    return ast.Try(body=[ast.Delete(targets=[ast.Name(id=name, ctx=ast.Del())])],
                   handlers=[ast.ExceptHandler(type=_load("NameError"), name=None, body=[ast.Pass()])],
                   orelse=[], finalbody=[])


def _state_defs(get_fn, set_fn, names):
    """get_state() -> tuple of the names' values (UNDEFINED where unbound); set_state(values)."""
    reads = [ast.Call(func=ast.Attribute(value=_load("ag__"), attr="read", ctx=ast.Load()),
                      args=[ast.Lambda(args=_arguments([]), body=_load(n))], keywords=[]) for n in names]
    getter = ast.FunctionDef(name=get_fn, args=_arguments([]),
                             body=[ast.Return(value=ast.Tuple(elts=reads, ctx=ast.Load()))],
                             decorator_list=[], returns=None, type_params=[])
    assigns = [ast.If(test=ast.Compare(left=ast.Subscript(value=_load("values__"), slice=ast.Constant(value=i),
                                                          ctx=ast.Load()),
                                       ops=[ast.IsNot()], comparators=[ast.Attribute(value=_load("ag__"),
                                                                                     attr="UNDEFINED", ctx=ast.Load())]),
                      body=[ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())],
                                       value=ast.Subscript(value=_load("values__"), slice=ast.Constant(value=i),
                                                           ctx=ast.Load()))],
                      orelse=[_unbind(n)])
               for i, n in enumerate(names)]
    setter = _def(set_fn, ["values__"], names, assigns)
    return [getter, setter]


# ---------------------------------------------------------------- the run-time side

def _symbolic(value):
    if hasattr(value, "read_value") and not isinstance(value, Tensor):
        return False   # a variable's truth value is read eagerly or raises clearly
    return isinstance(value, Tensor) and isinstance(value._buf, ir.Value)


class _Runtime:
    UNDEFINED = UNDEFINED

    @staticmethod
    def read(thunk):
        try:
            return thunk()
        except NameError:   # UnboundLocalError too
            return UNDEFINED

    @staticmethod
    def if_stmt(test, true_fn, false_fn, get_state, set_state, names):
        if not _symbolic(test):
            (true_fn if test else false_fn)()
            return
        tracing = trace.current()
        initial = get_state()
        mark = tracing.mark()
        set_state(initial)
        true_fn()
        true_state = get_state()
        set_state(initial)
        false_fn()
        false_state = get_state()
        # a name that only one branch defines is a temporary of that branch: not a result
        kept = [i for i in range(len(names)) if true_state[i] is not UNDEFINED and false_state[i] is not UNDEFINED]
        kept_names = [names[i] for i in kept]
        where = "an `if` on a tensor"
        if not tracing.changed_state_since(mark):
            merged = control_flow.select(test, _tensor_state([true_state[i] for i in kept], kept_names, where),
                                         _tensor_state([false_state[i] for i in kept], kept_names, where))
        else:
            tracing.rollback(mark)

            def branch(fn):
                def run():
                    set_state(initial)
                    fn()
                    state = get_state()
                    return _tensor_state([state[i] for i in kept], kept_names, where)
                return run
            merged = control_flow.if_node(tracing, convert_to_tensor(test), branch(true_fn), branch(false_fn))
        final = [_OneBranchOnly(name, where) for name in names]
        for i, value in zip(kept, merged):
            final[i] = value
        set_state(tuple(final))

    @staticmethod
    def if_return(test, true_fn, false_fn):
        if not _symbolic(test):
            return true_fn() if test else false_fn()
        return control_flow.cond(test, true_fn, false_fn)

    @staticmethod
    def for_stmt(iterable, body_fn, get_state, set_state, names):
        if _symbolic(iterable) and iterable.shape and iterable.shape[0] is not None:
            from ..ops import unstack   # a static length: the loop unrolls over the rows
            iterable = unstack(iterable)
        for item in iterable:
            body_fn(item)

    @staticmethod
    def for_range(range_fn, args, body_fn, get_state, set_state, names):
        if not any(_symbolic(a) for a in args):
            for item in range_fn(*args):
                body_fn(item)
            return
        from ..ops import cast
        start, limit, delta = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], 1) if len(args) == 2 else args
        limit = convert_to_tensor(limit)
        dtype = limit.dtype
        counter = cast(convert_to_tensor(start), dtype) if isinstance(start, Tensor) else convert_to_tensor(start, dtype=dtype)
        delta = convert_to_tensor(delta, dtype=dtype)
        _tensor_loop(lambda i: (i < limit) if _positive(delta) else (i > limit), counter,
                     lambda i: (body_fn(i), i + delta)[1], get_state, set_state, names)

    @staticmethod
    def while_stmt(test_fn, body_fn, get_state, set_state, names):
        while True:
            test = test_fn()
            if _symbolic(test):
                break
            if not test:
                return
            body_fn()
        _tensor_loop(lambda _: test_fn(), None, lambda i: (body_fn(), i)[1], get_state, set_state, names)


def _positive(delta):
    value = delta.item() if not isinstance(delta._buf, ir.Value) else None
    if value is None:
        raise NotImplementedError("`for i in range(start, limit, delta)` in tf.function needs a constant delta")
    return value > 0


def _tensor_loop(test, counter, step, get_state, set_state, names):
    """A while_loop over (counter, the loop's state variables that are defined now)."""
    state = get_state()
    carried = [i for i, v in enumerate(state) if v is not UNDEFINED]
    initial = _tensor_state([state[i] for i in carried], [names[i] for i in carried], "a loop on a tensor")

    def unpack(values, after=False):
        full = list(get_state()) if not after else [_OneBranchOnly(n, "a loop on a tensor") for n in names]
        for i, v in zip(carried, values):
            full[i] = v
        set_state(tuple(full))

    def cond(i, *values):
        unpack(values)
        return test(i)

    def body(i, *values):
        unpack(values)
        i = step(i)
        now = get_state()
        return (i, *_tensor_state([now[k] for k in carried], [names[k] for k in carried], "a loop on a tensor"))
    start = counter if counter is not None else convert_to_tensor(0)
    final = control_flow.while_loop(cond, body, [start, *initial])
    unpack(final[1:], after=True)


class _OneBranchOnly:
    """What a name holds after an `if` (or loop) on a tensor that defined it on some paths only:
    using it is an error that says so."""

    def __init__(self, name, where):
        self._message = (f"`{name}` is defined only inside some branches of {where} in tf.function "
                         "(or only inside the loop body); define it before the statement to use it after")

    def __getattr__(self, attribute):
        raise ValueError(self.__dict__["_message"])

    def __repr__(self):
        return f"<undefined: {self._message}>"


def check_defined(value):
    """Raise the explanation when a traced function returns a name left undefined on some path."""
    if isinstance(value, _OneBranchOnly):
        raise ValueError(value.__dict__["_message"])


def _tensor_state(values, names, where):
    """The state as tensors (Python numbers converted, as TF does); anything else is an error."""
    out = []
    for name, value in zip(names, values):
        if value is UNDEFINED:
            raise ValueError(f"{where} inside tf.function: `{name}` must be defined before the statement and in "
                             "every branch, since the graph needs its value on every path")
        if isinstance(value, (bool, int, float)) or isinstance(value, Tensor):
            out.append(convert_to_tensor(value))
        elif hasattr(value, "read_value"):
            out.append(value)
        elif nest.is_nested(value) and all(isinstance(v, (Tensor, int, float, bool)) for v in nest.flatten(value)):
            out.append(nest.map_structure(convert_to_tensor, value))
        else:
            raise TypeError(f"{where} inside tf.function: `{name}` is a {type(value).__name__}, but the variables "
                            "such a statement changes must be tensors")
    return tuple(out)


def active():
    return trace.current() is not None
