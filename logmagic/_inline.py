"""Write a function's calls of small helpers into it, generated from both sources.

Without the C accelerator, the direct GELF path (``logmagic.call_paths.make_gelf_line``) would
call the Python twins of its C steps (``logmagic.encode._plain``) on every record, and in
CPython a call of many arguments costs about what the work inside it costs. ``inline_calls``
rebuilds a function from its source with each statement ``x = helper(args)`` replaced by the
helper's own body, so the hot path holds no such call and both definitions stay the only ones:
the fast variant is generated from them, never written by hand, and the tests that compare
the twins with C and with the encoder cover it.

A helper may be inlined when its body (after its docstring) has one of two shapes:

* statements ending with ``return <expr>``, and no other ``return``;
* one ``try:`` whose only handler is ``except Exception: return None``, whose body ends with
  ``return <expr>`` and may ``return None`` anywhere else: that early ``return None`` becomes
  ``raise Exception`` (caught by the handler, which sets the result to None).

The helper's parameters become the call's arguments (a name or a constant as it is, anything
else or a parameter the helper assigns to through a local of its own), its locals are renamed
``_<helper>_<name>``, a module constant of the helper (``int``, ``str``, ``float``, ``bool``,
``None``) is written in as a literal, and any other name of the helper's module is handed to
the rebuilt function as a keyword-only default (``_<helper>__<name>``). A builtin the helper
uses must not be shadowed where the function lives. Anything else raises ``InlineError``, and
the caller keeps the function as it was.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import inspect
import textwrap
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["InlineError", "inline_calls"]

_CONSTANTS = (int, str, float, bool, type(None))


class InlineError(Exception):
    """A function or helper that ``inline_calls`` cannot rebuild (see the module's docstring)."""


def _function_def(fn: Callable[..., Any]) -> ast.FunctionDef:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError) as exc:
        raise InlineError(f"no source for {fn.__qualname__}: {exc}") from exc
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or node.decorator_list:
        raise InlineError(f"{fn.__qualname__} is not a plain function definition")
    return node


def _is_return_none(node: ast.stmt) -> bool:
    return isinstance(node, ast.Return) and (
        node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
    )


class _Helper:
    """A helper function read and checked once: its parameters, body shape, locals and globals."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        node = _function_def(fn)
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs:
            raise InlineError(f"{fn.__qualname__}: only plain positional parameters can be inlined")
        for sub in ast.walk(node):
            if sub is not node and isinstance(
                sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Global, ast.Nonlocal, ast.Yield)
            ):
                raise InlineError(f"{fn.__qualname__}: holds a {type(sub).__name__}")
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        self.name = fn.__name__
        self.params = [a.arg for a in args.args]
        self.guarded = len(body) == 1 and isinstance(body[0], ast.Try)
        inner = self._guarded_body(body[0]) if self.guarded else body  # type: ignore[arg-type]
        if not inner or not isinstance(inner[-1], ast.Return) or inner[-1].value is None:
            raise InlineError(f"{fn.__qualname__}: does not end with 'return <expr>'")
        for sub in ast.walk(ast.Module(body=inner[:-1], type_ignores=[])):
            if isinstance(sub, ast.Return) and not (self.guarded and _is_return_none(sub)):
                raise InlineError(f"{fn.__qualname__}: returns early other than 'return None' in its try")
        self.body = inner[:-1]
        self.result = inner[-1].value
        stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
        self.assigned_params = stored & set(self.params)
        self.locals = stored | set(self.params)
        self.globals: dict[str, Any] = fn.__globals__

    def _guarded_body(self, node: ast.Try) -> list[ast.stmt]:
        handler = node.handlers[0] if len(node.handlers) == 1 else None
        if (
            handler is None
            or not isinstance(handler.type, ast.Name)
            or handler.type.id != "Exception"
            or handler.name is not None
            or len(handler.body) != 1
            or not _is_return_none(handler.body[0])
            or node.orelse
            or node.finalbody
        ):
            raise InlineError(f"{self.name}: its try must have one handler, 'except Exception: return None'")
        return list(node.body)


class _Rename(ast.NodeTransformer):
    """The helper's names as they read inside the rebuilt function."""

    def __init__(self, helper: _Helper, args: Mapping[str, ast.expr], bound: dict[str, Any], home: Mapping[str, Any]):
        self.helper, self.args, self.bound, self.home = helper, args, bound, home

    def visit_Name(self, node: ast.Name) -> ast.expr:
        h = self.helper
        name = node.id
        if name in self.args:
            return ast.copy_location(_copy(self.args[name]), node)
        if name in h.locals:
            return ast.copy_location(ast.Name(f"_{h.name}_{name}", node.ctx), node)
        if name in h.globals:
            value = h.globals[name]
            if type(value) in _CONSTANTS:
                return ast.copy_location(ast.Constant(value), node)
            alias = f"_{h.name}__{name}"
            self.bound[alias] = value
            return ast.copy_location(ast.Name(alias, ast.Load()), node)
        if not hasattr(builtins, name) or name in self.home:
            raise InlineError(f"{h.name}: the name {name!r} means something else where it is inlined")
        return node

    def visit_Return(self, node: ast.Return) -> ast.stmt:
        # Only 'return None' is left in the body (checked): leave the try, whose handler makes it None.
        raise_ = ast.Raise(exc=ast.Name("Exception", ast.Load()), cause=None)
        return ast.copy_location(raise_, node)


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


class _Inline(ast.NodeTransformer):
    """Replaces each ``target = helper(args)`` statement by the helper's body."""

    def __init__(self, helpers: Mapping[str, _Helper], home: Mapping[str, Any]) -> None:
        self.helpers, self.home = helpers, home
        self.bound: dict[str, Any] = {}
        self.done: dict[str, int] = dict.fromkeys(helpers, 0)

    def visit_Assign(self, node: ast.Assign) -> Any:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in self.helpers):
            return self.generic_visit(node)
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            raise InlineError(f"{call.func.id}: only 'name = {call.func.id}(...)' is inlined")
        helper = self.helpers[call.func.id]
        if call.keywords or len(call.args) != len(helper.params) or any(isinstance(a, ast.Starred) for a in call.args):
            raise InlineError(f"{helper.name}: called with other arguments than its parameters")
        target = node.targets[0].id
        out: list[ast.stmt] = []
        args: dict[str, ast.expr] = {}
        for param, arg in zip(helper.params, call.args, strict=True):
            if isinstance(arg, (ast.Name, ast.Constant)) and param not in helper.assigned_params:
                args[param] = arg
            else:  # evaluated once, into a local of the helper's
                out.append(ast.Assign([ast.Name(f"_{helper.name}_{param}", ast.Store())], arg, lineno=node.lineno))
        rename = _Rename(helper, args, self.bound, self.home)
        body = [rename.visit(ast.parse(ast.unparse(stmt)).body[0]) for stmt in helper.body]
        result = ast.Assign([ast.Name(target, ast.Store())], rename.visit(_copy(helper.result)), lineno=node.lineno)
        if helper.guarded:
            none = ast.Assign([ast.Name(target, ast.Store())], ast.Constant(None), lineno=node.lineno)
            handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[none])
            out.append(ast.Try(body=[*body, result], handlers=[handler], orelse=[], finalbody=[]))
        else:
            out.extend([*body, result])
        self.done[call.func.id] += 1
        return [ast.copy_location(stmt, node) for stmt in out]


def inline_calls(fn: Callable[..., Any], helpers: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    """``fn`` rebuilt from its source with every statement ``x = name(args)`` replaced by the body
    of ``helpers[name]``, for each name. ``fn`` must be a module-level function; the result
    shares its module's globals (so a name patched there is seen), defaults and docstring.
    Raises ``InlineError`` when a source is missing or a shape is not one this module writes
    in (see the module's docstring)."""
    if not isinstance(fn, types.FunctionType):
        raise InlineError(f"no source for {fn!r}: not a Python function")
    if fn.__closure__ or "<locals>" in fn.__qualname__:
        raise InlineError(f"{fn.__qualname__}: only a module-level function can be rebuilt")
    node = _function_def(fn)
    home = fn.__globals__
    if "Exception" in home:  # the written-in try raises and catches it
        raise InlineError(f"{fn.__qualname__}: the name 'Exception' means something else in its module")
    checked = {name: _Helper(helper) for name, helper in helpers.items()}
    by_name = {h.name: h for h in checked.values()}
    if len(by_name) != len(checked):
        raise InlineError("two names for one helper")
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    used |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    for h in by_name.values():
        if any(name.startswith(f"_{h.name}_") for name in used):
            raise InlineError(f"{fn.__qualname__} already uses names of the form _{h.name}_*")
    inliner = _Inline(checked, home)
    node = inliner.visit(node)
    missing = [name for name, count in inliner.done.items() if count == 0]
    if missing:
        raise InlineError(f"{fn.__qualname__} has no statement 'x = {missing[0]}(...)'")
    for alias in inliner.bound:
        node.args.kwonlyargs.append(ast.arg(alias))
        node.args.kw_defaults.append(None)
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    code = compile(
        module,
        f"<{fn.__qualname__} with {', '.join(sorted(by_name))} inlined>",
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    fn_code = next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == fn.__name__)
    made = types.FunctionType(fn_code, home, fn.__name__, fn.__defaults__)
    made.__kwdefaults__ = {**(fn.__kwdefaults__ or {}), **inliner.bound}
    made.__doc__ = fn.__doc__
    made.__qualname__ = fn.__qualname__
    made.__module__ = fn.__module__
    return made
