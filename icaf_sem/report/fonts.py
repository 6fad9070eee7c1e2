"""The CJK font of the report: Noto Sans SC from the ``pylopdf-fonts-zh-cn`` package.

Chinese text needs a font that has its glyphs on every machine, including a
fresh one with no system CJK fonts.  The package ``pylopdf-fonts-zh-cn``
(a dependency, SIL Open Font License 1.1) ships Noto Sans SC; it is

* registered with matplotlib (``font_manager.fontManager.addfont``) and put
  after DejaVu Sans in the font fallback list, so Latin text keeps its look and
  every CJK glyph comes from Noto Sans SC -- no "Glyph missing" warning, no boxes;
* subset to the characters a report uses and embedded in report.html as an
  ``@font-face`` (a few hundred kB, not the 8 MB font);
* named as the East Asian font of report.docx.

A system "Noto Sans CJK SC" is used when the package is missing.
"""
from __future__ import annotations

import base64
import functools
import io
from pathlib import Path
from typing import Optional

__all__ = ["cjk_font_path", "register_matplotlib", "html_font_face", "CJK_FAMILY", "has_cjk"]

CJK_FAMILY = "Noto Sans SC"


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph or CJK punctuation."""
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in str(text))


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> Optional[Path]:
    """Path of the CJK font file (Noto Sans SC), or None when neither the package nor a system font has one."""
    try:
        import pylopdf_fonts_zh_cn as _f
        p = Path(_f.sans_path())
        if p.is_file():
            return p
    except ImportError:
        pass
    from matplotlib import font_manager
    for f in font_manager.fontManager.ttflist:
        if f.name in ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC"):
            return Path(f.fname)
    return None


@functools.lru_cache(maxsize=1)
def register_matplotlib() -> Optional[str]:
    """Register the CJK font with matplotlib and add it to the sans-serif fallback list.

    Returns the family name registered (None when no CJK font is available).
    Latin text keeps DejaVu Sans; matplotlib (>= 3.6) takes each missing glyph from
    the next family of ``font.sans-serif``.
    """
    import matplotlib
    from matplotlib import font_manager
    p = cjk_font_path()
    if p is None:
        return None
    font_manager.fontManager.addfont(str(p))
    name = font_manager.FontProperties(fname=str(p)).get_name()
    fams = list(matplotlib.rcParams["font.sans-serif"])
    if name in fams:
        fams.remove(name)
    head = [f for f in fams if f == "DejaVu Sans"] or ["DejaVu Sans"]
    matplotlib.rcParams["font.sans-serif"] = head + [name] + [f for f in fams if f not in head]
    # the fallback chain: matplotlib (>= 3.6) takes a glyph missing from DejaVu Sans from the next family
    matplotlib.rcParams["font.family"] = head + [name]
    matplotlib.rcParams["axes.unicode_minus"] = True
    return name


def html_font_face(text: str) -> str:
    """An ``@font-face`` rule embedding the CJK font subset to the characters of ``text`` ("" if none needed).

    The subset is made with fontTools (a matplotlib dependency) and embedded as
    base64 OpenType, so report.html shows Chinese on a machine without CJK fonts.
    """
    chars = {ch for ch in str(text) if has_cjk(ch)}
    p = cjk_font_path()
    if not chars or p is None:
        return ""
    from fontTools import subset
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    font = subset.load_font(str(p), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(sorted(chars)) + "，。：；（）、“”")
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    font.close()
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"@font-face{{font-family:'{CJK_FAMILY} Embedded';src:url(data:font/otf;base64,{b64}) "
            "format('opentype');font-display:swap}")
