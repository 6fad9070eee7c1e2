"""A survey instrument described in YAML, validated, and turned into lavaan syntax.

A questionnaire file says everything the pipeline needs to know about an
instrument: the constructs and their items (with wording in every language the
file declares), second-order constructs, the answer scale and its labels, the
missing-value codes, reverse-keyed items, attention checks, the metadata
columns of a survey export, an optional column-rename map, the cleaning rules
and the hypotheses.  ``questionnaires/icaf.yaml`` is the ICAF instrument;
another instrument is just another file with the same keys.

>>> from icaf_sem import load_questionnaire
>>> q = load_questionnaire("questionnaires/icaf.yaml")
>>> print(q.cfa_syntax())            # doctest: +SKIP
BC =~ bc1 + bc2 + bc3
...
>>> q.model_syntax()                 # the full SEM, with labels and := effects  # doctest: +SKIP

Every schema problem raises :class:`~icaf_sem.errors.QuestionnaireError`
naming the file, the place in it (``hypotheses[3].path``) and the fix.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import QuestionnaireError

__all__ = [
    "Questionnaire", "Hypothesis", "CleaningRules", "load_questionnaire",
    "builtin_questionnaire_path",
]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
_SIGNS = {"+": "+", "positive": "+", "pos": "+", "-": "-", "\u2212": "-", "negative": "-", "neg": "-",
          "0": "0", "none": "0", "?": "0", "any": "0", "two-sided": "0"}


# --------------------------------------------------------------------------- schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScaleSpec(_Strict):
    min: int
    max: int
    labels: dict[int, dict[str, str]] = Field(default_factory=dict)


class MetadataSpec(_Strict):
    kind: Literal["id", "category", "duration", "numeric", "text"] = "text"
    values: Optional[list[str]] = None
    value_labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    unit: Optional[str] = None
    label: dict[str, str] = Field(default_factory=dict)


class SubdimensionSpec(_Strict):
    name: dict[str, str] = Field(default_factory=dict)
    items: list[str]


class ConstructSpec(_Strict):
    name: dict[str, str] = Field(default_factory=dict)
    source: Optional[str] = None
    definition: dict[str, str] = Field(default_factory=dict)
    items: dict[str, dict[str, str]]
    subdimensions: dict[str, SubdimensionSpec] = Field(default_factory=dict)


class HigherOrderSpec(_Strict):
    name: dict[str, str] = Field(default_factory=dict)
    definition: dict[str, str] = Field(default_factory=dict)
    components: list[str]


class AttentionSpec(_Strict):
    item: str
    correct: Union[float, list[float]]
    wording: dict[str, str] = Field(default_factory=dict)


class CleaningRules(_Strict):
    """Cleaning rules and their defaults (the ``cleaning:`` block of a questionnaire).

    Parameters
    ----------
    drop_exact_duplicates : bool, default True
        Identical submissions (every column equal): keep the first, record the copies.
    conflicting_ids : {"flag", "drop", "keep_first"}, default "flag"
        Rows sharing a respondent id but differing in their answers.
    straightline : bool, default True
    straightline_run : int or None, default None
        A respondent whose longest run of identical consecutive answers reaches this
        length is a straight-liner; ``None`` means all answered items identical.
    straightline_min_answered : float, default 0.5
        Share of the items that must be answered before straight-lining is judged.
    speeders : bool, default True
    speeder_fraction : float, default 0.4
        Faster than ``speeder_fraction`` times the median duration is a speeder.
    attention : bool, default True
    attention_missing : {"fail", "pass"}, default "fail"
        How an unanswered attention item counts.
    outliers : {"flag", "drop", "off"}, default "flag"
        Mahalanobis multivariate outliers (chi-square p < ``outlier_alpha``).
    outlier_alpha : float, default 0.001
    empty_items : {"warn", "error"}, default "warn"
        An item with no valid answer at all.
    """

    drop_exact_duplicates: bool = True
    conflicting_ids: Literal["flag", "drop", "keep_first"] = "flag"
    straightline: bool = True
    straightline_run: Optional[int] = Field(default=None, ge=2)
    straightline_min_answered: float = Field(default=0.5, gt=0, le=1)
    speeders: bool = True
    speeder_fraction: float = Field(default=0.4, gt=0, lt=1)
    attention: bool = True
    attention_missing: Literal["fail", "pass"] = "fail"
    outliers: Literal["flag", "drop", "off"] = "flag"
    outlier_alpha: float = Field(default=0.001, gt=0, lt=1)
    empty_items: Literal["warn", "error"] = "warn"


class HypothesisSpec(_Strict):
    id: str
    path: str
    expected_sign: str
    label: Optional[str] = None
    description: dict[str, str] = Field(default_factory=dict)


class NecessityHypothesisSpec(_Strict):
    """One necessity hypothesis: ``condition`` is necessary for ``outcome`` at ``level``."""

    id: str
    condition: str
    outcome: str
    level: float = Field(default=100.0, ge=0, le=100)   # outcome level, % of its observed range
    description: dict[str, str] = Field(default_factory=dict)


class NecessitySpec(_Strict):
    """The ``necessity:`` block: necessity hypotheses tested with NCA (:mod:`icaf_sem.nca`).

    ``ceiling`` decides the verdict (CE-FDH suits discrete scores such as item means),
    ``d_min`` is the smallest effect size that counts (Dul 2016: .1), ``alpha`` the level of
    the permutation test (default: the analysis' alpha), ``permutations`` and ``seed`` the test.
    ``cipma_level`` is the target level (0-100 rescaled scores) of the combined importance-performance
    map analysis that ``analyze`` adds for each outcome (:mod:`icaf_sem.cipma`); null turns it off.
    """

    ceiling: Literal["ce_fdh", "cr_fdh"] = "ce_fdh"
    d_min: float = Field(default=0.1, gt=0, lt=1)
    alpha: Optional[float] = Field(default=None, gt=0, lt=1)
    permutations: int = Field(default=10000, ge=0)
    seed: Optional[int] = None
    cipma_level: Optional[float] = Field(default=85.0, ge=0, le=100)   # cIPMA target level (0-100); null = no cIPMA
    hypotheses: list[NecessityHypothesisSpec] = Field(default_factory=list)


class EffectsSpec(_Strict):
    totals: bool = True


class CompetingModelSpec(_Strict):
    """One alternative structural model (the ``competing_models:`` block), compared with the
    hypothesised model by :mod:`icaf_sem.comparison`.

    ``name`` is its key; ``label`` its name per language; the structure is given either as
    ``paths`` (a list of lavaan lines, ``"PW ~ CR + DC"``, ``"EB ~~ PR"``) or as one lavaan
    ``syntax`` string, both with ``~`` and ``~~`` among the constructs only.  The measurement
    part is always the questionnaire's, so every model explains the same items.
    """

    name: str
    label: dict[str, str] = Field(default_factory=dict)
    description: dict[str, str] = Field(default_factory=dict)
    paths: Optional[list[str]] = None
    syntax: Optional[str] = None


class QuestionnaireSpec(_Strict):
    name: str
    title: dict[str, str] = Field(default_factory=dict)   # the report's title per language (default: name)
    version: Optional[Union[str, int, float]] = None
    languages: list[str] = Field(default_factory=lambda: ["en"])
    description: dict[str, str] = Field(default_factory=dict)
    scale: ScaleSpec
    missing_codes: list[float] = Field(default_factory=lambda: [99.0, -9.0])
    metadata: dict[str, MetadataSpec] = Field(default_factory=dict)
    rename: dict[str, str] = Field(default_factory=dict)
    reverse_keyed: list[str] = Field(default_factory=list)
    attention_checks: list[AttentionSpec] = Field(default_factory=list)
    constructs: dict[str, ConstructSpec]
    higher_order: dict[str, HigherOrderSpec] = Field(default_factory=dict)
    cleaning: CleaningRules = Field(default_factory=CleaningRules)
    hypotheses: list[HypothesisSpec] = Field(default_factory=list)
    effects: EffectsSpec = Field(default_factory=EffectsSpec)
    necessity: NecessitySpec = Field(default_factory=NecessitySpec)
    competing_models: list[CompetingModelSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- helpers
def _place(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _pydantic_problems(exc: ValidationError, model=QuestionnaireSpec) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p not in ("function-after", "union")]
        place = _place(loc)
        typ = err["type"]
        got = err.get("input")
        if typ == "missing":
            fix = f"add the key '{loc[-1]}'"
            msg = "required key is missing"
        elif typ == "extra_forbidden":
            fix = "remove it or correct its spelling"
            msg = f"unknown key '{loc[-1]}'"
        elif typ == "literal_error":
            msg = f"value {got!r} is not allowed"
            fix = err["msg"].replace("Input should be", "use")
        else:
            msg = f"{err['msg'].lower()} (got {got!r})" if not isinstance(got, (dict, list)) else err["msg"].lower()
            fix = "correct the value"
        problems.append(f"{place}: {msg}; fix: {fix}")
    return problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise QuestionnaireError(
                f"key {key!r} appears twice in one mapping (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                "fix: keep one of them (YAML would silently drop the first)")
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _sign(value: str) -> Optional[str]:
    return _SIGNS.get(str(value).strip().lower())


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of a questionnaire.

    Attributes
    ----------
    id : str
        The hypothesis id (``H1a``).
    kind : {"path", "covariance", "mediation"}
    lhs, op, rhs : str
        The parameter it is about, as in a lavaan parameter table: ``EB ~ CR`` is
        ``lhs="EB", op="~", rhs="CR"``; a mediation is the defined parameter
        ``lhs="ind_cr_eb", op=":=", rhs="b_eb_cr*b_pw_eb"``.
    label : str or None
        The lavaan label of the path (``b_eb_cr``) or the name of the defined
        parameter (``ind_cr_eb``); ``None`` for an unlabelled covariance.
    expected_sign : {"+", "-", "0"}
        ``"0"`` means no direction is predicted (two-sided).
    path : str
        The path as written in the file (``CR -> EB -> PW`` for a mediation).
    chain : tuple of str
        The constructs along the path: ``("CR", "EB")`` for ``EB ~ CR``,
        ``("CR", "EB", "PW")`` for the mediation, ``("CR", "DC")`` for ``CR ~~ DC``.
    """

    id: str
    kind: str
    lhs: str
    op: str
    rhs: str
    label: Optional[str]
    expected_sign: str
    path: str
    chain: tuple = ()
    description: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def sign(self) -> int:
        """+1, -1 or 0 for the expected sign."""
        return {"+": 1, "-": -1}.get(self.expected_sign, 0)


# --------------------------------------------------------------------------- the questionnaire
class Questionnaire:
    """A validated survey instrument.

    Build it with :func:`load_questionnaire` (from YAML) or
    :meth:`Questionnaire.from_dict`.  It is read-only: every attribute is derived
    from the validated file.

    Attributes
    ----------
    name : str
    source : str
        The file it came from (or ``"<dict>"``).
    constructs : dict of str to list of str
        First-order constructs and their items, in file order.
    higher_order : dict of str to list of str
        Second-order constructs and their first-order components.
    items : list of str
        Every item of every construct, in file order.
    reverse_keyed : list of str
    scale_min, scale_max : int
    missing_codes : list of float
    attention_checks : list of (item, tuple of correct values)
    metadata : dict
        Metadata columns and their specification (kind, values ...).
    id_column, duration_column : str or None
    rename : dict of str to str
    cleaning : CleaningRules
    hypotheses : list of Hypothesis
    """

    def __init__(self, spec: QuestionnaireSpec, source: str = "<dict>"):
        self.spec = spec
        self.source = source
        self.name = spec.name
        self.languages = list(spec.languages)
        self.constructs = {c: list(s.items) for c, s in spec.constructs.items()}
        self.higher_order = {c: list(s.components) for c, s in spec.higher_order.items()}
        self.items = [i for its in self.constructs.values() for i in its]
        self.item_construct = {i: c for c, its in self.constructs.items() for i in its}
        self.reverse_keyed = list(spec.reverse_keyed)
        self.scale_min = spec.scale.min
        self.scale_max = spec.scale.max
        self.scale_labels = {int(k): dict(v) for k, v in spec.scale.labels.items()}
        self.missing_codes = [float(x) for x in spec.missing_codes]
        self.attention_checks = [
            (a.item, tuple(float(v) for v in (a.correct if isinstance(a.correct, list) else [a.correct])))
            for a in spec.attention_checks]
        self.metadata = {k: v.model_dump() for k, v in spec.metadata.items()}
        kinds = {v.kind: k for k, v in spec.metadata.items()}
        self.id_column = kinds.get("id")
        self.duration_column = kinds.get("duration")
        self.rename = dict(spec.rename)
        self.cleaning = spec.cleaning
        self.hypotheses = self._build_hypotheses()
        self.necessity = spec.necessity      # NecessitySpec: necessity hypotheses for NCA
        self.competing_models = list(spec.competing_models)   # declared alternative structural models

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "Questionnaire":
        """Validate a questionnaire given as a dict (the parsed YAML)."""
        if not isinstance(data, dict):
            raise QuestionnaireError(
                f"{source}: the questionnaire must be a mapping of keys (name, scale, constructs, ...), "
                f"got {type(data).__name__}; fix: start from questionnaires/icaf.yaml")
        try:
            spec = QuestionnaireSpec.model_validate(data)
        except ValidationError as exc:
            problems = _pydantic_problems(exc)
            raise _error(source, problems) from None
        problems = _semantic_problems(spec)
        if problems:
            raise _error(source, problems)
        return cls(spec, source)

    def _build_hypotheses(self) -> list[Hypothesis]:
        out = []
        reg_label = {}
        for h in self.spec.hypotheses:
            kind, chain = _parse_path(h.path)
            if kind == "path":
                x, y = chain
                label = h.label or _default_label(y, x)
                reg_label[(y, x)] = label
                out.append(Hypothesis(h.id, "path", y, "~", x, label, _sign(h.expected_sign), h.path.strip(),
                                      chain, dict(h.description)))
            elif kind == "covariance":
                a, b = chain
                out.append(Hypothesis(h.id, "covariance", a, "~~", b, h.label, _sign(h.expected_sign),
                                      h.path.strip(), chain, dict(h.description)))
        names = _mediation_names([(h, _parse_path(h.path)[1]) for h in self.spec.hypotheses
                                  if _parse_path(h.path)[0] == "mediation"])
        for h in self.spec.hypotheses:
            kind, chain = _parse_path(h.path)
            if kind != "mediation":
                continue
            expr = "*".join(reg_label[(chain[k + 1], chain[k])] for k in range(len(chain) - 1))
            name = names[h.id]
            out.append(Hypothesis(h.id, "mediation", name, ":=", expr, name, _sign(h.expected_sign),
                                  h.path.strip(), chain, dict(h.description)))
        order = {h.id: k for k, h in enumerate(self.spec.hypotheses)}
        return sorted(out, key=lambda h: order[h.id])

    # ------------------------------------------------------------------ simple look-ups
    @property
    def all_constructs(self) -> list[str]:
        """First-order then higher-order construct names."""
        return list(self.constructs) + list(self.higher_order)

    @property
    def attention_items(self) -> list[str]:
        return [a for a, _ in self.attention_checks]

    @property
    def metadata_columns(self) -> list[str]:
        return list(self.metadata)

    @property
    def known_columns(self) -> list[str]:
        """Every column a survey export of this instrument may have."""
        return self.metadata_columns + self.items + [a for a in self.attention_items if a not in self.items]

    def wording(self, item: str, language: str = "en") -> str:
        """The wording of ``item`` in ``language``."""
        if item not in self.item_construct:
            raise QuestionnaireError(f"{self.source}: no item {item!r}; fix: use one of {', '.join(self.items)}")
        text = self.spec.constructs[self.item_construct[item]].items[item]
        if language not in text:
            raise QuestionnaireError(
                f"{self.source}: item {item!r} has no wording in {language!r}; fix: use one of {', '.join(text)}")
        return text[language]

    def subdimension(self, item: str) -> Optional[str]:
        """The sub-dimension an item belongs to (``None`` when its construct has none)."""
        c = self.item_construct[item]
        for name, sd in self.spec.constructs[c].subdimensions.items():
            if item in sd.items:
                return name
        return None

    def label_values(self) -> dict[str, float]:
        """Normalised scale-label text -> scale value (every language, case- and space-insensitive)."""
        out = {}
        for value, texts in self.scale_labels.items():
            for text in texts.values():
                out[_norm_text(text)] = float(value)
        return out

    def codebook(self) -> "Any":
        """One row per item: construct, sub-dimension, reverse keying and the wording in each language.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd
        rows = []
        for c, its in self.constructs.items():
            higher = next((h for h, comps in self.higher_order.items() if c in comps), None)
            for i in its:
                row = {"item": i, "construct": c, "higher_order": higher, "subdimension": self.subdimension(i),
                       "reverse_keyed": i in self.reverse_keyed}
                row.update({f"wording_{lang}": self.spec.constructs[c].items[i].get(lang) for lang in self.languages})
                rows.append(row)
        return pd.DataFrame(rows)

    def hypotheses_table(self) -> "Any":
        """The hypotheses as a tidy DataFrame (``id, kind, lhs, op, rhs, label, expected_sign, path``)."""
        import pandas as pd
        cols = ["id", "kind", "lhs", "op", "rhs", "label", "expected_sign", "path"]
        return pd.DataFrame([[getattr(h, c) for c in cols] for h in self.hypotheses], columns=cols)

    def hypothesis(self, hid: str) -> Hypothesis:
        for h in self.hypotheses:
            if h.id == hid:
                return h
        raise QuestionnaireError(
            f"{self.source}: no hypothesis {hid!r}; fix: use one of {', '.join(h.id for h in self.hypotheses)}")

    # ------------------------------------------------------------------ lavaan syntax
    def cfa_syntax(self, constructs: Optional[list[str]] = None) -> str:
        """lavaan syntax of the first-order measurement model.

        Every first-order construct loads on its items; the constructs covary
        freely, which is lavaan's default for ``cfa()``.

        Parameters
        ----------
        constructs : list of str, optional
            A subset of the first-order constructs (default all).

        Examples
        --------
        The R equivalent is ``lavaan::cfa(model, data)`` with the returned text as ``model``.
        """
        names = list(self.constructs) if constructs is None else list(constructs)
        unknown = [c for c in names if c not in self.constructs]
        if unknown:
            raise QuestionnaireError(
                f"{self.source}: cfa_syntax(constructs=...) got unknown construct(s) {', '.join(unknown)}; "
                f"fix: use first-order constructs from {', '.join(self.constructs)}")
        return "\n".join(f"{c} =~ {' + '.join(self.constructs[c])}" for c in names)

    def measurement_syntax(self) -> str:
        """First-order constructs on their items, then higher-order constructs on their components."""
        lines = [self.cfa_syntax()]
        lines += [f"{h} =~ {' + '.join(comps)}" for h, comps in self.higher_order.items()]
        return "\n".join(x for x in lines if x)

    def structural_syntax(self) -> str:
        """Labelled regressions and covariances from the hypotheses.

        Regressions on the same outcome share a line, in the order of the
        hypotheses: ``EB ~ b_eb_cr*CR + b_eb_dc*DC``.  Covariance hypotheses
        become ``~~`` lines (``PR ~~ PC`` is a residual covariance).
        """
        regs: dict[str, list[str]] = {}
        covs = []
        for h in self.hypotheses:
            if h.kind == "path":
                regs.setdefault(h.lhs, []).append(f"{h.label}*{h.rhs}")
            elif h.kind == "covariance":
                covs.append(f"{h.lhs} ~~ {h.label + '*' if h.label else ''}{h.rhs}")
        lines = [f"{y} ~ {' + '.join(terms)}" for y, terms in regs.items()] + covs
        return "\n".join(lines)

    def defined_parameters(self) -> list[tuple[str, str]]:
        """``(name, expression)`` of every ``:=`` parameter: the indirect effects, then the totals."""
        out = [(h.lhs, h.rhs) for h in self.hypotheses if h.kind == "mediation"]
        if self.spec.effects.totals:
            direct = {(h.rhs, h.lhs): h.label for h in self.hypotheses if h.kind == "path"}
            groups: dict[tuple, list[str]] = {}
            for h in self.hypotheses:
                if h.kind == "mediation" and (h.chain[0], h.chain[-1]) in direct:
                    groups.setdefault((h.chain[0], h.chain[-1]), []).append(h.rhs)
            xs = [x for x, _ in groups]
            taken = {n for n, _ in out} | {h.label for h in self.hypotheses if h.label}
            for (x, y), exprs in groups.items():
                name = f"total_{x.lower()}" if xs.count(x) == 1 else f"total_{x.lower()}_{y.lower()}"
                if name in taken:
                    name = f"total_{x.lower()}_{y.lower()}_effect"
                out.append((name, " + ".join([direct[(x, y)]] + exprs)))
        return out

    def defined_syntax(self) -> str:
        """``:=`` lines: ``ind_cr_eb := b_eb_cr*b_pw_eb`` ... and ``total_cr := c_cr + ...``."""
        return "\n".join(f"{n} := {e}" for n, e in self.defined_parameters())

    def model_syntax(self) -> str:
        """The full SEM: measurement, structural and defined parameters.

        Examples
        --------
        In R: ``lavaan::sem(model, data, estimator = "ML", missing = "ml")``.
        """
        return "\n".join(p for p in (self.measurement_syntax(), self.structural_syntax(), self.defined_syntax()) if p)

    def pls_syntax(self, formative: tuple = ()) -> str:
        """PLS-SEM syntax for :func:`icaf_sem.pls`: composites on their items, higher-order composites
        on their components (estimated by the two-stage approach), and the hypothesised paths.

        ``=~`` is a mode-A composite (a common factor only with ``pls(consistent=True)``); the constructs
        named in ``formative`` are written ``<~`` (mode B).  Labels, covariance hypotheses and ``:=``
        lines have no PLS counterpart and are left out (indirect effects are in ``PLSResult.effects``).

        Examples
        --------
        In R: ``seminr::estimate_pls(data, csem2seminr(model))``.
        """
        unknown = [c for c in formative if c not in self.all_constructs]
        if unknown:
            raise QuestionnaireError(f"{self.source}: pls_syntax(formative=...) got unknown construct(s) "
                                     f"{', '.join(unknown)}; fix: use names from {', '.join(self.all_constructs)}")
        blocks = list(self.constructs.items()) + list(self.higher_order.items())
        lines = [f"{c} {'<~' if c in formative else '=~'} {' + '.join(ind)}" for c, ind in blocks]
        regs: dict[str, list[str]] = {}
        for h in self.hypotheses:
            if h.kind == "path" and h.rhs not in regs.setdefault(h.lhs, []):
                regs[h.lhs].append(h.rhs)
        return "\n".join(lines + [f"{y} ~ {' + '.join(xs)}" for y, xs in regs.items()])

    def __repr__(self) -> str:
        return (f"Questionnaire({self.name!r}: {len(self.constructs)} constructs, {len(self.items)} items, "
                f"{len(self.higher_order)} higher-order, {len(self.hypotheses)} hypotheses; source={self.source!r})")


# --------------------------------------------------------------------------- validation
def _error(source: str, problems: list[str]) -> QuestionnaireError:
    head = f"{source}: " + problems[0]
    if len(problems) > 1:
        head += f" (and {len(problems) - 1} more: " + "; ".join(problems[1:6]) + ("; ..." if len(problems) > 6 else "") + ")"
    err = QuestionnaireError(head)
    err.problems = problems
    return err


def _norm_text(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def _parse_path(path: str):
    """``Y ~ X`` -> ("path", (X, Y)); ``A ~~ B`` -> ("covariance", (A, B)); ``X -> M -> Y`` -> ("mediation", ...)."""
    p = path.strip()
    if "~~" in p:
        parts = [s.strip() for s in p.split("~~")]
        return ("covariance", tuple(parts)) if len(parts) == 2 else ("invalid", ())
    if "->" in p:
        parts = [s.strip() for s in p.split("->")]
        return ("mediation", tuple(parts)) if len(parts) >= 3 else ("invalid", ())
    if "~" in p:
        parts = [s.strip() for s in p.split("~")]
        if len(parts) == 2:
            return "path", (parts[1], parts[0])
    return "invalid", ()


def _default_label(y: str, x: str) -> str:
    return f"b_{y.lower()}_{x.lower()}"


def _mediation_names(meds) -> dict[str, str]:
    base = {h.id: "ind_" + "_".join(c.lower() for c in chain[:-1]) for h, chain in meds}
    counts = {}
    for v in base.values():
        counts[v] = counts.get(v, 0) + 1
    out = {}
    for h, chain in meds:
        name = h.label or (base[h.id] if counts[base[h.id]] == 1 else "ind_" + "_".join(c.lower() for c in chain))
        out[h.id] = name
    return out


def _semantic_problems(spec: QuestionnaireSpec) -> list[str]:
    P = []
    langs = list(spec.languages)
    # scale
    if spec.scale.min >= spec.scale.max:
        P.append(f"scale.min: min ({spec.scale.min}) must be below max ({spec.scale.max}); "
                 "fix: e.g. min: 1 and max: 7 for a seven-point scale")
    else:
        seen_text = {}
        for value, texts in spec.scale.labels.items():
            if not spec.scale.min <= value <= spec.scale.max:
                P.append(f"scale.labels.{value}: label for value {value} outside the scale "
                         f"{spec.scale.min}..{spec.scale.max}; fix: label only values on the scale")
            for lang, text in texts.items():
                key = _norm_text(text)
                if key in seen_text and seen_text[key] != value:
                    P.append(f"scale.labels.{value}.{lang}: label {text!r} is also the label of {seen_text[key]}; "
                             "fix: give every scale point a distinct label")
                seen_text[key] = value
        for k, code in enumerate(spec.missing_codes):
            if spec.scale.min <= code <= spec.scale.max:
                P.append(f"missing_codes[{k}]: code {code:g} is a valid answer on the scale "
                         f"{spec.scale.min}..{spec.scale.max}; fix: use a code outside the scale such as 99 or -9")
    # constructs and items
    owner: dict[str, str] = {}
    if not spec.constructs:
        P.append("constructs: no constructs; fix: define at least one construct with its items")
    for c, cs in spec.constructs.items():
        if not _NAME_RE.match(str(c)):
            P.append(f"constructs.{c}: {c!r} is not a valid name; fix: start with a letter and use letters, digits, '_' or '.'")
        if not cs.items:
            P.append(f"constructs.{c}.items: construct {c} has no items; fix: list its items")
        for i, text in cs.items.items():
            place = f"constructs.{c}.items.{i}"
            if not _NAME_RE.match(str(i)):
                P.append(f"{place}: {i!r} is not a valid item code; fix: start with a letter and use letters, digits, '_' or '.'")
            if i in owner:
                P.append(f"{place}: item {i!r} is already an item of construct {owner[i]}; "
                         "fix: give every item exactly one construct (rename one of them)")
            else:
                owner[i] = c
            for lang in langs:
                if not str(text.get(lang, "")).strip():
                    P.append(f"{place}.{lang}: item {i} has no {lang!r} wording; fix: add the wording in {lang} "
                             f"(the file declares languages {langs})")
        seen_sd = {}
        for sd, sds in cs.subdimensions.items():
            for k, i in enumerate(sds.items):
                place = f"constructs.{c}.subdimensions.{sd}.items[{k}]"
                if i not in cs.items:
                    P.append(f"{place}: {i!r} is not an item of {c}; fix: use items of {c} ({', '.join(cs.items)})")
                elif i in seen_sd:
                    P.append(f"{place}: item {i!r} is already in sub-dimension {seen_sd[i]}; fix: list it once")
                seen_sd[i] = sd
    first = set(spec.constructs)
    # higher order
    comp_owner = {}
    for h, hs in spec.higher_order.items():
        if not _NAME_RE.match(str(h)):
            P.append(f"higher_order.{h}: {h!r} is not a valid name; fix: start with a letter")
        if h in first or h in owner:
            P.append(f"higher_order.{h}: name {h!r} is already a construct or item; fix: choose another name")
        if len(hs.components) < 2:
            P.append(f"higher_order.{h}.components: a higher-order construct needs at least two components; "
                     "fix: list two or more first-order constructs")
        for k, comp in enumerate(hs.components):
            if comp not in first:
                P.append(f"higher_order.{h}.components[{k}]: unknown construct {comp!r}; "
                         f"fix: use first-order constructs ({', '.join(first)})")
            elif comp in comp_owner:
                P.append(f"higher_order.{h}.components[{k}]: {comp} is already a component of {comp_owner[comp]}; "
                         "fix: give each first-order construct one higher-order construct")
            else:
                comp_owner[comp] = h
    for c in first:
        if c in owner:
            P.append(f"constructs.{c}: name {c!r} is also an item code; fix: rename the construct or the item")
    # reverse keyed, attention, metadata, rename
    for k, i in enumerate(spec.reverse_keyed):
        if i not in owner:
            P.append(f"reverse_keyed[{k}]: {i!r} is not an item of any construct; "
                     f"fix: list only existing items (e.g. {', '.join(list(owner)[:4])} ...)")
    if len(set(spec.reverse_keyed)) != len(spec.reverse_keyed):
        P.append("reverse_keyed: an item is listed twice; fix: list each reverse-keyed item once")
    for k, a in enumerate(spec.attention_checks):
        if a.item in owner:
            P.append(f"attention_checks[{k}].item: {a.item!r} is a construct item; fix: an attention item must be "
                     "a separate column")
        if not _NAME_RE.match(a.item):
            P.append(f"attention_checks[{k}].item: {a.item!r} is not a valid column name; fix: start with a letter")
    kinds = {}
    for m, ms in spec.metadata.items():
        if m in owner or m in {a.item for a in spec.attention_checks}:
            P.append(f"metadata.{m}: {m!r} is also an item; fix: give metadata columns their own names")
        if ms.kind in ("id", "duration"):
            if ms.kind in kinds:
                P.append(f"metadata.{m}.kind: a second '{ms.kind}' column (the first is {kinds[ms.kind]}); "
                         f"fix: mark only one column as kind: {ms.kind}")
            kinds[ms.kind] = m
        if ms.kind == "category" and not ms.values:
            P.append(f"metadata.{m}.values: a category column needs its values; fix: list them, e.g. values: [a, b]")
    known = set(owner) | set(spec.metadata) | {a.item for a in spec.attention_checks}
    for src, dst in spec.rename.items():
        if dst not in known:
            P.append(f"rename.{src}: target {dst!r} is not an item, attention item or metadata column; "
                     "fix: map export columns onto names defined in this file")
    # hypotheses
    names = first | set(spec.higher_order)
    ids, labels, regs = set(), {}, {}
    for k, h in enumerate(spec.hypotheses):
        place = f"hypotheses[{k}]"
        if h.id in ids:
            P.append(f"{place}.id: id {h.id!r} is used twice; fix: give every hypothesis its own id")
        ids.add(h.id)
        if _sign(h.expected_sign) is None:
            P.append(f"{place}.expected_sign: {h.expected_sign!r} is not a sign; fix: use '+', '-' or '0'")
        kind, chain = _parse_path(h.path)
        if kind == "invalid":
            P.append(f"{place}.path: {h.path!r} is not a path; fix: write 'Y ~ X', 'A ~~ B' or 'X -> M -> Y'")
            continue
        bad = [c for c in chain if c not in names]
        if bad:
            P.append(f"{place}.path: unknown construct {bad[0]!r} in {h.path!r}; "
                     f"fix: use one of {', '.join(sorted(names))}")
            continue
        if len(set(chain)) != len(chain):
            P.append(f"{place}.path: {h.path!r} links a construct to itself; fix: name two different constructs")
            continue
        if h.label is not None and not _NAME_RE.match(h.label):
            P.append(f"{place}.label: {h.label!r} is not a valid label; fix: start with a letter")
        if kind == "path":
            x, y = chain
            if (y, x) in regs:
                P.append(f"{place}.path: {y} ~ {x} is already hypothesis {regs[(y, x)]}; fix: state each path once")
            regs[(y, x)] = h.id
            lab = h.label or _default_label(y, x)
            if lab in labels:
                P.append(f"{place}.label: label {lab!r} is already used by {labels[lab]}; fix: choose another label")
            labels[lab] = h.id
        elif kind == "covariance" and h.label:
            if h.label in labels:
                P.append(f"{place}.label: label {h.label!r} is already used by {labels[h.label]}; fix: choose another")
            labels[h.label] = h.id
    for k, h in enumerate(spec.hypotheses):
        kind, chain = _parse_path(h.path)
        if kind != "mediation" or any(c not in names for c in chain) or len(set(chain)) != len(chain):
            continue
        for a, b in zip(chain[:-1], chain[1:]):
            if (b, a) not in regs:
                P.append(f"hypotheses[{k}].path: the indirect effect {h.path!r} needs the path {b} ~ {a}; "
                         f"fix: add a hypothesis with path '{b} ~ {a}'")
    P += _necessity_problems(spec, names)
    P += _competing_problems(spec, names)
    if not P:
        meds = [(h, _parse_path(h.path)[1]) for h in spec.hypotheses if _parse_path(h.path)[0] == "mediation"]
        seen = {}
        for hid, name in _mediation_names(meds).items():
            if name in labels or name in seen:
                P.append(f"hypotheses[{[h.id for h in spec.hypotheses].index(hid)}].label: defined parameter "
                         f"name {name!r} is already used; fix: give this mediation hypothesis its own label")
            seen[name] = hid
    return P


def _necessity_problems(spec: QuestionnaireSpec, names: set) -> list[str]:
    P, ids = [], {h.id for h in spec.hypotheses}
    seen = set()
    for k, h in enumerate(spec.necessity.hypotheses):
        place = f"necessity.hypotheses[{k}]"
        if h.id in ids or h.id in seen:
            P.append(f"{place}.id: id {h.id!r} is already used; fix: give every hypothesis its own id (e.g. N1)")
        seen.add(h.id)
        for key in ("condition", "outcome"):
            v = getattr(h, key)
            if v not in names:
                P.append(f"{place}.{key}: unknown construct {v!r}; fix: use one of {', '.join(sorted(names))}")
        if h.condition == h.outcome:
            P.append(f"{place}: condition and outcome are both {h.condition!r}; fix: name two different constructs")
    return P


RESERVED_MODEL_NAMES = ("measurement", "hypothesised", "full_mediation", "partial_mediation", "direct_only")


def competing_structure(cm: "CompetingModelSpec") -> str:
    """The lavaan text of a declared competing model's structural part."""
    return "\n".join(cm.paths) if cm.paths is not None else str(cm.syntax or "")


def _competing_problems(spec: QuestionnaireSpec, names: set) -> list[str]:
    """Schema checks of ``competing_models``: parsed by the safe lavaan parser, never evaluated."""
    from .errors import ModelSyntaxError
    from .model.syntax import parse_model
    P, seen = [], set()
    for k, cm in enumerate(spec.competing_models):
        place = f"competing_models[{k}]"
        if not _NAME_RE.match(cm.name) or cm.name in RESERVED_MODEL_NAMES or cm.name in seen:
            P.append(f"{place}.name: {cm.name!r} is not a valid, unused model name; fix: start with a letter, use "
                     f"letters, digits or '_', and avoid {', '.join(RESERVED_MODEL_NAMES)} (built in) and repeats")
        seen.add(cm.name)
        for lang in spec.languages:
            if not str(cm.label.get(lang, "")).strip():
                P.append(f"{place}.label.{lang}: the model has no {lang!r} label; fix: add label: {{{lang}: ...}}")
        if (cm.paths is None) == (cm.syntax is None):
            P.append(f"{place}: give the structure either as paths: [\"PW ~ CR + DC\", ...] or as syntax: (one "
                     "lavaan string), exactly one of them")
            continue
        text = competing_structure(cm)
        try:
            stmts = parse_model(text)
        except ModelSyntaxError as exc:
            P.append(f"{place}.{'paths' if cm.paths is not None else 'syntax'}: {exc}")
            continue
        for st in stmts:
            if st.op not in ("~", "~~"):
                P.append(f"{place}: `{st.lhs} {st.op} {st.rhs}` is not a structural path; fix: use only '~' "
                         "(regressions) and '~~' (covariances) among constructs (the measurement part is the "
                         "questionnaire's)")
                break
            bad = [v for v in (st.lhs, st.rhs) if v not in names]
            if bad:
                P.append(f"{place}: unknown construct {bad[0]!r} in `{st.lhs} {st.op} {st.rhs}`; "
                         f"fix: use one of {', '.join(sorted(names))}")
                break
    return P


# --------------------------------------------------------------------------- loading
BUILTIN_QUESTIONNAIRES = ("icaf", "digital_ecology", "joint_operation")


def builtin_questionnaire_path(name: str = "icaf") -> Path:
    """Path of a questionnaire shipped with the package (one of :data:`BUILTIN_QUESTIONNAIRES`)."""
    return Path(__file__).resolve().parent / "data" / f"{name}.yaml"


def load_questionnaire(path: Union[str, os.PathLike, "Questionnaire"]) -> Questionnaire:
    """Read and validate a questionnaire YAML file.

    Parameters
    ----------
    path : str or path-like
        The YAML file, or the short name of an instrument shipped with the package:
        ``"icaf"``, ``"digital_ecology"`` or ``"joint_operation"``.
        A :class:`Questionnaire` is returned unchanged.

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        The file is missing, is not YAML, or breaks the schema; the message names the
        file, the place (``hypotheses[3].path``) and the fix.
    """
    if isinstance(path, Questionnaire):
        return path
    p = Path(path)
    if not p.exists() and str(path) in BUILTIN_QUESTIONNAIRES:
        p = builtin_questionnaire_path(str(path))
    if not p.exists():
        raise QuestionnaireError(f"questionnaire file {str(path)!r} not found; fix: check the path "
                                 f"(or pass the short name of a shipped instrument: {', '.join(BUILTIN_QUESTIONNAIRES)})")
    if p.is_dir():
        raise QuestionnaireError(f"questionnaire path {str(p)!r} is a folder; fix: pass the YAML file itself")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                 "fix: save the questionnaire as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except QuestionnaireError as exc:
        raise QuestionnaireError(f"{p}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(f"{p}: not valid YAML{where}: {what}; fix: correct the YAML syntax there") from None
    if data is None:
        raise QuestionnaireError(f"{p}: the file is empty; fix: describe the instrument (see questionnaires/icaf.yaml)")
    return Questionnaire.from_dict(data, source=str(p))
