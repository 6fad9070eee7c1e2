"""lavaan model syntax -> a list of parsed statements.

Supported: ``=~`` (measurement), ``~`` (regression), ``~~`` (variance and
covariance), ``~ 1`` (intercepts), ``:=`` (defined parameters), ``==``
(equality between labels), comments (``#`` and ``!``), statements split over
several lines or joined with ``;``, and per-term modifiers ``label*x``,
``1*x`` (fixed), ``NA*x`` (free), ``start(0.5)*x``, ``c(a, b)*x`` /
``c(1, NA)*x`` (per group) and ``equal("a")*x``.

Examples
--------
>>> stmts = parse_model("visual =~ x1 + a*x2 + a*x3\\nindirect := a*2")
>>> [(s.lhs, s.op, s.rhs, s.label) for s in stmts if s.op == "=~"]
[('visual', '=~', 'x1', None), ('visual', '=~', 'x2', 'a'), ('visual', '=~', 'x3', 'a')]

This is the parser behind ``lavaan::lavaanify(model)``.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

from ..errors import ModelSyntaxError

OPERATORS = ("=~", "~~", ":=", "==", "<~", "~*~", "~", "|", "<", ">")
_OP_RE = re.compile(r"(=~|~~|:=|==|<~|~\*~|~|\||<|>)")
_IDENT = r"[A-Za-z_.][A-Za-z0-9_.]*"
_IDENT_RE = re.compile(rf"^{_IDENT}$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class Modifier:
    """What a ``something*`` prefix says about one term, per group (None = unspecified)."""
    fixed: list = field(default_factory=list)   # float or None per group (or single entry)
    free: list = field(default_factory=list)    # True where NA* was given
    label: list = field(default_factory=list)   # str or None
    start: list = field(default_factory=list)   # float or None


@dataclass
class Statement:
    lhs: str
    op: str
    rhs: str
    line: int
    modifier: Modifier = field(default_factory=Modifier)
    expr: str | None = None     # for := and ==

    @property
    def label(self) -> str | None:
        labs = [l for l in self.modifier.label if l]
        return labs[0] if labs else None


def _strip_comment(line: str) -> str:
    if "'" not in line and '"' not in line:          # no quoted labels: the first # or ! starts a comment
        cut = min((i for i in (line.find("#"), line.find("!")) if i >= 0), default=len(line))
        return line[:cut]
    out, quote = [], None
    for ch in line:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch in "#!":
            break
        else:
            out.append(ch)
    return "".join(out)


def _logical_statements(text: str) -> list[tuple[int, str]]:
    """Join physical lines into statements, as lavaan does.

    A line without an operator, or one starting with ``+``/``*``, continues the
    previous statement; so does any line after one ending in an operator or
    ``+``/``*``.
    """
    stmts: list[list] = []
    pending = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        for piece in _strip_comment(raw).split(";"):
            piece = piece.strip()
            if not piece:
                continue
            has_op = bool(_OP_RE.search(piece))
            starts_cont = piece[0] in "+*"
            if stmts and (pending or starts_cont or not has_op):
                stmts[-1][1] += " " + piece
            else:
                stmts.append([lineno, piece])
            pending = piece[-1] in "+*" or any(piece.endswith(o) for o in OPERATORS)
    return [(ln, s) for ln, s in stmts]


def _split_top(s: str, sep: str) -> list[str]:
    if "(" not in s and "[" not in s:                 # nothing nested: a plain split
        return s.split(sep)
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _parse_value(tok: str, line: int, stmt: str):
    """One modifier value: a number (fixed), NA (free), a label, or a string label."""
    tok = tok.strip()
    if _NUM_RE.match(tok):
        return ("fixed", float(tok))
    if tok in ("NA", "NaN"):
        return ("free", None)
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'":
        return ("label", tok[1:-1])
    if _IDENT_RE.match(tok):
        return ("label", tok)
    try:  # simple arithmetic such as 1/2 or -0.5
        val = float(eval(compile(ast.parse(tok, mode="eval"), "<m>", "eval"), {"__builtins__": {}}, {}))
        return ("fixed", val)
    except Exception:
        raise ModelSyntaxError(
            f"line {line}: cannot read the modifier {tok!r} in `{stmt}`; use a label (a*x), "
            "a number (1*x), NA*x to free a parameter, or start(0.5)*x") from None


def _parse_modifier(mods: list[str], line: int, stmt: str) -> Modifier:
    m = Modifier()
    for mod in mods:
        mod = mod.strip()
        fn = re.match(r"^(start|equal|label|c)\s*\((.*)\)$", mod, flags=re.S)
        if fn:
            name, inner = fn.group(1), fn.group(2)
            vals = [_parse_value(v, line, stmt) for v in _split_top(inner, ",")] if inner.strip() else []
            if name == "start":
                m.start = [v[1] for v in vals]
                continue
            if name in ("equal", "label"):
                m.label = [v[1] for v in vals]
                continue
        else:
            vals = [_parse_value(mod, line, stmt)]
        kinds = {k for k, _ in vals}
        if kinds <= {"label"}:
            m.label = [v for _, v in vals]
        else:
            m.fixed = [v if k == "fixed" else None for k, v in vals]
            m.free = [k == "free" for k, _ in vals]
            if "label" in kinds:
                m.label = [v if k == "label" else None for k, v in vals]
    return m


def _check_name(name: str, line: int, stmt: str, what: str) -> str:
    if not _IDENT_RE.match(name):
        raise ModelSyntaxError(f"line {line}: {what} {name!r} in `{stmt}` is not a valid variable name "
                               "(letters, digits, '_' and '.', not starting with a digit)")
    return name


def parse_model(text: str) -> list[Statement]:
    """Parse lavaan model syntax into :class:`Statement` objects (one per lhs-op-rhs term).

    Raises
    ------
    ModelSyntaxError
        With the line number and the offending token.
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelSyntaxError("the model syntax is empty; give lavaan syntax such as 'f =~ x1 + x2 + x3'")
    out: list[Statement] = []
    for line, stmt in _logical_statements(text):
        m = _OP_RE.search(stmt)
        if m is None:
            raise ModelSyntaxError(f"line {line}: no operator in `{stmt}`; expected one of =~ ~ ~~ := ==")
        op = m.group(1)
        lhs, rhs = stmt[: m.start()].strip(), stmt[m.end():].strip()
        if op == ":=":
            _check_name(lhs, line, stmt, "the defined parameter")
            if not rhs:
                raise ModelSyntaxError(f"line {line}: `{stmt}` has nothing after ':='")
            out.append(Statement(lhs, op, "", line, expr=rhs))
            continue
        if op in ("==", "<", ">"):
            out.append(Statement(lhs, op, rhs, line, expr=rhs))
            continue
        if op in ("<~", "~*~", "|"):
            raise ModelSyntaxError(f"line {line}: the operator {op!r} in `{stmt}` is not supported by icaf_sem; "
                                   "use =~, ~, ~~, ~1 and := only")
        if not lhs:
            raise ModelSyntaxError(f"line {line}: `{stmt}` has nothing before {op!r}")
        if not rhs:
            raise ModelSyntaxError(f"line {line}: `{stmt}` has nothing after {op!r}")
        lhs_names = [x.strip() for x in lhs.split("+")]
        for ln in lhs_names:
            _check_name(ln, line, stmt, "the left-hand side")
        for term in _split_top(rhs, "+"):
            term = term.strip()
            if not term:
                raise ModelSyntaxError(f"line {line}: empty term in `{stmt}` (a stray '+'?)")
            pieces = [p.strip() for p in _split_top(term, "*")]
            # lavaan also accepts `value?x` for starting values
            if "?" in pieces[-1]:
                sv, var = pieces[-1].split("?", 1)
                pieces = pieces[:-1] + [f"start({sv})", var.strip()]
            var, mods = pieces[-1], pieces[:-1]
            if any(not p for p in pieces):
                raise ModelSyntaxError(f"line {line}: cannot read the term {term!r} in `{stmt}`")
            mod = _parse_modifier(mods, line, stmt)
            this_op = op
            if op == "~" and _NUM_RE.match(var) and float(var) == 1.0:
                this_op, var = "~1", ""
            elif _NUM_RE.match(var):
                raise ModelSyntaxError(f"line {line}: {var!r} in `{stmt}` is a number where a variable name "
                                       "is expected; write a fixed value as 1*x")
            else:
                _check_name(var, line, stmt, "the variable")
            for ln in lhs_names:
                if this_op == "=~" and ln == var:
                    raise ModelSyntaxError(f"line {line}: {ln!r} cannot be an indicator of itself in `{stmt}`")
                out.append(Statement(ln, this_op, var, line, modifier=mod))
    return out


# --------------------------------------------------------------------------- defined parameters
_ALLOWED_FUNCS = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "abs": abs,
                  "sin": math.sin, "cos": math.cos, "tan": math.tan, "pnorm": None}
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant, ast.Call,
                  ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def compile_expression(expr: str, known: set[str], where: str):
    """Compile a ``:=`` or ``==`` right-hand side into a function of a name->value mapping.

    Returns ``(func, names)`` where ``names`` are the labels the expression uses.
    """
    src = expr.replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise ModelSyntaxError(f"{where}: cannot read the expression {expr!r}; use labels, numbers, "
                               "+ - * / ^ and sqrt/exp/log/abs") from None
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ModelSyntaxError(f"{where}: {expr!r} uses {type(node).__name__}, which is not allowed "
                                   "in a defined parameter; use + - * / ^ and sqrt/exp/log/abs")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _ALLOWED_FUNCS:
                raise ModelSyntaxError(f"{where}: unknown function in {expr!r}; allowed: sqrt, exp, log, abs")
        elif isinstance(node, ast.Name) and node.id not in _ALLOWED_FUNCS:
            names.add(node.id)
    unknown = sorted(names - known)
    if unknown:
        raise ModelSyntaxError(f"{where}: {expr!r} uses {', '.join(map(repr, unknown))}, which is not a "
                               "parameter label; label the parameter in the model (e.g. a*x) first")
    code = compile(tree, "<defined>", "eval")
    import numpy as np
    env = {"sqrt": np.sqrt, "exp": np.exp, "log": np.log, "abs": np.abs, "sin": np.sin, "cos": np.cos,
           "tan": np.tan, "__builtins__": {}}

    def func(values: dict):
        return eval(code, env, values)
    return func, sorted(names)
