"""Draw survey waves from a questionnaire's population model, with known flaws.

:func:`simulate_wave` builds a population model from any questionnaire:

* exogenous constructs (those no path points to: CR and DC in ICAF) are
  standard normal and correlate 0.3 in the hypothesised direction
  (0.2 when no covariance is hypothesised);
* each higher-order construct loads its components (0.75 by default);
* each hypothesised path ``Y ~ X`` has the coefficient
  ``expected sign x effect`` (0.35 by default), scaled down together where
  they would explain more than 60 % of the outcome; residual variances keep
  every construct at unit variance, and a covariance hypothesis between two
  outcomes (``PR ~~ PC``) is a residual correlation of 0.3;
* items load 0.65 to 0.85 on their construct; the continuous response is cut
  into the answer scale (mean a little above the midpoint, SD about 1.4 on a
  seven-point scale); reverse-worded items are stored as answered
  (``min + max - x``);
* metadata: ids ``<wave>-0001`` ..., categories drawn from their values,
  durations log-normal around 10 minutes; attention items answered correctly.

Flaws are then planted on distinct respondents, like the reference raw wave:
straight-liners, speeders, failed attention checks, exact duplicate
submissions, blank cells, a missing code (99) and out-of-range codes
(``min - 1`` and ``max + 1``).  ``return_truth=True`` returns a
:class:`SimulatedWave` holding the truth: which respondents and cells are
flawed, and the clean wave that cleaning must produce.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from ..errors import DataError, QuestionnaireError

__all__ = ["simulate_wave", "SimulatedWave", "Flaws", "PopulationModel", "population_model", "compare_with_truth",
           "EXAMPLE_SEED", "EXAMPLE_N", "example_wave_path", "load_example_wave", "write_example_wave"]

EXAMPLE_SEED = 20240917
EXAMPLE_N = 400
_REFERENCE_N = 420


@dataclass
class Flaws:
    """What to plant in a simulated wave.

    Counts are respondents (disjoint groups); rates are shares of the item
    cells of the remaining, valid respondents.  ``Flaws.reference(n)`` gives the
    mix of the reference raw wave (10 straight-liners, 8 speeders, 6 failed
    attention checks and 4 duplicate submissions per 420 respondents, about
    1.1 % blank cells, 0.5 % missing codes and 0.23 % out-of-range codes).
    """

    straightliners: int = 0
    speeders: int = 0
    attention: int = 0
    duplicates: int = 0
    blank_rate: float = 0.0
    missing_code_rate: float = 0.0
    out_of_range_rate: float = 0.0

    @classmethod
    def reference(cls, n: int = _REFERENCE_N) -> "Flaws":
        f = n / _REFERENCE_N
        return cls(straightliners=round(10 * f), speeders=round(8 * f), attention=round(6 * f),
                   duplicates=round(4 * f), blank_rate=163 / (_REFERENCE_N * 34),
                   missing_code_rate=73 / (_REFERENCE_N * 34), out_of_range_rate=33 / (_REFERENCE_N * 34))

    @classmethod
    def none(cls) -> "Flaws":
        return cls()


@dataclass
class PopulationModel:
    """The population model of a questionnaire.

    Attributes
    ----------
    latents : list of str
        Constructs in causal order (exogenous first).
    cov : ndarray
        The model-implied covariance matrix of the constructs.
    paths : dict of (lhs, rhs) to float
        Regression coefficients (``("EB", "CR") -> 0.35``), including
        higher-order loadings (``("BC", "CR") -> 0.75``).
    loadings : dict of str to float
        Standardized item loadings.
    """

    latents: list
    cov: np.ndarray
    paths: dict
    loadings: dict

    def latent_cov(self) -> pd.DataFrame:
        return pd.DataFrame(self.cov, index=self.latents, columns=self.latents)


@dataclass
class SimulatedWave:
    """A simulated wave with its truth.

    Attributes
    ----------
    raw : DataFrame
        The wave as a survey platform would export it (flaws included, rows shuffled).
    respondent_truth : DataFrame
        ``respondent_id, straightline, speeder, attention, duplicate, duplicate_copies``
        for every unique respondent (``duplicate`` is True for a respondent whose
        id is reused by a different submission; none are planted).
    cell_truth : DataFrame
        ``respondent_id, item, problem`` with problem ``blank``, ``code99`` (the
        missing code) or ``range``.
    clean : DataFrame
        What cleaning must produce: valid respondents once each, bad cells
        empty, reverse-keyed items scored ``min + max - x``.
    latent : DataFrame
        The true construct scores of every unique respondent.
    population : PopulationModel
    seed : int or None
    """

    raw: pd.DataFrame
    respondent_truth: pd.DataFrame
    cell_truth: pd.DataFrame
    clean: pd.DataFrame
    latent: pd.DataFrame
    population: PopulationModel
    seed: Optional[int] = None

    def write(self, folder: Union[str, Path], wave: str = "wave1", prefix: str = "icaf") -> dict:
        """Write ``{prefix}_{wave}_raw.csv``, ``_clean.csv``, ``_respondent_truth.csv`` and ``_cell_truth.csv``.

        The layout is that of the reference data, so the same checks run on it.
        Each file is written whole or not at all.
        """
        from .._atomic import atomic_write
        folder = Path(folder)
        paths = {}
        frames = {"raw": _export(self.raw), "clean": _export(self.clean),
                  "respondent_truth": _export(self.respondent_truth), "cell_truth": self.cell_truth}
        for name, frame in frames.items():
            p = folder / f"{prefix}_{wave}_{name}.csv"
            atomic_write(p, lambda tmp, fr=frame: fr.to_csv(tmp, index=False, encoding="utf-8"))
            paths[name] = p
        return paths


def _export(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].map({True: "TRUE", False: "FALSE"})
        elif pd.api.types.is_float_dtype(out[c]):
            vals = out[c].dropna()
            if len(vals) == 0 or np.all(np.equal(np.mod(vals, 1), 0)):
                out[c] = out[c].astype("Int64")
    return out


# --------------------------------------------------------------------------- population model
def population_model(questionnaire, *, effect: float = 0.35, second_order_loading: float = 0.75,
                     loading_range: tuple = (0.65, 0.85), exogenous_correlation: float = 0.3,
                     residual_correlation: float = 0.3, max_r2: float = 0.6, paths: Optional[dict] = None,
                     seed: Optional[int] = None) -> PopulationModel:
    """The population model :func:`simulate_wave` draws from (see the module docstring).

    Parameters
    ----------
    questionnaire : Questionnaire or path
    effect : float, default 0.35
        Size of every hypothesised path, signed by its expected sign.
    second_order_loading : float, default 0.75
    loading_range : (float, float), default (0.65, 0.85)
        Item loadings are drawn uniformly from this range.
    exogenous_correlation, residual_correlation : float, default 0.3
    max_r2 : float, default 0.6
        When the paths into a construct would explain more than this share of
        its variance, they are scaled down together (signs kept) so that they
        explain exactly this share.
    paths : dict, optional
        Coefficients by path label (``{"b_pw_eb": 0.5}``) or ``(lhs, rhs)``.
    seed : int, optional
        Seeds the draw of the item loadings.
    """
    from ..questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    rng = np.random.default_rng(seed)
    paths = dict(paths or {})
    names = q.all_constructs
    incoming: dict[str, dict[str, float]] = {c: {} for c in names}
    for h, comps in q.higher_order.items():
        for c in comps:
            incoming[c][h] = paths.get((c, h), second_order_loading)
    label_of = {}
    for hyp in q.hypotheses:
        if hyp.kind == "path":
            size = effect if hyp.sign else effect * 0.5
            b = paths.get(hyp.label, paths.get((hyp.lhs, hyp.rhs), (hyp.sign or 1) * size))
            incoming[hyp.lhs][hyp.rhs] = float(b)
            label_of[(hyp.lhs, hyp.rhs)] = hyp.label
    covhyp = {}
    for hyp in q.hypotheses:
        if hyp.kind == "covariance":
            covhyp[frozenset((hyp.lhs, hyp.rhs))] = hyp.sign or 1
    # topological order
    order, done = [], set()
    pending = list(names)
    while pending:
        ready = [c for c in pending if all(p in done for p in incoming[c])]
        if not ready:
            raise QuestionnaireError(
                f"{q.source}: the hypothesised paths form a cycle among {', '.join(pending)}; "
                "fix: simulate_wave needs a recursive model (no feedback loops)")
        for c in ready:
            order.append(c)
            done.add(c)
            pending.remove(c)
    idx = {c: k for k, c in enumerate(order)}
    m = len(order)
    S = np.zeros((m, m))
    psi = {}
    exo = [c for c in order if not incoming[c]]
    for c in order:
        j = idx[c]
        if not incoming[c]:
            S[j, j] = 1.0
            for o in exo:
                k = idx[o]
                if k < j:
                    r = exogenous_correlation * covhyp[frozenset((c, o))] if frozenset((c, o)) in covhyp else 0.2
                    S[j, k] = S[k, j] = r
            continue
        preds = list(incoming[c])
        b = np.array([incoming[c][p] for p in preds])
        P = [idx[p] for p in preds]
        explained = float(b @ S[np.ix_(P, P)] @ b)
        if explained > max_r2:
            b = b * np.sqrt(max_r2 / explained)
            incoming[c] = dict(zip(preds, b.tolist()))
            explained = max_r2
        psi[c] = 1.0 - explained
        for k in range(j):
            other = order[k]
            cov = float(b @ S[P, k])
            if other in psi and frozenset((c, other)) in covhyp:
                cov += residual_correlation * covhyp[frozenset((c, other))] * np.sqrt(psi[c] * psi[other])
            S[j, k] = S[k, j] = cov
        S[j, j] = explained + psi[c]
    coefs = {(c, p): v for c in order for p, v in incoming[c].items()}
    loadings = {it: float(rng.uniform(*loading_range)) for it in q.items}
    return PopulationModel(latents=order, cov=S, paths=coefs, loadings=loadings)


# --------------------------------------------------------------------------- simulation
def simulate_wave(questionnaire, n: int = EXAMPLE_N, seed: Optional[int] = None,
                  flaws: Union[str, Flaws, dict, None] = "reference", *, wave: str = "wave1",
                  return_truth: bool = False, population: Optional[PopulationModel] = None,
                  **population_options) -> Union[pd.DataFrame, SimulatedWave]:
    """Draw a survey wave from the questionnaire's population model.

    Parameters
    ----------
    questionnaire : Questionnaire or path
    n : int, default 400
        Unique respondents (duplicate submissions come on top).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the same seed gives the same wave.
    flaws : "reference", None, Flaws or dict, default "reference"
        ``"reference"``: the mix of the reference raw wave scaled to ``n``;
        ``None`` (or ``"none"``): a clean wave; a :class:`Flaws` or a dict of
        its fields for any other mix.
    wave : str, default "wave1"
        Prefix of the respondent ids (``wave1-0001``).
    return_truth : bool, default False
        Return a :class:`SimulatedWave` (raw wave plus truth) instead of the raw DataFrame.
    population : PopulationModel, optional
        A model from :func:`population_model`; built from the questionnaire by default.
    **population_options
        Passed to :func:`population_model` (``effect``, ``paths``, ``loading_range`` ...).

    Returns
    -------
    DataFrame or SimulatedWave

    Examples
    --------
    >>> from icaf_sem import load_questionnaire, simulate_wave
    >>> q = load_questionnaire("icaf")
    >>> sim = simulate_wave(q, n=420, seed=1, return_truth=True)
    >>> sim.raw.shape[0] == 420 + sim.respondent_truth.duplicate_copies.sum()
    True
    """
    from ..questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"simulate_wave(n={n!r}): n must be a positive whole number of respondents; fix: e.g. n=400")
    n = int(n)
    if isinstance(flaws, str):
        if flaws == "reference":
            flaws = Flaws.reference(n)
        elif flaws == "none":
            flaws = Flaws.none()
        else:
            raise DataError(f"simulate_wave(flaws={flaws!r}): unknown flaw mix; fix: use 'reference', None, "
                            "a Flaws object or a dict of its fields")
    elif flaws is None or flaws is False:
        flaws = Flaws.none()
    elif isinstance(flaws, dict):
        bad = [k for k in flaws if k not in {f.name for f in dataclasses.fields(Flaws)}]
        if bad:
            raise DataError(f"simulate_wave(flaws=...): unknown field(s) {', '.join(bad)}; "
                            f"fix: use {', '.join(f.name for f in dataclasses.fields(Flaws))}")
        flaws = Flaws(**flaws)
    n_flawed = flaws.straightliners + flaws.speeders + flaws.attention
    if n_flawed + flaws.duplicates > n:
        raise DataError(f"simulate_wave: {n_flawed} flawed respondents and {flaws.duplicates} duplicates do not fit "
                        f"in n={n}; fix: raise n or plant fewer flaws")
    rng = np.random.default_rng(seed)
    pop = population or population_model(q, seed=int(rng.integers(2**31)), **population_options)
    lo, hi = q.scale_min, q.scale_max

    # latent scores and items
    eta = rng.multivariate_normal(np.zeros(len(pop.latents)), pop.cov, size=n, method="cholesky")
    latent = pd.DataFrame(eta, columns=pop.latents)
    sd = np.sqrt(np.diag(pop.cov))
    centre = (lo + hi) / 2 + 0.07 * (hi - lo)
    spread = (hi - lo) / 4.3
    keyed = {}
    for it in q.items:
        c = q.item_construct[it]
        z = eta[:, pop.latents.index(c)] / sd[pop.latents.index(c)]
        lam = pop.loadings[it]
        x = lam * z + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
        shift = rng.normal(0, 0.1)
        keyed[it] = np.clip(np.rint(centre + shift + spread * x), lo, hi)
    answered = {it: (lo + hi - v if it in q.reverse_keyed else v) for it, v in keyed.items()}

    # metadata
    ids = [f"{wave}-{k:0{max(4, len(str(n)))}d}" for k in range(1, n + 1)]
    cols: dict = {}
    med = 600.0
    for name, spec in q.metadata.items():
        kind = spec["kind"]
        if kind == "id":
            cols[name] = ids
        elif kind == "category":
            vals = spec["values"]
            p = rng.dirichlet(np.full(len(vals), 8.0))
            cols[name] = list(rng.choice(vals, size=n, p=p))
        elif kind == "duration":
            d = med * np.exp(rng.normal(0, 0.22, n))
            cols[name] = np.rint(np.clip(d, 0.5 * med, 3 * med))
        elif kind == "numeric":
            cols[name] = np.rint(rng.normal(10, 3, n))
        else:
            cols[name] = [""] * n
    idc = q.id_column or "respondent_id"
    if idc not in cols:
        cols[idc] = ids
    raw = pd.DataFrame(cols)
    for it in q.items:
        raw[it] = answered[it].astype(float)
    for a, ok in q.attention_checks:
        if a not in raw.columns:
            raw[a] = float(ok[0])

    # respondent-level flaws on disjoint groups
    perm = rng.permutation(n)
    groups = {}
    start = 0
    for kind, count in (("straightline", flaws.straightliners), ("speeder", flaws.speeders),
                        ("attention", flaws.attention)):
        groups[kind] = np.sort(perm[start:start + count])
        start += count
    valid = np.sort(perm[start:])
    truth = pd.DataFrame({"respondent_id": ids, "straightline": False, "speeder": False, "attention": False,
                          "duplicate": False, "duplicate_copies": 0})
    if len(groups["straightline"]):
        choices = sorted({lo, (lo + hi) // 2, hi})
        for r in groups["straightline"]:
            raw.loc[r, q.items] = float(rng.choice(choices))
        truth.loc[groups["straightline"], "straightline"] = True
    dcol = q.duration_column
    if len(groups["speeder"]):
        if not dcol:
            raise DataError(f"{q.source}: the questionnaire has no duration column, so speeders cannot be planted; "
                            "fix: pass flaws with speeders=0")
        raw.loc[groups["speeder"], dcol] = np.rint(med * rng.uniform(0.1, 0.28, len(groups["speeder"])))
        truth.loc[groups["speeder"], "speeder"] = True
    if len(groups["attention"]):
        if not q.attention_checks:
            raise DataError(f"{q.source}: the questionnaire has no attention check to fail; "
                            "fix: pass flaws with attention=0")
        a, ok = q.attention_checks[0]
        wrong = [float(v) for v in range(lo, hi + 1) if float(v) not in ok]
        raw.loc[groups["attention"], a] = rng.choice(wrong, size=len(groups["attention"]))
        truth.loc[groups["attention"], "attention"] = True

    # cell flaws among the valid respondents
    cell_rows = []
    expected = raw.copy()
    code = q.missing_codes[0] if q.missing_codes else None
    item_pos = {it: k for k, it in enumerate(q.items)}
    cells = [(r, it) for r in valid for it in q.items]
    n_cells = len(cells)
    counts = [("blank", int(round(flaws.blank_rate * n_cells))),
              (f"code{code:g}" if code is not None else "code", int(round(flaws.missing_code_rate * n_cells)) if code is not None else 0),
              ("range", int(round(flaws.out_of_range_rate * n_cells)))]
    total = sum(c for _, c in counts)
    if total > n_cells:
        raise DataError("simulate_wave: the cell flaw rates add up to more than every cell; fix: lower them")
    chosen = rng.choice(n_cells, size=total, replace=False) if total else np.array([], dtype=int)
    pos = 0
    for problem, count in counts:
        for k in chosen[pos:pos + count]:
            r, it = cells[k]
            if problem == "blank":
                raw.loc[r, it] = np.nan
            elif problem == "range":
                raw.loc[r, it] = float(lo - 1 if rng.random() < 0.4 else hi + 1)
            else:
                raw.loc[r, it] = float(code)
            expected.loc[r, it] = np.nan
            cell_rows.append((ids[r], it, problem, item_pos[it]))
        pos += count
    cell_truth = pd.DataFrame(cell_rows, columns=["respondent_id", "item", "problem", "_pos"])
    cell_truth = cell_truth.sort_values(["respondent_id", "_pos"]).drop(columns="_pos").reset_index(drop=True)

    # duplicates: exact copies of valid respondents
    dup_src = np.sort(rng.choice(valid, size=flaws.duplicates, replace=False)) if flaws.duplicates else np.array([], int)
    truth.loc[dup_src, "duplicate_copies"] = 1
    full = pd.concat([raw, raw.loc[dup_src]], ignore_index=True)
    full = full.iloc[rng.permutation(len(full))].reset_index(drop=True)

    # expected clean wave
    exp = expected.loc[valid].copy()
    for it in q.reverse_keyed:
        exp[it] = lo + hi - exp[it]
    meta = [c for c in q.metadata_columns if c in exp.columns and c != idc]
    exp = exp[[idc] + meta + list(q.items)].sort_values(idc).reset_index(drop=True)
    for it in q.items:
        exp[it] = exp[it].astype(float)

    if not return_truth:
        return full
    latent.insert(0, idc, ids)
    return SimulatedWave(raw=full, respondent_truth=truth, cell_truth=cell_truth, clean=exp, latent=latent,
                         population=pop, seed=seed)


# --------------------------------------------------------------------------- the bundled example
def example_wave_path() -> Path:
    """Path of the example wave shipped with the package (``icaf_sem/data/example_wave.csv``)."""
    return Path(__file__).resolve().parent.parent / "data" / "example_wave.csv"


def load_example_wave() -> pd.DataFrame:
    """The bundled example wave, read with :func:`icaf_sem.load_survey` and the bundled ICAF questionnaire."""
    from ..questionnaire import builtin_questionnaire_path
    from .io import load_survey
    return load_survey(example_wave_path(), builtin_questionnaire_path("icaf"))


def write_example_wave(folder: Union[str, Path, None] = None) -> dict:
    """Regenerate the bundled example wave and its truth files (seed :data:`EXAMPLE_SEED`, n = 400).

    Writes ``example_wave.csv`` plus ``example_wave_clean.csv``,
    ``example_wave_respondent_truth.csv`` and ``example_wave_cell_truth.csv``.
    """
    from .._atomic import atomic_write
    from ..questionnaire import builtin_questionnaire_path
    folder = Path(folder) if folder is not None else example_wave_path().parent
    sim = simulate_wave(builtin_questionnaire_path("icaf"), n=EXAMPLE_N, seed=EXAMPLE_SEED, wave="example",
                        return_truth=True)
    out = {}
    for name, frame in (("example_wave.csv", _export(sim.raw)), ("example_wave_clean.csv", _export(sim.clean)),
                        ("example_wave_respondent_truth.csv", _export(sim.respondent_truth)),
                        ("example_wave_cell_truth.csv", sim.cell_truth)):
        out[name] = atomic_write(folder / name, lambda tmp, fr=frame: fr.to_csv(tmp, index=False, encoding="utf-8"))
    return out


# --------------------------------------------------------------------------- checking cleaning against the truth
def compare_with_truth(result, truth: SimulatedWave, *, tol: float = 0.0) -> list:
    """Problems of a :class:`~icaf_sem.survey.cleaning.CleanResult` measured against a simulated truth.

    Checks what ``shared/tools/check_cleaning.py`` checks: every valid
    respondent kept once, every flawed respondent dropped, every cell equal to
    the expected clean wave, and an exclusion reason containing ``straight``,
    ``speed`` or ``attention`` for each planted flaw and ``duplicate`` for each
    dropped copy.  It also checks that every planted bad cell (missing code,
    out of range) appears in ``cell_fixes``.

    Returns
    -------
    list of str
        Empty when the cleaning matches the truth.
    """
    problems = []
    idc = truth.clean.columns[0]
    got = result.data
    ids = list(got[idc].astype(str))
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} respondents appear more than once")
    exp = truth.clean.set_index(idc)
    have = got.drop_duplicates(idc).set_index(idc)
    for rid in sorted(set(exp.index) - set(have.index)):
        problems.append(f"{rid} was dropped but is a valid respondent")
    for rid in sorted(set(have.index) - set(exp.index)):
        problems.append(f"{rid} was kept but is flawed")
    common = sorted(set(exp.index) & set(have.index))
    cols = [c for c in exp.columns if c in have.columns and pd.api.types.is_numeric_dtype(exp[c])]
    a = exp.loc[common, cols].to_numpy(float)
    b = have.loc[common, cols].to_numpy(float)
    diff = ~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tol))
    for r, c in zip(*np.nonzero(diff)):
        problems.append(f"{common[r]} {cols[c]}: got {b[r, c]}, expected {a[r, c]}")
    reasons: dict = {}
    for rid, reason in zip(result.exclusions["respondent_id"], result.exclusions["reason"]):
        reasons.setdefault(str(rid), set()).add(str(reason).lower())
    for _, t in truth.respondent_truth.iterrows():
        rid = str(t[idc] if idc in t else t.iloc[0])
        for flag, word in (("straightline", "straight"), ("speeder", "speed"), ("attention", "attention")):
            if bool(t[flag]) and not any(word in x for x in reasons.get(rid, ())):
                problems.append(f"{rid}: no '{word}' exclusion reason")
        if int(t["duplicate_copies"]) > 0 and not any("duplicate" in x for x in reasons.get(rid, ())):
            problems.append(f"{rid}: the dropped duplicate copy is not recorded")
    fixed = set(zip(result.cell_fixes["respondent_id"].astype(str), result.cell_fixes["item"]))
    for _, c in truth.cell_truth.iterrows():
        if c["problem"] != "blank" and (str(c["respondent_id"]), c["item"]) not in fixed:
            problems.append(f"{c['respondent_id']} {c['item']}: the {c['problem']} cell is not in cell_fixes")
    return problems
