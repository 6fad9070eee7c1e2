"""Message catalogues of the report, one per language (:mod:`.en`, :mod:`.zh`).

Every fixed text of the report (table titles, column headers, notes, verdicts,
figure labels, section headings) is looked up here by key, so that a report is
written whole in one language.  ``"both"`` is the English report with the
questionnaire's Chinese wording and construct names beside the English ones.

>>> from icaf_sem.report.i18n import catalogue
>>> catalogue("zh")["title.hypothesis_tests"]
'假设检验'
"""
from __future__ import annotations

from ...errors import ModelSpecificationError

__all__ = ["catalogue", "LANGUAGES", "Catalogue", "check_language"]

LANGUAGES = ("en", "zh", "both")


def check_language(language) -> str:
    """Validate ``language`` (``"en"``, ``"zh"`` or ``"both"``) and return it lower-cased."""
    lang = str(language).lower() if isinstance(language, str) else language
    if lang not in LANGUAGES:
        raise ModelSpecificationError(f"language={language!r} is not supported; use 'en' (English, the default), "
                                      "'zh' (Chinese) or 'both' (English with the Chinese wording beside it)")
    return lang


class Catalogue(dict):
    """The texts of one language; ``cat.f(key, **values)`` fills a template."""

    language: str = "en"

    def f(self, key: str, **values) -> str:
        return self[key].format(**values)

    @property
    def text_language(self) -> str:
        """The language of the running text (``"both"`` writes English text)."""
        return "zh" if self.language == "zh" else "en"

    def name(self, spec_names: dict, code: str, *, with_code: bool = True) -> str:
        """A construct/category name in the report's language: ``"BC"``, ``"业务协同 (BC)"``,
        ``"Business collaboration / 业务协同"``."""
        en, zh = spec_names.get("en", ""), spec_names.get("zh", "")
        if self.language == "zh":
            base = zh or en
        elif self.language == "both":
            base = " / ".join(x for x in (en, zh) if x)
        else:
            base = en
        if not base:
            return code
        return f"{base} ({code})" if with_code else base


def catalogue(language: str = "en") -> Catalogue:
    """The catalogue of ``language`` (``"en"``, ``"zh"`` or ``"both"``)."""
    lang = check_language(language)
    from . import en, zh
    cat = Catalogue(en.TEXT)
    if lang == "zh":
        missing = set(en.TEXT) - set(zh.TEXT)
        if missing:     # a key without translation would silently fall back to English
            raise KeyError(f"the Chinese catalogue lacks {sorted(missing)[:5]}")
        cat = Catalogue(zh.TEXT)
    from . import pls as _pls          # the PLS-SEM sections' texts
    cat.update(_pls.ZH if lang == "zh" else _pls.EN)
    from . import waves      # the comparison of survey waves keeps its texts in its own module
    cat.update(waves.ZH if lang == "zh" else waves.EN)
    cat.language = lang
    return cat
