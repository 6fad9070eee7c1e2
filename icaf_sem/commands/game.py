"""``icaf-sem game``: a tripartite (or any n-player, two-strategy) evolutionary game -> report folder.

    icaf-sem game --config questionnaires/tripartite_game.yaml --out DIR
                  [--wave clean.csv --questionnaire questionnaires/icaf.yaml] [--method scores|latent]
                  [--sigmas 0,0.5,1,2] [--paths 2000] [--steps 2000] [--T 20] [--seed 1]
                  [--noise "x(1-x),x"] [--scheme milstein|euler|logit] [--no-figures]

DIR gets results.json (replicator equations, equilibria with Jacobians and
eigenvalues, the ESS table, stability under noise, simulation summaries,
sweeps, the survey calibration), figures/ (PNG and SVG) and game_en.html /
game_zh.html, written whole or not at all.
"""
from __future__ import annotations

import sys


def _floats(text: str, flag: str) -> list:
    from ..errors import ModelSpecificationError
    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ModelSpecificationError(f"{flag} {text!r}: give numbers separated by commas, e.g. {flag} 0,0.5,1") from None
    if not vals:
        raise ModelSpecificationError(f"{flag} {text!r}: give at least one number")
    return vals


def add_parser(subparsers):
    p = subparsers.add_parser(
        "game", help="evolutionary game: replicator equations, ESS table, stochastic paths, sweeps, report section",
        description="Analyse an evolutionary game described in YAML (players, strategies, payoff parameters), "
                    "optionally with payoff parameters set from a cleaned survey wave by role.")
    p.add_argument("--config", "-c", required=True, metavar="YAML",
                   help="the game, e.g. questionnaires/tripartite_game.yaml ('tripartite_game' for the bundled one)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created if needed)")
    p.add_argument("--wave", metavar="CSV", help="cleaned survey wave (icaf-sem clean's clean.csv) setting the "
                   "parameters listed under survey.mapping in the game file")
    p.add_argument("--questionnaire", "-q", metavar="YAML", help="the wave's instrument (needed with --wave)")
    p.add_argument("--method", default="scores", choices=["scores", "latent"],
                   help="levels from mean construct scores (default) or a scalar-invariant multi-group CFA by role")
    p.add_argument("--sigmas", help="noise intensities, comma-separated (default: the file's simulation.sigmas)")
    p.add_argument("--noise", help="'x(1-x)', 'x' or both comma-separated (default: the file's)")
    p.add_argument("--scheme", choices=["milstein", "euler", "logit"], help="default: the file's (milstein)")
    p.add_argument("--paths", type=int, help="simulated paths per sigma (default: the file's)")
    p.add_argument("--steps", type=int, help="time steps (default: the file's)")
    p.add_argument("--T", type=float, help="time horizon (default: the file's)")
    p.add_argument("--seed", type=int, help="random seed (default: the file's)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures (faster)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import DataError, ModelSpecificationError
    from ..game.model import load_game
    from ..game.report import analyze_game

    game = load_game(args.config)
    data = None
    if args.wave:
        if not args.questionnaire:
            raise ModelSpecificationError("--wave needs --questionnaire (the instrument of the wave, e.g. "
                                          "questionnaires/icaf.yaml)")
        from ..questionnaire import load_questionnaire
        from ..survey.io import load_survey
        q = load_questionnaire(args.questionnaire)
        data = load_survey(args.wave, q)
        bad = [c for c in q.items if c in data.columns and data[c].dtype == object]
        if bad:
            raise DataError(f"--wave {args.wave}: item column {bad[0]} holds text; fix: pass the cleaned wave "
                            "(icaf-sem clean ... writes clean.csv)")
    elif args.questionnaire:
        raise ModelSpecificationError("--questionnaire is only used with --wave; fix: add --wave clean.csv or drop it")
    for flag, v in (("--paths", args.paths), ("--steps", args.steps)):
        if v is not None and v < 1:
            raise ModelSpecificationError(f"{flag} {v}: must be a whole number >= 1")
    if args.T is not None and not args.T > 0:
        raise ModelSpecificationError(f"--T {args.T}: the horizon must be positive")
    sigmas = _floats(args.sigmas, "--sigmas") if args.sigmas else None
    noise = [t.strip() for t in args.noise.split(",") if t.strip()] if args.noise else None
    res = analyze_game(game, data=data, questionnaire=args.questionnaire if data is not None else None,
                       method=args.method, sigmas=sigmas, noise=noise, scheme=args.scheme, paths=args.paths,
                       steps=args.steps, T=args.T, seed=args.seed)
    res.write(args.out, figures=not args.no_figures)
    if not args.quiet:
        sys.stdout.write(res.summary() + f"\nWrote {args.out}/results.json, game_en.html, game_zh.html"
                         + ("" if args.no_figures else " and figures/") + "\n")
    return 0
