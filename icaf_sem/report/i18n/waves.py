"""Texts of the comparison of survey waves (:mod:`icaf_sem.report.waves`), English and Chinese.

Kept beside :mod:`.en` / :mod:`.zh` and merged into their catalogues, so that the section can
grow without touching the main catalogues.  ``*x*`` marks an italic statistical symbol.
"""

EN = {
    "section.waves": "Comparison of survey waves",
    "title.wave_samples": "Respondents by survey wave",
    "title.wave_invariance": "Measurement invariance across survey waves",
    "title.wave_latent_means": "Latent mean differences between survey waves",
    "title.wave_path_equality": "Hypothesised paths across survey waves",
    "h.wave": "Wave", "h.n_raw": "Rows read", "h.n_excluded": "Excluded", "h.n_clean": "Analysed",
    "h.blank_cells": "Blank item answers", "h.delta_chisq": "\u0394\u03c7\u00b2", "h.delta_df": "\u0394*df*",
    "h.delta_p": "*p* (\u0394\u03c7\u00b2)", "h.delta_cfi": "\u0394CFI", "h.delta_rmsea": "\u0394RMSEA",
    "h.invariant": "Invariant", "h.chisq": "\u03c7\u00b2", "h.chisq_scaled": "\u03c7\u00b2 (scaled)",
    "h.mean_diff": "Difference", "h.d": "*d*", "h.b_wave": "*b* ({wave})", "h.beta_wave": "\u03b2 ({wave})",
    "h.p_holm": "*p* (Holm)", "h.differs": "Differs", "h.equal_b": "*b* (held equal)",
    "wstep.configural": "Configural", "wstep.metric": "Metric (loadings)", "wstep.scalar": "Scalar (intercepts)",
    "wstep.strict": "Strict (residual variances)", "wstep.lv.variances": "Latent variances",
    "wstep.means": "Latent means",
    "note.wave_samples": ("Each wave was cleaned with the same rules of the questionnaire (speeders, straight-lining, "
                          "attention checks, duplicates). Blank item answers are kept under {missing}."),
    "note.wave_invariance": ("Multi-group CFA of the first-order measurement model across waves ({estimator}, "
                             "{missing}; lavaan's group.equal); each step adds equality constraints to the previous "
                             "one. *N* = {sizes}. {test} {rule} Highest level supported: {highest}."),
    "note.wave_invariance.test.ML": "\u0394\u03c7\u00b2 = likelihood-ratio test against the previous step.",
    "note.wave_invariance.test.MLR": ("\u03c7\u00b2 scaled (Yuan\u2013Bentler); \u0394\u03c7\u00b2 = Satorra\u2013"
                                      "Bentler (2001) scaled difference; CFI and RMSEA robust."),
    "note.wave_rule.cheung_rensvold2002": ("A step is invariant when \u0394CFI > \u2212.010 (Cheung & Rensvold, "
                                           "2002)."),
    "note.wave_rule.chen2007": ("A step is non-invariant when \u0394CFI \u2264 \u2212.010 together with \u0394RMSEA "
                                "\u2265 .015 (Chen, 2007)."),
    "note.wave_rule.chisq": "A step is invariant when the \u0394\u03c7\u00b2 test is not significant at \u03b1 = {alpha}.",
    "note.wave_latent_means": ("Latent means of the {ref} wave fixed to 0; Difference = latent mean of the wave minus "
                               "that of {ref} ({estimator}, {missing}); *d* = difference in {ref} latent standard "
                               "deviations. {basis}"),
    "note.wave_basis.full": "Scalar invariance holds, so the latent means are comparable.",
    "note.wave_basis.partial": ("Partial scalar invariance: the intercepts of {released} are free across waves; the "
                                "latent means are comparable (Byrne et al., 1989)."),
    "note.wave_basis.none": ("Scalar invariance does not hold: these differences are not interpretable as changes in "
                             "the constructs."),
    "note.wave_paths": ("Estimates by wave from the model with equal loadings (metric invariance) and every path "
                        "free; *b* = unstandardized, \u03b2 = standardized (std.all). \u0394\u03c7\u00b2 tests the "
                        "path held equal across waves against that model ({test}); Holm = Holm-adjusted across the "
                        "{k} paths. Differs at \u03b1 = {alpha}."),
    "note.wave_paths.test.ML": "likelihood-ratio test",
    "note.wave_paths.test.MLR": "Satorra\u2013Bentler (2001) scaled difference",
    "note.wave_paths.metric_fails": (" Metric invariance was not supported across waves: read the path comparisons "
                                     "with caution."),
    "fig.paths_by_wave": "Hypothesised paths by survey wave: standardized estimates with 95% CIs (* differs across waves)",
    "fig.waves_xlabel": "Standardized estimate (95% CI)",
    "wave_report_title": "{name}: comparison of survey waves",
    "wave_meta": ("Waves {waves}: {n} respondents analysed. {estimator}, {missing}. Measurement invariance up to: "
                  "{highest}. Paths differing across waves: {k} of {p}."),
}

ZH = {
    "section.waves": "各轮调查比较",
    "title.wave_samples": "各轮调查的样本",
    "title.wave_invariance": "各轮调查间的测量不变性",
    "title.wave_latent_means": "各轮调查间的潜均值差异",
    "title.wave_path_equality": "各轮调查间的假设路径比较",
    "h.wave": "轮次", "h.n_raw": "读入行数", "h.n_excluded": "剔除", "h.n_clean": "分析样本",
    "h.blank_cells": "空白题项作答", "h.delta_chisq": "\u0394\u03c7\u00b2", "h.delta_df": "\u0394*df*",
    "h.delta_p": "*p*（\u0394\u03c7\u00b2）", "h.delta_cfi": "\u0394CFI", "h.delta_rmsea": "\u0394RMSEA",
    "h.invariant": "不变", "h.chisq": "\u03c7\u00b2", "h.chisq_scaled": "\u03c7\u00b2（校正）",
    "h.mean_diff": "差异", "h.d": "*d*", "h.b_wave": "*b*（{wave}）", "h.beta_wave": "\u03b2（{wave}）",
    "h.p_holm": "*p*（Holm）", "h.differs": "存在差异", "h.equal_b": "*b*（约束相等）",
    "wstep.configural": "形态不变", "wstep.metric": "弱不变（载荷）", "wstep.scalar": "强不变（截距）",
    "wstep.strict": "严格不变（残差方差）", "wstep.lv.variances": "潜变量方差相等", "wstep.means": "潜均值相等",
    "note.wave_samples": "各轮数据均按问卷的同一套规则清洗（过快作答、直线作答、注意力检测、重复作答）。{missing}下保留空白题项。",
    "note.wave_invariance": ("跨轮次的一阶测量模型多组验证性因子分析（{estimator}，{missing}；lavaan 的 group.equal），"
                             "每一步在前一步基础上增加等值约束。*N* = {sizes}。{test}{rule}最高支持层级：{highest}。"),
    "note.wave_invariance.test.ML": "\u0394\u03c7\u00b2 为相对前一步的似然比检验。",
    "note.wave_invariance.test.MLR": ("\u03c7\u00b2 为 Yuan\u2013Bentler 校正值；\u0394\u03c7\u00b2 为 Satorra\u2013"
                                      "Bentler（2001）校正差异检验；CFI 与 RMSEA 为稳健值。"),
    "note.wave_rule.cheung_rensvold2002": "\u0394CFI > \u2212.010 时视为不变（Cheung & Rensvold, 2002）。",
    "note.wave_rule.chen2007": "\u0394CFI \u2264 \u2212.010 且 \u0394RMSEA \u2265 .015 时视为不具不变性（Chen, 2007）。",
    "note.wave_rule.chisq": "\u0394\u03c7\u00b2 检验在 \u03b1 = {alpha} 水平不显著时视为不变。",
    "note.wave_latent_means": ("{ref} 轮的潜均值固定为 0；差异 = 该轮潜均值减去 {ref} 轮潜均值（{estimator}，{missing}）；"
                               "*d* = 以 {ref} 轮潜变量标准差计的差异。{basis}"),
    "note.wave_basis.full": "强不变成立，潜均值可以比较。",
    "note.wave_basis.partial": "部分强不变：{released} 的截距在各轮间自由估计；潜均值可以比较（Byrne et al., 1989）。",
    "note.wave_basis.none": "强不变不成立：这些差异不能解释为构念本身的变化。",
    "note.wave_paths": ("各轮估计值来自载荷相等（弱不变）且所有路径自由估计的模型；*b* = 非标准化系数，\u03b2 = 标准化系数"
                        "（std.all）。\u0394\u03c7\u00b2 检验将该路径约束为各轮相等后与该模型的差异（{test}）；"
                        "Holm = 对 {k} 条路径作 Holm 校正。以 \u03b1 = {alpha} 判断是否存在差异。"),
    "note.wave_paths.test.ML": "似然比检验",
    "note.wave_paths.test.MLR": "Satorra\u2013Bentler（2001）校正差异检验",
    "note.wave_paths.metric_fails": "跨轮次弱不变未获支持：路径比较的结果需谨慎解读。",
    "fig.paths_by_wave": "各轮调查的假设路径：标准化估计值及 95% 置信区间（* 表示各轮间存在差异）",
    "fig.waves_xlabel": "标准化估计值（95% CI）",
    "wave_report_title": "{name}：各轮调查比较",
    "wave_meta": ("轮次 {waves}：分析样本 {n} 人。{estimator}，{missing}。测量不变性最高层级：{highest}。"
                  "各轮间存在差异的路径：{k} / {p}。"),
}
