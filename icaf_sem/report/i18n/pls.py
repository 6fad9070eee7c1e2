"""Texts of the report's PLS-SEM sections (:mod:`icaf_sem.report.pls_tables`), English and Chinese.

Merged into every catalogue by :func:`icaf_sem.report.i18n.catalogue`; both dictionaries hold the same keys.
"""

EN = {
    "section.pls": "PLS-SEM (SmartPLS-style assessment)",
    "pmeta": ("{source}: {n_raw} rows, {n} respondents in the PLS-SEM model{boot}. SRMR = {srmr}. "
              "Hypotheses supported: {k} of {h} tested."),
    "fig.ipma": "Importance-performance map of {target} (IPMA)",
    "pls.importance": "Importance (total effect on {target})", "pls.performance": "Performance (0\u2013100)",
    # titles
    "title.pls_measurement": "PLS-SEM measurement model: loadings, weights, reliability and convergent validity",
    "title.pls_discriminant": "PLS-SEM discriminant validity: Fornell\u2013Larcker criterion and HTMT",
    "title.pls_htmt": "PLS-SEM HTMT with bootstrap confidence intervals",
    "title.pls_cross_loadings": "PLS-SEM cross-loadings",
    "title.pls_collinearity": "PLS-SEM collinearity of the structural model (inner VIF)",
    "title.pls_structural": "PLS-SEM structural model: path coefficients and effect sizes",
    "title.pls_r2": "PLS-SEM explained variance",
    "title.pls_model_fit": "PLS-SEM model fit",
    "title.pls_predict": "PLSpredict: out-of-sample prediction of the outcome indicators",
    "title.pls_ipma": "Importance-performance map analysis (IPMA)",
    "title.pls_hypotheses": "Hypothesis tests (PLS-SEM)",
    "title.method_comparison": "Hypotheses under CB-SEM and PLS-SEM side by side",
    # headers
    "ph.construct": "Construct", "ph.indicator": "Indicator", "ph.loading": "Loading", "ph.t": "*t*",
    "ph.p": "*p*", "ph.weight": "Weight", "ph.vif": "VIF", "ph.alpha": "\u03b1", "ph.rho_a": "\u03c1_A",
    "ph.rho_c": "\u03c1_C", "ph.ave": "AVE", "ph.pair": "Constructs", "ph.htmt": "HTMT",
    "ph.ci": "{level}% CI", "ph.htmt_ok": "HTMT < {cut}", "ph.ci_below_1": "Upper bound < 1",
    "ph.outcome": "Outcome", "ph.predictor": "Predictor", "ph.path": "Path", "ph.beta": "\u03b2",
    "ph.mean": "*M* (bootstrap)", "ph.se": "*SE*", "ph.f2": "*f*\u00b2", "ph.f2_size": "Effect size",
    "ph.r2": "*R*\u00b2", "ph.adj_r2": "Adjusted *R*\u00b2", "ph.r2_ci": "*R*\u00b2 {level}% CI",
    "ph.measure": "Measure", "ph.saturated": "Saturated model", "ph.estimated": "Estimated model",
    "ph.sat_hi95": "Saturated HI95", "ph.sat_hi99": "Saturated HI99", "ph.est_hi95": "Estimated HI95",
    "ph.est_hi99": "Estimated HI99",
    "pnote.fit_test": ("HI95 and HI99: 95% and 99% quantiles of the discrepancy over at least {draws} "
                       "Bollen\u2013Stine bootstrap samples (data rotated to the model-implied correlations, "
                       "seed {seed}); a value above HI95 (HI99) rejects exact fit at the 5% (1%) level "
                       "(Dijkstra & Henseler 2015)."),
    "ph.q2": "*Q*\u00b2_predict", "ph.rmse": "RMSE (PLS)", "ph.mae": "MAE (PLS)",
    "ph.lm_rmse": "RMSE (LM)", "ph.lm_mae": "MAE (LM)", "ph.pls_better": "PLS RMSE < LM",
    "ph.target": "Target", "ph.importance": "Importance", "ph.performance": "Performance",
    "ph.hypothesis": "Hypothesis", "ph.expected": "Expected", "ph.est": "Estimate", "ph.type": "Type",
    "ph.supported": "Supported", "ph.cb_beta": "CB-SEM \u03b2", "ph.cb_p": "CB-SEM *p*",
    "ph.cb_supported": "CB-SEM supported", "ph.pls_beta": "PLS \u03b2", "ph.pls_p": "PLS *p*",
    "ph.pls_supported": "PLS supported", "ph.agree": "Same verdict",
    "f2.large": "large", "f2.medium": "medium", "f2.small": "small", "f2.none": "none",
    "kind.path": "path", "kind.mediation": "indirect", "kind.covariance": "covariance (not tested)",
    # notes
    "pnote.estimation": ("PLS-SEM ({algo}, {scheme} weighting; indicators standardized; {missing}), *N* = {n}. "
                         "Higher-order constructs: {hoc}. {boot}"),
    "pnote.algo.pls": "PLS-PM, composites (mode A)", "pnote.algo.plsc": "PLSc, common factors (Dijkstra & Henseler 2015)",
    "pnote.missing.listwise": "casewise deletion", "pnote.missing.mean": "mean replacement",
    "pnote.hoc.two_stage": "disjoint two-stage approach (stage-1 dimension scores are the indicators of the "
                           "higher-order construct)",
    "pnote.hoc.repeated_indicators": "repeated-indicators approach",
    "pnote.boot": "Bootstrap: {draws} draws (seed {seed}), percentile intervals; *t* = estimate / bootstrap *SE*.",
    "pnote.noboot": "No bootstrap was run: no *t*, *p* or intervals.",
    "pnote.measurement": ("Loadings of a higher-order construct are those of its dimensions' scores. "
                          "Thresholds (Hair et al. 2019): loading \u2265 .708, \u03b1, \u03c1_A, "
                          "\u03c1_C \u2265 .70, AVE \u2265 .50; indicator VIF < 5 (ideally < 3)."),
    "pnote.discriminant": ("Diagonal: \u221aAVE; below it: construct correlations (Fornell & Larcker 1981); above "
                           "it: HTMT (Henseler, Ringle & Sarstedt 2015)."),
    "pnote.htmt": ("HTMT below {cut} (Henseler, Ringle & Sarstedt 2015) and the bootstrap interval's upper bound "
                   "below 1 indicate discriminant validity."),
    "pnote.cross": "Correlations of every indicator with every construct score; each indicator should load highest "
                   "on its own construct.",
    "pnote.collinearity": "VIF of each predictor of an endogenous construct; values below 3 show no critical "
                          "collinearity (Hair et al. 2019).",
    "pnote.structural": ("*f*\u00b2 = (*R*\u00b2(incl.) \u2212 *R*\u00b2(excl.)) / "
                         "(1 \u2212 *R*\u00b2(incl.)); .02, .15 and .35 are small, medium and large "
                         "(Cohen 1988)."),
    "pnote.fit": ("SRMR, d_ULS (half the squared Euclidean distance) and d_G (geodesic distance) "
                  "between the empirical and the model-implied indicator correlation matrix (Dijkstra & Henseler "
                  "2015; =~ blocks as common factors, <~ blocks as composites). Saturated model: constructs freely "
                  "correlated; estimated model: correlations implied by the structural paths. SRMR < .08 suggests "
                  "a good fit (Henseler et al. 2014); PLS-SEM fit measures are to be read with caution (Hair et "
                  "al. 2019)."),
    "pnote.predict": ("{folds}-fold cross-validation, {reps} repetitions (seed {seed}). *Q*\u00b2_predict "
                      "> 0: the model predicts better than the indicator means; PLS RMSE below the linear-model "
                      "(LM) benchmark's shows predictive power (Shmueli et al. 2019)."),
    "pnote.predict_loo": "Leave-one-out cross-validation.",
    "pnote.ipma": ("Importance: unstandardized total effect on the target; performance: mean construct score "
                   "rescaled to 0\u2013100 from the answer scale {lo}\u2013{hi} (Ringle & Sarstedt 2016)."),
    "pnote.hypotheses": ("A path is supported when *p* < {alpha} (two-sided, bootstrap *t*) with the expected sign; "
                         "an indirect effect when its {level}% bootstrap percentile interval excludes 0 (as in the "
                         "CB-SEM table). Covariance hypotheses have no PLS-SEM counterpart and are not tested."),
    "pnote.comparison": ("\u03b2: standardized estimates (CB-SEM std.all; PLS path coefficients and specific indirect "
                         "effects). Each method's verdict follows its own table."),
    "pnote.second_order": "Higher-order constructs: {hoc}.",
}

ZH = {
    "section.pls": "PLS-SEM（SmartPLS 式评估）",
    "pmeta": "{source}：{n_raw} 行，PLS-SEM 模型纳入 {n} 名受访者{boot}。SRMR = {srmr}。得到支持的假设：已检验 {h} 项中的 {k} 项。",
    "fig.ipma": "{target} 的重要性-绩效图（IPMA）",
    "pls.importance": "重要性（对 {target} 的总效应）", "pls.performance": "绩效（0\u2013100）",
    "title.pls_measurement": "PLS-SEM 测量模型：载荷、权重、信度与聚合效度",
    "title.pls_discriminant": "PLS-SEM 区分效度：Fornell\u2013Larcker 准则与 HTMT",
    "title.pls_htmt": "PLS-SEM HTMT 及其自助法置信区间",
    "title.pls_cross_loadings": "PLS-SEM 交叉载荷",
    "title.pls_collinearity": "PLS-SEM 结构模型的共线性（内部 VIF）",
    "title.pls_structural": "PLS-SEM 结构模型：路径系数与效应量",
    "title.pls_r2": "PLS-SEM 解释方差",
    "title.pls_model_fit": "PLS-SEM 模型拟合",
    "title.pls_predict": "PLSpredict：结果变量指标的样本外预测",
    "title.pls_ipma": "重要性-绩效图分析（IPMA）",
    "title.pls_hypotheses": "假设检验（PLS-SEM）",
    "title.method_comparison": "CB-SEM 与 PLS-SEM 假设检验结果对照",
    "ph.construct": "构念", "ph.indicator": "指标", "ph.loading": "载荷", "ph.t": "*t*",
    "ph.p": "*p*", "ph.weight": "权重", "ph.vif": "VIF", "ph.alpha": "\u03b1", "ph.rho_a": "\u03c1_A",
    "ph.rho_c": "\u03c1_C", "ph.ave": "AVE", "ph.pair": "构念对", "ph.htmt": "HTMT",
    "ph.ci": "{level}% 置信区间", "ph.htmt_ok": "HTMT < {cut}", "ph.ci_below_1": "上限 < 1",
    "ph.outcome": "结果变量", "ph.predictor": "预测变量", "ph.path": "路径", "ph.beta": "\u03b2",
    "ph.mean": "*M*（自助法）", "ph.se": "*SE*", "ph.f2": "*f*\u00b2", "ph.f2_size": "效应量",
    "ph.r2": "*R*\u00b2", "ph.adj_r2": "调整 *R*\u00b2", "ph.r2_ci": "*R*\u00b2 {level}% 置信区间",
    "ph.measure": "指标", "ph.saturated": "饱和模型", "ph.estimated": "估计模型",
    "ph.sat_hi95": "饱和模型 HI95", "ph.sat_hi99": "饱和模型 HI99", "ph.est_hi95": "估计模型 HI95",
    "ph.est_hi99": "估计模型 HI99",
    "pnote.fit_test": ("HI95 与 HI99：至少 {draws} 个 Bollen\u2013Stine 自助样本（数据旋转至模型隐含相关，种子 {seed}）"
                       "中差异值的 95% 与 99% 分位数；数值高于 HI95（HI99）即在 5%（1%）水平上拒绝精确拟合"
                       "（Dijkstra & Henseler 2015）。"),
    "ph.q2": "*Q*\u00b2_predict", "ph.rmse": "RMSE（PLS）", "ph.mae": "MAE（PLS）",
    "ph.lm_rmse": "RMSE（LM）", "ph.lm_mae": "MAE（LM）", "ph.pls_better": "PLS RMSE < LM",
    "ph.target": "目标构念", "ph.importance": "重要性", "ph.performance": "绩效",
    "ph.hypothesis": "假设", "ph.expected": "预期", "ph.est": "估计值", "ph.type": "类型",
    "ph.supported": "是否支持", "ph.cb_beta": "CB-SEM \u03b2", "ph.cb_p": "CB-SEM *p*",
    "ph.cb_supported": "CB-SEM 支持", "ph.pls_beta": "PLS \u03b2", "ph.pls_p": "PLS *p*",
    "ph.pls_supported": "PLS 支持", "ph.agree": "结论一致",
    "f2.large": "大", "f2.medium": "中", "f2.small": "小", "f2.none": "无",
    "kind.path": "路径", "kind.mediation": "间接效应", "kind.covariance": "协方差（未检验）",
    "pnote.estimation": ("PLS-SEM（{algo}，{scheme} 加权；指标标准化；{missing}），*N* = {n}。"
                         "高阶构念：{hoc}。{boot}"),
    "pnote.algo.pls": "PLS-PM，复合变量（模式 A）", "pnote.algo.plsc": "PLSc，共同因子（Dijkstra & Henseler 2015）",
    "pnote.missing.listwise": "个案删除", "pnote.missing.mean": "均值替代",
    "pnote.hoc.two_stage": "分离两阶段法（第一阶段维度得分作为高阶构念的指标）",
    "pnote.hoc.repeated_indicators": "重复指标法",
    "pnote.boot": "自助法：{draws} 次抽样（种子 {seed}），百分位区间；*t* = 估计值 / 自助法 *SE*。",
    "pnote.noboot": "未进行自助法：无 *t*、*p* 与置信区间。",
    "pnote.measurement": ("高阶构念的载荷为其维度得分的载荷。阈值（Hair 等 2019）：载荷 \u2265 .708，"
                          "\u03b1、\u03c1_A、\u03c1_C \u2265 .70，AVE \u2265 .50；"
                          "指标 VIF < 5（最好 < 3）。"),
    "pnote.discriminant": ("对角线：\u221aAVE；下三角：构念相关（Fornell & Larcker 1981）；上三角："
                           "HTMT（Henseler、Ringle & Sarstedt 2015）。"),
    "pnote.htmt": "HTMT 低于 {cut}（Henseler、Ringle & Sarstedt 2015）且自助法区间上限低于 1 表明具有区分效度。",
    "pnote.cross": "各指标与各构念得分的相关；每个指标应在其所属构念上载荷最高。",
    "pnote.collinearity": "内生构念各预测变量的 VIF；低于 3 表明无严重共线性（Hair 等 2019）。",
    "pnote.structural": ("*f*\u00b2 = (*R*\u00b2(包含) \u2212 *R*\u00b2(排除)) / "
                         "(1 \u2212 *R*\u00b2(包含))；.02、.15、.35 分别为小、中、大效应（Cohen 1988）。"),
    "pnote.fit": ("SRMR、d_ULS（欧氏距离平方的一半）与 d_G（测地距离）衡量经验指标相关矩阵与"
                  "模型隐含相关矩阵的差异（Dijkstra & Henseler 2015；=~ 区块按共同因子、<~ 区块按复合变量）。"
                  "饱和模型：构念间自由相关；估计模型：由结构路径隐含的相关。SRMR < .08 表示拟合良好"
                  "（Henseler 等 2014）；PLS-SEM 的拟合指标需谨慎解读（Hair 等 2019）。"),
    "pnote.predict": ("{folds} 折交叉验证，重复 {reps} 次（种子 {seed}）。*Q*\u00b2_predict > 0："
                      "模型预测优于指标均值；PLS 的 RMSE 低于线性模型（LM）基准表明具有预测力（Shmueli 等 2019）。"),
    "pnote.predict_loo": "留一法交叉验证。",
    "pnote.ipma": ("重要性：对目标构念的非标准化总效应；绩效：按答题量表 {lo}\u2013{hi} 换算到 0\u2013100 的构念"
                   "平均得分（Ringle & Sarstedt 2016）。"),
    "pnote.hypotheses": ("路径在 *p* < {alpha}（双侧，自助法 *t*）且符号符合预期时得到支持；间接效应在其 {level}% "
                         "自助法百分位区间不含 0 时得到支持（与 CB-SEM 表相同）。协方差假设在 PLS-SEM 中没有对应参数，"
                         "不予检验。"),
    "pnote.comparison": ("\u03b2：标准化估计值（CB-SEM 为 std.all；PLS 为路径系数与特定间接效应）。"
                         "两种方法的结论各依其表。"),
    "pnote.second_order": "高阶构念：{hoc}。",
}
