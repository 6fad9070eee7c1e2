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
    """One modifier value: a number (fixed), NA (free), a label, or a string label.

    Arithmetic on numbers (``-0.5``, ``1/2``, ``2^-1``) is evaluated by :func:`safe_number`,
    a whitelist interpreter: no Python code is ever run from model text.
    """
    tok = tok.strip()
    if _NUM_RE.match(tok):
        val = float(tok)
        if not math.isfinite(val):
            raise ModelSyntaxError(f"line {line}: the value {tok[:30]!r} in `{stmt[:80]}` is not a finite number")
        return ("fixed", val)
    if tok in ("NA", "NaN"):
        return ("free", None)
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'" and not set(tok[1:-1]) & set("\"'\\"):
        return ("label", tok[1:-1])
    if _IDENT_RE.match(tok):
        return ("label", tok)
    where = f"line {line}: the modifier {tok!r} in `{stmt}`"
    hint = "; use a label (a*x), a number (1*x), NA*x to free a parameter, or start(0.5)*x"
    return ("fixed", safe_number(tok, where, hint))


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


_UNSUPPORTED_OPS = {
    "<~": "a formative composite; for composites fit PLS-SEM with icaf_sem.pls, mode B",
    "~*~": "a scaling factor of an ordered item; icaf_sem sets them by the parameterization option",
    "|": "a threshold; icaf_sem adds the thresholds of ordered items itself",
}


def _check_name(name: str, line: int, stmt: str, what: str) -> str:
    if not _IDENT_RE.match(name):
        raise ModelSyntaxError(f"line {line}: {what} {name!r} in `{stmt}` is not a valid variable name "
                               "(letters, digits, '_' and '.', not starting with a digit)")
    return name


_BLOCK_RE = re.compile(r"^\s*(level|group|class|block)\s*:(?!=)\s*(.*)$", re.I)


def _merge_modifiers(old: Modifier, new: Modifier) -> Modifier:
    """Modifiers of a term repeated in one statement combine as in lavaan: per slot, the first wins.

    ``NA*x1 + l1*x1`` frees and labels the loading; ``0.5*x + NA*x`` keeps 0.5 (the value slot
    was set first); ``a*x + b*x`` keeps ``a``.
    """
    has_value = bool(old.fixed) or bool(old.free)
    return Modifier(fixed=list(old.fixed) if has_value else list(new.fixed),
                    free=list(old.free) if has_value else list(new.free),
                    label=list(old.label) if old.label else list(new.label),
                    start=list(old.start) if old.start else list(new.start))


def parse_model(text: str) -> list[Statement]:
    """Parse lavaan model syntax into :class:`Statement` objects (one per lhs-op-rhs term).

    A term repeated within one statement (``f =~ NA*x1 + l1*x1``) is one parameter whose
    modifiers combine (freed and labelled); the same element in two statements is an error, as
    in lavaan ("duplicate model element").  Block lines (``level: 1``, ``group: A``) are refused:
    multilevel models and per-group syntax blocks are not supported.

    Raises
    ------
    ModelSyntaxError
        With the line number and the offending token.
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelSyntaxError("the model syntax is empty; give lavaan syntax such as 'f =~ x1 + x2 + x3'")
    if "\x00" in text:
        raise ModelSyntaxError("the model syntax contains a NUL character; is it a binary file? "
                               "give lavaan syntax as text")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        b = _BLOCK_RE.match(_strip_comment(raw))
        if b:
            kind = b.group(1).lower()
            if kind == "level":
                raise ModelSyntaxError(
                    f"line {lineno}: `{raw.strip()}` starts a level block of a multilevel model; multilevel "
                    "models (level: 1 / level: 2) are not supported by icaf_sem: fit a single-level model "
                    "or use lavaan for multilevel SEM")
            raise ModelSyntaxError(
                f"line {lineno}: `{raw.strip()}` starts a {kind} block; {kind} blocks in the syntax are not "
                "supported: write one model and pass group= (CLI --group) with c(...) modifiers instead")
    out: list[Statement] = []
    where_defined: dict = {}
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
            parse_expression(rhs, f"line {line}")       # refuse anything but arithmetic on labels now
            out.append(Statement(lhs, op, "", line, expr=rhs))
            continue
        if op in ("==", "<", ">"):
            if not lhs or not rhs:
                raise ModelSyntaxError(f"line {line}: the constraint `{stmt}` needs an expression on both sides")
            parse_expression(lhs, f"line {line}")
            parse_expression(rhs, f"line {line}")
            out.append(Statement(lhs, op, rhs, line, expr=rhs))
            continue
        if op in _UNSUPPORTED_OPS:
            raise ModelSyntaxError(f"line {line}: the operator {op!r} in `{stmt}` ({_UNSUPPORTED_OPS[op]}) "
                                   "is not supported by icaf_sem; use =~, ~, ~~, ~1, :=, == and < / > only")
        if re.match(r"\s*efa\s*\(", lhs):
            raise ModelSyntaxError(f"line {line}: `{stmt}` is an exploratory SEM block (lavaan's efa()), which "
                                   "icaf_sem does not fit; write a confirmatory model with =~ (cross-loadings "
                                   "may be added as extra =~ terms)")
        if not lhs:
            raise ModelSyntaxError(f"line {line}: `{stmt}` has nothing before {op!r}")
        if not rhs:
            raise ModelSyntaxError(f"line {line}: `{stmt}` has nothing after {op!r}")
        lhs_names = [x.strip() for x in lhs.split("+")]
        for ln in lhs_names:
            _check_name(ln, line, stmt, "the left-hand side")
        in_this: dict = {}
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
                key = (ln, this_op, var)
                if key in in_this:                       # repeated in this statement: combine
                    st = out[in_this[key]]
                    st.modifier = _merge_modifiers(st.modifier, mod)
                    continue
                sym = (var, this_op, ln) if this_op == "~~" else key
                prev = where_defined.get(key, where_defined.get(sym))
                if prev is not None:
                    elem = f"{ln} {this_op.replace('~1', '~ 1')} {var}".strip()
                    raise ModelSyntaxError(
                        f"line {line}: duplicate model element `{elem}` (already on line {prev}); "
                        "write each parameter once and put all its modifiers there (e.g. NA*x1 + l1*x1)")
                where_defined[key] = line
                in_this[key] = len(out)
                out.append(Statement(ln, this_op, var, line, modifier=mod))
    if out and not any(s.op in ("=~", "~", "~~", "~1") for s in out):
        ops = sorted({s.op for s in out})
        raise ModelSyntaxError(
            f"the model has only {' and '.join(ops)} lines and no parameters to estimate; add the measurement "
            "(f =~ x1 + x2 + x3) and regression (y ~ a*x) lines whose labels those lines use")
    return out


# --------------------------------------------------------------------------- safe expressions
# Model text is never given to eval/compile.  Expressions (:= right-hand sides, constraints and
# arithmetic in modifiers) are parsed with ast.parse and interpreted by the small functions below,
# which know only numbers, labels, + - * / ^ (**), unary minus and a fixed set of functions.
_MAX_EXPR_LEN = 5000
_MAX_DEPTH = 60


def _pnorm(x):
    from scipy.special import ndtr
    return ndtr(x)


def _funcs():
    import numpy as np
    return {"sqrt": (np.sqrt, 1), "exp": (np.exp, 1), "log": (np.log, 1), "abs": (np.abs, 1),
            "sin": (np.sin, 1), "cos": (np.cos, 1), "tan": (np.tan, 1), "pnorm": (_pnorm, 1),
            "log10": (np.log10, 1), "log2": (np.log2, 1)}


_FUNC_NAMES = ("sqrt", "exp", "log", "abs", "sin", "cos", "tan", "pnorm", "log10", "log2")
_TOKEN_RE = re.compile(r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<id>[A-Za-z_.][A-Za-z0-9_.]*)")
_HINT = "use labels, numbers, + - * / ^ and the functions " + ", ".join(_FUNC_NAMES)


def _to_python(expr: str) -> tuple[str, dict]:
    """Rewrite R arithmetic as Python syntax: ``^`` -> ``**``; labels with dots get plain aliases."""
    alias: dict = {}
    parts, pos = [], 0
    for m in _TOKEN_RE.finditer(expr):
        parts.append(expr[pos:m.start()])
        tok = m.group(0)
        if m.group("id") and ("." in tok or tok.startswith("_")):
            al = alias.setdefault(tok, f"L{len(alias)}_{'x' * 3}")
            parts.append(al)
        else:
            parts.append(tok)
        pos = m.end()
    parts.append(expr[pos:])
    return "".join(parts).replace("^", "**"), {v: k for k, v in alias.items()}


def parse_expression(expr: str, where: str):
    """Parse an arithmetic expression into a checked AST; refuse anything else.

    Returns ``(tree, alias)`` where ``alias`` maps internal names back to labels.

    Raises
    ------
    ModelSyntaxError
        Naming ``where`` (e.g. ``line 4``) and the token that is not allowed.
    """
    import ast
    if not isinstance(expr, str) or not expr.strip():
        raise ModelSyntaxError(f"{where}: empty expression; {_HINT}")
    if len(expr) > _MAX_EXPR_LEN:
        raise ModelSyntaxError(f"{where}: the expression is {len(expr)} characters long (at most "
                               f"{_MAX_EXPR_LEN}); split it into several := lines")
    src, alias = _to_python(expr.strip())
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        near = ""
        if exc.offset:
            near = src[max(0, exc.offset - 1):exc.offset + 11]
            for k, v in alias.items():
                near = near.replace(k, v)
            near = f" (at {near!r})"
        raise ModelSyntaxError(f"{where}: cannot read the expression {expr!r}{near}; {_HINT}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ModelSyntaxError(f"{where}: cannot read the expression {expr!r}; {_HINT}") from None

    def tok(node) -> str:
        seg = ast.get_source_segment(src, node) or type(node).__name__
        for k, v in alias.items():
            seg = seg.replace(k, v)
        return seg if len(seg) <= 60 else seg[:57] + "..."

    def check(node, depth):
        if depth > _MAX_DEPTH:
            raise ModelSyntaxError(f"{where}: the expression {expr[:60]!r} is nested too deeply; simplify it")
        if isinstance(node, ast.Expression):
            return check(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ModelSyntaxError(f"{where}: {tok(node)!r} in {expr!r} is not a number or a label; {_HINT}")
            return
        if isinstance(node, ast.Name):
            if node.id in _FUNC_NAMES:
                raise ModelSyntaxError(f"{where}: {node.id!r} in {expr!r} is a function; call it as {node.id}(...)")
            return
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
                raise ModelSyntaxError(f"{where}: the operator in {tok(node)!r} is not allowed; {_HINT}")
            check(node.left, depth + 1)
            check(node.right, depth + 1)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ModelSyntaxError(f"{where}: the operator in {tok(node)!r} is not allowed; {_HINT}")
            check(node.operand, depth + 1)
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNC_NAMES:
                raise ModelSyntaxError(f"{where}: {tok(node.func)!r} in {expr!r} is not an allowed function; "
                                       f"{_HINT}")
            if node.keywords or len(node.args) != 1 or any(isinstance(a, ast.Starred) for a in node.args):
                raise ModelSyntaxError(f"{where}: {tok(node)!r} must have exactly one argument")
            check(node.args[0], depth + 1)
            return
        raise ModelSyntaxError(f"{where}: {tok(node)!r} in {expr!r} is not allowed (only arithmetic); {_HINT}")

    check(tree, 0)
    return tree, alias


def _names(tree) -> set:
    import ast
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs}


def _power(a, b):
    import numpy as np
    return np.power(np.asarray(a, dtype=float), b) if np.ndim(a) or np.ndim(b) else float(np.power(float(a), float(b)))


def _build(node, funcs):
    """A checked AST -> a Python closure computing it from a name -> value mapping (numpy aware)."""
    import ast
    import operator
    if isinstance(node, ast.Expression):
        return _build(node.body, funcs)
    if isinstance(node, ast.Constant):
        try:
            c = float(node.value)
        except OverflowError:
            raise ModelSyntaxError(f"the number {str(node.value)[:20]}... is too large") from None
        return lambda env: c
    if isinstance(node, ast.Name):
        name = node.id
        return lambda env: env[name]
    if isinstance(node, ast.BinOp):
        op = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.Pow: _power}[type(node.op)]
        a, b = _build(node.left, funcs), _build(node.right, funcs)
        return lambda env: op(a(env), b(env))
    if isinstance(node, ast.UnaryOp):
        a = _build(node.operand, funcs)
        if isinstance(node.op, ast.USub):
            return lambda env: -a(env)
        return a
    if isinstance(node, ast.Call):
        f = funcs[node.func.id][0]
        a = _build(node.args[0], funcs)
        return lambda env: f(a(env))
    raise ModelSyntaxError(f"internal: unexpected {type(node).__name__}")  # pragma: no cover (checked before)


def safe_number(text: str, where: str, hint: str = "") -> float:
    """Evaluate arithmetic on numbers only (``-0.5``, ``1/2``, ``2^-1``, ``sqrt(2)``), never code."""
    import numpy as np
    tree, alias = parse_expression(text, where)
    names = _names(tree)
    if names:
        bad = sorted(alias.get(n, n) for n in names)
        raise ModelSyntaxError(f"{where} uses {', '.join(map(repr, bad))}, which is not a number here{hint}")
    with np.errstate(all="ignore"):
        try:
            val = float(_build(tree, _funcs())({}))
        except (ArithmeticError, ValueError, TypeError):
            val = float("nan")
    if not np.isfinite(val):
        raise ModelSyntaxError(f"{where} is not a finite number{hint}")
    return val


def compile_expression(expr: str, known: set[str], where: str):
    """Compile a ``:=`` or ``==`` right-hand side into a function of a name->value mapping.

    The expression is checked against a whitelist (numbers, labels, + - * / ^, unary minus and
    sqrt/exp/log/abs/...) and interpreted without ``eval``.  Values may be floats or numpy arrays.

    Returns ``(func, names)`` where ``names`` are the labels the expression uses.
    """
    import numpy as np
    tree, alias = parse_expression(expr, where)
    inner = _names(tree)
    names = {alias.get(n, n) for n in inner}
    unknown = sorted(names - set(known))
    if unknown:
        raise ModelSyntaxError(f"{where}: {expr!r} uses {', '.join(map(repr, unknown))}, which is not a "
                               "parameter label; label the parameter in the model (e.g. a*x) first")
    body = _build(tree, _funcs())
    rename = {k: v for k, v in alias.items()}

    def func(values: dict):
        env = {n: values[rename.get(n, n)] for n in inner}
        with np.errstate(all="ignore"):
            try:
                return body(env)
            except ZeroDivisionError:
                return float("nan")
            except OverflowError:
                return float("inf")
    return func, sorted(names)
