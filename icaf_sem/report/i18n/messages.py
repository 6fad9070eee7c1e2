"""Chinese texts of the run-time messages a report shows: warnings, cleaning steps, exclusion reasons.

The library raises its warnings in English (they are also Python warnings); the
report translates each one it shows by pattern.  A message no pattern knows is
shown in English after a Chinese lead-in (``（原文）``), so nothing is lost; the
tests check that every message of the bundled example wave is translated.

>>> from icaf_sem.report.i18n.messages import translate
>>> translate("speeders removed", "zh")
'剔除作答过快者'
"""
from __future__ import annotations

import re

__all__ = ["translate", "translate_stage", "translate_category", "UNTRANSLATED"]

UNTRANSLATED = "（原文）"

STAGES = {"clean": "数据清洗", "descriptives": "描述统计", "cfa": "验证性因子分析", "reliability": "信度与效度",
          "sem": "结构模型", "hypotheses": "假设检验", "second_order": "二阶模型", "method_bias": "共同方法偏差",
          "invariance": "测量不变性", "nca": "必要条件分析", "report": "报告", "pls": "PLS-SEM",
          "comparison": "竞争模型比较", "waves": "多轮调查比较"}

CATEGORIES = {"ReliabilityWarning": "信度警告", "HeywoodWarning": "Heywood 情形", "ConvergenceWarning": "未收敛",
              "NotPositiveDefiniteWarning": "矩阵非正定", "IdentificationWarning": "识别问题",
              "DataWarning": "数据警告", "FitWarning": "拟合警告", "IcafWarning": "警告",
              "EstimationError": "估计错误", "DataError": "数据错误", "IdentificationError": "识别错误",
              "ModelSpecificationError": "模型设定错误", "NormalityWarning": "正态性警告",
              "BootstrapWarning": "Bootstrap 警告"}

_CRIT = {"alpha": "Cronbach's \u03b1", "omega": "\u03c9", "composite_reliability": "组合信度 CR", "ave": "AVE",
         "cr": "组合信度 CR"}

_ACTIONS = {"missing code -> empty": "缺失代码 \u2192 空值", "out of range -> empty": "超出量表范围 \u2192 空值",
            "not a scale point -> empty": "非量表刻度值 \u2192 空值", "invalid text -> empty": "无效文本 \u2192 空值",
            "scale label -> value": "量表文字标签 \u2192 数值", "missing-value text -> empty": "缺失值文本 \u2192 空值",
            "category label -> declared value": "类别标签 \u2192 问卷声明值"}

_REASONS = {"duplicate submission (exact copy)": "重复提交（完全相同）", "duplicate submission": "重复提交",
            "conflicting duplicate id": "编号重复但作答不同", "failed attention check": "未通过注意力检测",
            "speeder": "作答过快", "straight-lining": "直线作答", "multivariate outlier": "多元异常值"}

_FIXED = {
    "rows in the raw data": "原始数据行数",
    "exact duplicate submissions removed": "剔除完全重复的提交",
    "conflicting duplicate ids flagged": "标记编号重复但作答不同者",
    "conflicting duplicate ids removed": "剔除编号重复但作答不同者",
    "failed attention check removed": "剔除未通过注意力检测者",
    "speeders removed": "剔除作答过快者",
    "straight-liners removed": "剔除直线作答者",
    "multivariate outliers removed": "剔除多元异常值",
    "multivariate outliers flagged (kept)": "标记多元异常值（保留）",
    "analysed sample": "最终分析样本",
    "cells recoded (none)": "单元格重新编码（无）",
    "the covariance matrix of the latent variables is not positive definite (a latent correlation beyond \u00b11?); "
    "inspect the latent covariances": "潜变量协方差矩阵非正定（可能存在绝对值超过 1 的潜变量相关）；请检查潜变量协方差。",
}


def _action_list(text: str) -> str:
    parts = []
    for piece in text.split(", "):
        a, _, n = piece.rpartition(": ")
        parts.append(f"{_ACTIONS.get(a, a)}：{n}" if a else _ACTIONS.get(piece, piece))
    return "，".join(parts)


def _group(text) -> str:
    """`` in group 'both'`` -> ``（组 both）``."""
    m = re.search(r"group '?([^')]*)'?", text or "")
    return f"（组 {m[1]}）" if m else ""


def _fit_parts(text: str) -> str:
    return re.sub(r" ?\(cut-off ([^)]*)\)", r"（临界值 \1）", text).replace(", ", "，")


_PATTERNS = [
    (r"cells recoded \((.+)\)", lambda m: f"单元格重新编码（{_action_list(m[1])}）"),
    (r"construct '([^']+)': (\w+) = ([-\d.]+) is below ([-\d.]+) \((.+)\)",
     lambda m: f"构念 {m[1]}：{_CRIT.get(m[2], m[2])} = {m[3]}，低于 {m[4]}（{m[5]}）。"),
    (r"constructs '([^']+)' and '([^']+)': HTMT = ([-\d.]+) is not below ([-\d.]+) \((.+)\)",
     lambda m: f"构念 {m[1]} 与 {m[2]}：HTMT = {m[3]}，未低于 {m[4]}（{m[5]}）。"),
    (r"constructs '([^']+)' and '([^']+)': latent correlation ([-\d.]+) is not below both sqrt\(AVE\) "
     r"\(([-\d.]+), ([-\d.]+)\) \((.+)\)",
     lambda m: f"构念 {m[1]} 与 {m[2]}：潜变量相关 {m[3]} 未低于两者的 \u221aAVE（{m[4]}，{m[5]}）（{m[6]}）。"),
    (r"Heywood case: the variance of '([^']+)'( \(group [^)]*\))? is negative \(([^)]*)\); consider whether the item "
     r"belongs to its construct, fix the variance to a small positive value, or collect more data",
     lambda m: f"Heywood 情形：{m[1]}{_group(m[2])} 的方差为负（{m[3]}）；请考虑该题项是否属于其构念、将该方差固定为一个"
               "较小的正值，或收集更多数据。"),
    (r"the standardized covariance (\S+) ~~ (\S+) is ([-\d.]+), beyond \u00b11: the solution is not admissible",
     lambda m: f"{m[1]} 与 {m[2]} 的标准化协方差为 {m[3]}，绝对值超过 1：该解不可接受。"),
    (r"the model-implied covariance matrix( \(group [^)]*\))? is not positive definite; the solution is not "
     r"admissible", lambda m: f"模型隐含协方差矩阵{_group(m[1])}非正定；该解不可接受。"),
    (r"the sample covariance matrix( in group '[^']*')? is not positive definite \(smallest eigenvalue ([^)]*)\): "
     r"some variables are linear combinations of others or there are too few rows; drop redundant items",
     lambda m: f"样本协方差矩阵{_group(m[1])}非正定（最小特征值 {m[2]}）：部分变量是其他变量的线性组合，或行数过少；请删除冗余题项。"),
    (r"only (\d+) usable rows( in group '[^']*')? for (\d+) observed variables: the sample covariance matrix cannot "
     r"be positive definite; results are unreliable",
     lambda m: f"{_group(m[2])}仅有 {m[1]} 行可用数据，而观测变量有 {m[3]} 个：样本协方差矩阵不可能正定，结果不可靠。"),
    (r"group\(s\) too small for a multi-group model in column '([^']+)': (.+) respondents \(at least (\d+) needed\)",
     lambda m: "组人数不足以进行多组分析（列 " + m[1] + "）：" + re.sub(r"'([^']+)' has (\d+)", r"\1 组 \2 人", m[2])
     .replace(", ", "，") + f"（至少需要 {m[3]} 人）"),
    (r"the group column '([^']+)' has (\d+) level\(s\) \((.*)\); invariance needs at least two groups",
     lambda m: f"分组列 {m[1]} 只有 {m[2]} 个取值，测量不变性检验至少需要两组"),
    (r"the optimiser did not converge after (\d+) iterations; .*",
     lambda m: f"优化算法在 {m[1]} 次迭代后仍未收敛；估计值不可靠，请检查模型（识别、初始值）与数据。"),
    (r"(CFA|SEM) fit misses the Hu & Bentler \(1999\) cut-offs: (.+)",
     lambda m: f"{m[1]} 的拟合未达到 Hu & Bentler (1999) 的临界值：{_fit_parts(m[2])}。"),
    (r"(\d+) of (\d+) bootstrap draws did not converge and were left out of the intervals",
     lambda m: f"{m[2]} 次 Bootstrap 抽样中有 {m[1]} 次未收敛，未计入置信区间。"),
    (r"the unmeasured latent method construct could not be fitted: (.+)",
     lambda m: f"无法拟合不可测潜在方法因子（ULMC）。{UNTRANSLATED}{m[1]}"),
    (r"(PLS-SEM for the cIPMA: )?(\d+) row\(s\) with missing indicator values dropped \(listwise deletion\)",
     lambda m: ("cIPMA 所用的 PLS-SEM：" if m[1] else "") + f"{m[2]} 行因指标缺失被删除（列表删除）。"),
    (r"cIPMA for '([^']+)': negative importance of (.+); the IPMA assumes that higher scores are better for the "
     r"target \(Ringle & Sarstedt 2016\): read their performance and necessity with care",
     lambda m: f"{m[1]} 的 cIPMA：{m[2].replace(', ', '、')} 的重要性为负；IPMA 假定得分越高对目标越有利"
               "（Ringle & Sarstedt 2016），请谨慎解读其绩效与必要性。"),
    (r"the competing-models comparison \(likelihood-ratio and Vuong tests\) needs the ML/MLR fit; it is not run "
     r"with ordered items", lambda m: "竞争模型比较（似然比检验与 Vuong 检验）需要 ML/MLR 拟合；题项按有序处理时不进行该比较。"),
    (r"the competing models could not be compared: (.+)", lambda m: f"无法比较竞争模型。{UNTRANSLATED}{m[1]}"),
    (r"Mardia's test skipped: (.+)", lambda m: f"未进行 Mardia 检验。{UNTRANSLATED}{m[1]}"),
    (r"necessity hypotheses not tested: (.+)", lambda m: f"未检验必要性假设。{UNTRANSLATED}{m[1]}"),
    (r"modification indices could not be computed: (.+)", lambda m: f"无法计算修正指数。{UNTRANSLATED}{m[1]}"),
    (r"(.+): (\d+) completely empty row\(s\) were skipped", lambda m: f"{m[1]}：跳过 {m[2]} 个完全空白的行。"),
    (r"(.+): column '([^']+)' has values not in the questionnaire \((.+)\); expected (.+); they are kept as given",
     lambda m: f"{m[1]}：列 {m[2]} 含有问卷未声明的取值（{m[3]}）；应为 {m[4]}；这些取值按原样保留。"),
    (r"(.+): too few complete respondents \((\d+)\) for (\d+) items; the multivariate outlier check is skipped",
     lambda m: f"{m[1]}：{m[3]} 个题项下作答完整的受访者过少（{m[2]} 人），跳过多元异常值检查。"),
    (r"(.+): no (duration column|'[^']+' values) in the data; the speeder rule is skipped",
     lambda m: f"{m[1]}：数据中没有作答时长，跳过作答过快规则。"),
    (r"(.+): attention item '([^']+)' is not in the data; that check is skipped",
     lambda m: f"{m[1]}：数据中没有注意力检测题 {m[2]}，跳过该检查。"),
]
_COMPILED = [(re.compile(p + r"\.?$"), f) for p, f in _PATTERNS]


def translate(message: str, language: str = "zh") -> str:
    """``message`` in ``language``: unchanged for English, translated by pattern for ``"zh"``.

    A message no pattern knows is returned as ``（原文）`` followed by the English text.
    """
    if language != "zh":
        return message
    msg = " ".join(str(message).split())
    if msg in _FIXED:
        return _FIXED[msg]
    if msg in _REASONS:
        return _REASONS[msg]
    for rx, fn in _COMPILED:
        m = rx.match(msg)
        if m:
            return fn(m)
    return UNTRANSLATED + msg


def translate_stage(stage: str, language: str = "zh") -> str:
    return STAGES.get(stage, stage) if language == "zh" else stage


def translate_category(category: str, language: str = "zh") -> str:
    return CATEGORIES.get(category, category) if language == "zh" else category
