"""Read a PLS-SEM model written in lavaan-style syntax, as cSEM reads it.

* ``X =~ x1 + x2`` : construct X, mode A (reflective under PLSc);
* ``X <~ x1 + x2`` : construct X, mode B (formative composite);
* ``Y ~ X + Z``    : structural paths X -> Y and Z -> Y;
* a construct whose indicators are all constructs is a higher-order construct (HOC).

The parser is local to :mod:`icaf_sem.pls` because PLS needs only these three operators
and must refuse everything else (labels, fixed values, ``~~``, ``:=``) with a clear error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import ModelSpecificationError, ModelSyntaxError

_IDENT = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_OPS = re.compile(r"(=~|<~|~~|:=|~\*~|~|==|\||<|>)")


def _statements(text: str):
    """(line number, statement) pairs; `;` and newlines end statements, a trailing + or operator continues."""
    out, buf, start = [], "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#")[0].split("!")[0].strip()
        for part in line.split(";"):
            part = part.strip()
            if not part:
                continue
            if buf and (buf.endswith("+") or buf.endswith("~") or part.startswith("+")):
                buf += " " + part
            else:
                if buf:
                    out.append((start, buf))
                buf, start = part, no
    if buf:
        out.append((start, buf))
    return out


@dataclass
class PLSSpec:
    """The parsed model: measurement blocks, modes, structural paths and higher-order constructs."""
    constructs: list = field(default_factory=list)   # every construct, in order of first mention
    blocks: dict = field(default_factory=dict)       # construct -> list of indicators (items or constructs)
    modes: dict = field(default_factory=dict)        # construct -> "A" | "B"
    paths: list = field(default_factory=list)        # (dv, iv) in the order written
    hoc: list = field(default_factory=list)          # higher-order constructs
    cache: dict = field(default_factory=dict, repr=False, compare=False)   # derived layouts and stages

    @property
    def items(self) -> list:
        if "items" not in self.cache:
            self.cache["items"] = self._items()
        return list(self.cache["items"])

    def _items(self) -> list:
        out = []
        for c in self.constructs:
            for i in self.blocks[c]:
                if i not in self.blocks and i not in out:
                    out.append(i)
        return out

    def predecessors(self, c) -> list:
        return [iv for dv, iv in self.paths if dv == c]

    @property
    def endogenous(self) -> list:
        return [c for c in self.constructs if self.predecessors(c)]


def parse_pls_model(text: str) -> PLSSpec:
    """Parse PLS model syntax (see :func:`_parse`); the result is cached and must not be modified."""
    if not isinstance(text, str):
        raise ModelSyntaxError(f"model: expected the PLS syntax as a string, got {type(text).__name__}")
    return _parse_cached(text)


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> PLSSpec:
    return _parse(text)


def _parse(text: str) -> PLSSpec:
    """Parse PLS model syntax (``=~``, ``<~``, ``~``) into a :class:`PLSSpec` and check its structure.

    Raises
    ------
    ModelSyntaxError
        An operator other than ``=~ <~ ~``, a label or fixed value, a malformed name.
    ModelSpecificationError
        A construct without indicators, an indicator in two blocks, a disconnected construct,
        a cycle among the structural paths, a higher-order construct mixing items and constructs.
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelSyntaxError("model: the PLS model syntax is empty; give lavaan-style syntax such as "
                               "'X =~ x1 + x2\\nY =~ y1 + y2\\nY ~ X'")
    spec = PLSSpec()
    for line, stmt in _statements(text):
        m = _OPS.search(stmt)
        if m is None:
            raise ModelSyntaxError(f"line {line}: no operator in `{stmt}`; PLS syntax uses =~ (mode A), "
                                   "<~ (mode B) and ~ (structural path)")
        op = m.group(1)
        if op not in ("=~", "<~", "~"):
            raise ModelSyntaxError(f"line {line}: the operator {op!r} in `{stmt}` is not part of PLS-SEM syntax; "
                                   "use =~ (mode A composite), <~ (mode B composite) and ~ (structural path)")
        lhs, rhs = stmt[: m.start()].strip(), stmt[m.end():].strip()
        if _OPS.search(rhs):
            raise ModelSyntaxError(f"line {line}: more than one operator in `{stmt}`; write one statement per line")
        lhs_all = [x.strip() for x in lhs.split("+")] if op == "~" else [lhs]   # `Y1 + Y2 ~ X`
        for extra in lhs_all[1:]:
            if not _IDENT.match(extra):
                raise ModelSyntaxError(f"line {line}: {extra!r} before '~' in `{stmt}` is not a name")
        lhs = lhs_all[0]
        if not _IDENT.match(lhs or ""):
            raise ModelSyntaxError(f"line {line}: {lhs!r} before {op!r} in `{stmt}` is not a name "
                                   "(letters, digits, '_' and '.', not starting with a digit)")
        terms = [t.strip() for t in rhs.split("+")]
        if not rhs or any(not t for t in terms):
            raise ModelSyntaxError(f"line {line}: empty term in `{stmt}`; list names separated by '+'")
        for t in terms:
            if "*" in t:
                raise ModelSyntaxError(f"line {line}: {t!r} in `{stmt}`: labels, fixed values and starting "
                                       "values (a*x) have no meaning in PLS-SEM; write the bare name")
            if not _IDENT.match(t):
                raise ModelSyntaxError(f"line {line}: {t!r} in `{stmt}` is not a variable name")
        if op in ("=~", "<~"):
            if lhs in spec.blocks:
                raise ModelSpecificationError(f"line {line}: construct {lhs!r} is measured twice; give all its "
                                              "indicators in one statement")
            if len(set(terms)) != len(terms):
                raise ModelSpecificationError(f"line {line}: an indicator is listed twice in `{stmt}`")
            if lhs in terms:
                raise ModelSyntaxError(f"line {line}: {lhs!r} cannot be an indicator of itself in `{stmt}`")
            spec.blocks[lhs] = terms
            spec.modes[lhs] = "A" if op == "=~" else "B"
            if lhs not in spec.constructs:
                spec.constructs.append(lhs)
        else:
            for dv in lhs_all:
                for t in terms:
                    if t == dv:
                        raise ModelSpecificationError(f"line {line}: {dv!r} cannot predict itself in `{stmt}`")
                    if (dv, t) not in spec.paths:
                        spec.paths.append((dv, t))
    _check(spec)
    return spec


def _check(spec: PLSSpec) -> None:
    if not spec.blocks:
        raise ModelSpecificationError("model: no measurement statement; define each construct with "
                                      "'X =~ x1 + x2' (mode A) or 'X <~ x1 + x2' (mode B)")
    for dv, iv in spec.paths:
        for c in (dv, iv):
            if c not in spec.blocks:
                raise ModelSpecificationError(
                    f"construct {c!r} (in the path {dv} ~ {iv}) has no indicators; add a measurement statement "
                    f"such as '{c} =~ item1 + item2' (a single item is fine: '{c} =~ item1')")
    # higher-order constructs
    for c in spec.constructs:
        kinds = [i in spec.blocks for i in spec.blocks[c]]
        if any(kinds) and not all(kinds):
            raise ModelSpecificationError(
                f"construct {c!r} mixes items and constructs as indicators ({' + '.join(spec.blocks[c])}); a "
                "higher-order construct takes constructs only")
        if all(kinds):
            spec.hoc.append(c)
    owner: dict = {}
    for c in spec.constructs:
        for i in spec.blocks[c]:
            if i in owner:
                what = "dimension" if i in spec.blocks else "indicator"
                raise ModelSpecificationError(
                    f"{what} {i!r} belongs to both {owner[i]!r} and {c!r}; each {what} may measure one construct "
                    "(for repeated indicators of a higher-order construct use hoc='repeated_indicators')")
            owner[i] = c
    for h in spec.hoc:
        for d in spec.blocks[h]:
            if d in spec.hoc:
                raise ModelSpecificationError(f"higher-order construct {h!r} has the higher-order construct {d!r} "
                                              "as a dimension; only second-order constructs are supported")
            if any(d in (dv, iv) for dv, iv in spec.paths):
                raise ModelSpecificationError(
                    f"{d!r} is a dimension of the higher-order construct {h!r} and also has a structural path; "
                    f"in the two-stage approach a dimension's paths go through {h!r}")
    # every construct that is not a dimension must be connected by a path
    dims = {d for h in spec.hoc for d in spec.blocks[h]}
    in_paths = {c for p in spec.paths for c in p}
    for c in spec.constructs:
        if c not in dims and c not in in_paths:
            raise ModelSpecificationError(
                f"construct {c!r} has no structural path (it is disconnected from the model); add a path such as "
                f"'Y ~ {c}' or remove its measurement statement")
    # cycles (PLS path models are recursive)
    succ = {c: [dv for dv, iv in spec.paths if iv == c] for c in spec.constructs}
    state: dict = {}

    def visit(c, stack):
        state[c] = 1
        for nxt in succ[c]:
            if state.get(nxt) == 1:
                cyc = stack[stack.index(nxt):] + [nxt] if nxt in stack else [c, nxt]
                raise ModelSpecificationError(
                    f"the structural model has a cycle ({' -> '.join(cyc)}); PLS-SEM estimates recursive models "
                    "only: remove one of these paths")
            if not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[c] = 2

    for c in spec.constructs:
        if not state.get(c):
            visit(c, [c])


def stage_one(spec: PLSSpec) -> PLSSpec:
    """Stage 1 of the disjoint two-stage approach: drop each HOC; its dimensions take over its paths."""
    if "stage1" not in spec.cache:
        spec.cache["stage1"] = _stage_one(spec)
    return spec.cache["stage1"]


def _stage_one(spec: PLSSpec) -> PLSSpec:
    s = PLSSpec()
    s.constructs = [c for c in spec.constructs if c not in spec.hoc]
    s.blocks = {c: list(spec.blocks[c]) for c in s.constructs}
    s.modes = {c: spec.modes[c] for c in s.constructs}
    for dv, iv in spec.paths:
        dvs = spec.blocks[dv] if dv in spec.hoc else [dv]
        ivs = spec.blocks[iv] if iv in spec.hoc else [iv]
        for d in dvs:
            for i in ivs:
                if (d, i) not in s.paths:
                    s.paths.append((d, i))
    return s


def stage_two(spec: PLSSpec) -> PLSSpec:
    """Stage 2: the dimensions' scores are the HOC's indicators; the dimensions leave the construct list."""
    if "stage2" not in spec.cache:
        spec.cache["stage2"] = _stage_two(spec)
    return spec.cache["stage2"]


def _stage_two(spec: PLSSpec) -> PLSSpec:
    dims = {d for h in spec.hoc for d in spec.blocks[h]}
    s = PLSSpec()
    s.constructs = [c for c in spec.constructs if c not in dims]
    s.blocks = {c: list(spec.blocks[c]) for c in s.constructs}
    s.modes = {c: spec.modes[c] for c in s.constructs}
    s.paths = list(spec.paths)
    s.hoc = list(spec.hoc)          # measured by dimension scores: composites, not corrected by PLSc
    return s


def repeated_indicators(spec: PLSSpec) -> tuple[PLSSpec, dict]:
    """The repeated-indicators approach: each HOC is measured by all its dimensions' items and predicts
    (mode A) its dimensions.  Returns the first-order spec and {column name: item} for the repeated columns."""
    s = PLSSpec()
    s.constructs = list(spec.constructs)
    s.modes = dict(spec.modes)
    s.blocks, alias = {}, {}
    for c in spec.constructs:
        if c in spec.hoc:
            cols = []
            for d in spec.blocks[c]:
                for i in spec.blocks[d]:
                    name = f"{i}@{c}"
                    alias[name] = i
                    cols.append(name)
            s.blocks[c] = cols
        else:
            s.blocks[c] = list(spec.blocks[c])
    s.paths = list(spec.paths)
    for h in spec.hoc:
        for d in spec.blocks[h]:
            s.paths.append((d, h) if spec.modes[h] == "A" else (h, d))
    return s, alias
