"""Set a game's payoff parameters from a survey wave.

The ICAF survey measures exactly the quantities the tripartite game's payoffs
are made of: expected benefits (EB), perceived risks (PR: distribution,
coordination) and perceived costs (PC: negotiation, execution), answered by
data-providing and data-using departments (the wave's ``role`` column).  A
*mapping* declares, for each payoff parameter, which construct (or
``construct.subdimension``) and which role sets it::

    mapping = {"B_P": {"source": "EB", "role": "provider"},
               "Cn_U": {"source": "PC.negotiation", "role": "user"}, ...}

The level of a source for a role is either

* ``method="scores"`` (default): the mean over that role's respondents of each
  respondent's mean score on the source's items (reverse-keyed items scored by
  cleaning); or
* ``method="latent"``: the model-implied mean of the source's items in that
  role's group, ``mean_j(ν_j + λ_j κ_g)``, from a multi-group CFA of the mapped
  constructs with equal loadings and intercepts across the roles (scalar
  invariance; lavaan ``cfa(model, group = "role", group.equal =
  c("loadings", "intercepts"))``, FIML).  This is the latent mean expressed on
  the answer scale.

The level is then put on 0..1 (``transform="unit"``: ``(m − min)/(max − min)``
of the answer scale) or kept (``"raw"``) and multiplied by ``scale``.  The
mapping, the scores and the values used are returned as a table, so the
calibration is shown, never hidden.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from ..errors import DataError, ModelSpecificationError

__all__ = ["from_survey", "Calibration"]


@dataclass
class Calibration:
    """A game calibrated from a survey wave.

    Attributes
    ----------
    game : Game
        The game with the mapped parameters replaced.
    table : DataFrame
        One row per mapped parameter: ``parameter, meaning, source, role, items,
        n, score_mean, score_sd, method, transform, scale, value, file_value``.
    values : dict
        The parameter values set from the survey.
    roles : dict
        Respondents per role in the wave.
    """

    game: Any
    table: pd.DataFrame
    values: dict
    method: str
    transform: str
    scale: float
    role_column: str
    roles: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {"method": self.method, "transform": self.transform, "scale": self.scale,
                "role_column": self.role_column, "roles": self.roles, "mapping": rows, "values": self.values}

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)


def _resolve_source(q, source: str, where: str) -> list:
    src = str(source)
    if "." in src and src.split(".", 1)[0] in q.constructs:
        c, sd = src.split(".", 1)
        subs = q.spec.constructs[c].subdimensions
        if sd not in subs:
            raise ModelSpecificationError(f"{where}: construct {c} has no sub-dimension {sd!r}; fix: use one of "
                                          f"{', '.join(subs) or '(none: use the construct itself)'}")
        return list(subs[sd].items)
    if src in q.constructs:
        return list(q.constructs[src])
    raise ModelSpecificationError(f"{where}: unknown source {src!r}; fix: use a construct of {q.name} "
                                  f"({', '.join(q.constructs)}) or construct.subdimension (e.g. PC.negotiation)")


def from_survey(data, game=None, *, questionnaire=None, role: Optional[str] = None,
                mapping: Optional[Mapping[str, Mapping[str, str]]] = None, method: str = "scores",
                transform: Optional[str] = None, scale: Optional[float] = None) -> Calibration:
    """Set payoff parameters from a survey wave's construct levels, separately by role.

    Parameters
    ----------
    data : AnalysisResult or DataFrame
        A result of :func:`icaf_sem.analyze` (its cleaned data and questionnaire
        are used) or a cleaned wave (``icaf-sem clean``'s ``clean.csv``) with
        ``questionnaire`` given.
    game : Game or path, optional
        The game (default: the shipped ``tripartite_game``).
    questionnaire : Questionnaire or path, optional
        Needed when ``data`` is a DataFrame.
    role : str, optional
        The wave's role column (default: the game's ``survey.role_column``, else ``"role"``).
    mapping : dict, optional
        ``{parameter: {"source": "EB" | "PC.negotiation", "role": "provider"}}``;
        default: the game file's ``survey.mapping``.
    method : {"scores", "latent"}
        Mean construct scores, or model-implied means from a scalar-invariant
        multi-group CFA by role (see the module docstring).
    transform : {"unit", "raw"}, optional
        Default: the game file's ``survey.transform``, else ``"unit"``.
    scale : float, optional
        Multiplier after the transform (default: the file's ``survey.scale``, else 1).

    Returns
    -------
    Calibration

    Examples
    --------
    >>> from icaf_sem.game import from_survey            # doctest: +SKIP
    >>> cal = from_survey(res)                           # res = icaf_sem.analyze(...)
    >>> cal.table; cal.game.ess_table()

    The ``"latent"`` levels match lavaan's
    ``cfa(model, data, group = "role", group.equal = c("loadings", "intercepts"), missing = "ml")``
    with ``fitted(fit)$<role>$mean`` averaged over each source's items.
    """
    from ..questionnaire import load_questionnaire
    from .model import load_game

    game = load_game(game if game is not None else "tripartite_game")
    cfg = dict(game.survey or {})
    if hasattr(data, "cleaning") and hasattr(data, "questionnaire"):
        df = data.data
        q = data.questionnaire if questionnaire is None else load_questionnaire(questionnaire)
    elif isinstance(data, pd.DataFrame):
        if questionnaire is None:
            raise ModelSpecificationError("from_survey: a DataFrame needs questionnaire=...; fix: pass the instrument "
                                          "(e.g. questionnaire='questionnaires/icaf.yaml') or an analyze() result")
        df = data
        q = load_questionnaire(questionnaire)
    else:
        raise ModelSpecificationError(f"from_survey: data must be an analyze() result or a cleaned DataFrame, got "
                                      f"{type(data).__name__}")
    role = role or cfg.get("role_column", "role")
    mapping = dict(mapping if mapping is not None else cfg.get("mapping") or {})
    transform = transform or cfg.get("transform", "unit")
    scale = float(cfg.get("scale", 1.0) if scale is None else scale)
    if method not in ("scores", "latent"):
        raise ModelSpecificationError(f"from_survey(method={method!r}): use 'scores' or 'latent'")
    if transform not in ("unit", "raw"):
        raise ModelSpecificationError(f"from_survey(transform={transform!r}): use 'unit' or 'raw'")
    if not np.isfinite(scale) or scale <= 0:
        raise ModelSpecificationError(f"from_survey(scale={scale!r}): must be a positive number")
    if not mapping:
        raise ModelSpecificationError(f"from_survey: no mapping given and {game.source} has no survey.mapping; fix: "
                                      "pass mapping={'B_P': {'source': 'EB', 'role': 'provider'}, ...}")
    if role not in df.columns:
        raise DataError(f"from_survey: the wave has no role column {role!r}; fix: pass role='<column>' naming the "
                        f"column that says whether a department provides or uses data (columns: "
                        f"{', '.join(map(str, df.columns[:12]))} ...)")
    spec = {}
    for pname, m in mapping.items():
        where = f"mapping.{pname}"
        if pname not in game.parameters:
            raise ModelSpecificationError(f"{where}: {pname!r} is not a parameter of {game.name}; fix: use one of "
                                          f"{', '.join(game.parameters)}")
        if not isinstance(m, Mapping) or set(m) - {"source", "role"} or not {"source", "role"} <= set(m):
            raise ModelSpecificationError(f"{where}: give exactly source and role, got {m!r}")
        items = _resolve_source(q, m["source"], where)
        missing = [i for i in items if i not in df.columns]
        if missing:
            raise DataError(f"{where}: item column(s) {', '.join(missing)} are not in the wave; fix: pass the cleaned "
                            "wave of this questionnaire")
        spec[pname] = (str(m["source"]), str(m["role"]), items)
    lo, hi = q.scale_min, q.scale_max
    used = sorted({i for _, _, its in spec.values() for i in its})
    vals = df[used].apply(pd.to_numeric, errors="coerce")
    text = [c for c in used if (vals[c].isna() & df[c].notna()).any()]
    off = [c for c in used if ((vals[c] < lo) | (vals[c] > hi)).any()]
    if text or off:
        c = (text or off)[0]
        raise DataError(f"from_survey: item {c} holds {'text' if text else 'values off the scale ' + f'{lo}..{hi}'}; "
                        "fix: pass the cleaned wave (icaf-sem clean writes clean.csv; missing codes removed, "
                        "reverse-keyed items scored)")
    roles_present = df[role].astype("string")
    counts = {str(k): int(v) for k, v in roles_present.value_counts(dropna=True).items()}
    for pname, (src, r, _) in spec.items():
        if counts.get(r, 0) < 2:
            raise DataError(f"mapping.{pname}: role {r!r} has {counts.get(r, 0)} respondents in column {role!r} "
                            f"(roles present: {counts}); fix: map to a role present in the wave")
    if method == "latent":
        levels = _latent_levels(df, q, role, spec)
    else:
        levels = {}
        for pname, (src, r, items) in spec.items():
            sub = df.loc[roles_present == r, items].apply(pd.to_numeric, errors="coerce")
            answered = sub.notna().sum(axis=1)
            person = sub.mean(axis=1)[answered >= max(1, int(np.ceil(len(items) / 2)))]
            levels[pname] = (float(person.mean()), float(person.std(ddof=1)), int(person.size))
    rows, values = [], {}
    for pname, (src, r, items) in spec.items():
        mean, sd, n = levels[pname]
        base = (mean - lo) / (hi - lo) if transform == "unit" else mean
        val = float(base * scale)
        values[pname] = val
        rows.append({"parameter": pname, "meaning": game.parameters[pname].meaning.get("en", ""), "source": src,
                     "role": r, "items": ", ".join(items), "n": n, "score_mean": mean, "score_sd": sd,
                     "method": method, "transform": transform, "scale": scale, "value": val,
                     "file_value": game.parameters[pname].value})
    table = pd.DataFrame(rows)
    return Calibration(game=game.with_values(values), table=table, values=values, method=method,
                       transform=transform, scale=scale, role_column=role, roles=counts)


def _latent_levels(df, q, role, spec) -> dict:
    """Model-implied item means per role from a scalar-invariant multi-group CFA (FIML)."""
    from ..sem import fit

    constructs = []
    for src, _, _ in spec.values():
        c = src.split(".", 1)[0]
        if c not in constructs:
            constructs.append(c)
    roles = sorted({r for _, r, _ in spec.values()})
    sub = df[df[role].astype("string").isin(roles)].copy()
    syntax = "\n".join(f"{c} =~ " + " + ".join(q.constructs[c]) for c in constructs)
    res = fit(syntax, sub, group=role, group_equal=["loadings", "intercepts"], missing="ml")
    pt = res.parameters
    labels = _group_labels(res, sub, role)
    out = {}
    for pname, (src, r, items) in spec.items():
        g = labels[r]
        c = src.split(".", 1)[0]
        rows = pt[pt["group"] == g]
        kappa = rows[(rows["lhs"] == c) & (rows["op"] == "~1")]["est"]
        kappa = float(kappa.iloc[0]) if len(kappa) else 0.0
        means = []
        for it in items:
            nu = rows[(rows["lhs"] == it) & (rows["op"] == "~1")]["est"]
            lam = rows[(rows["lhs"] == c) & (rows["op"] == "=~") & (rows["rhs"] == it)]["est"]
            means.append(float(nu.iloc[0]) + float(lam.iloc[0]) * kappa)
        n = int((sub[role].astype("string") == r).sum())
        out[pname] = (float(np.mean(means)), np.nan, n)
    return out


def _group_labels(res, sub, role) -> dict:
    """Group number of each role value (lavaan orders groups by first appearance)."""
    order = list(dict.fromkeys(sub[role].astype("string").dropna()))
    return {r: k + 1 for k, r in enumerate(order)}
