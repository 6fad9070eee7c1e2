"""中文报告文本（Chinese texts of the report）。``*x*`` 标记斜体统计符号。"""

TEXT = {
    "yes": "是", "no": "否", "missing": "（缺失）",
    "supported": "支持", "not_supported": "不支持",
    "table": "表", "figure": "图", "note": "注：",
    "report_title": "{name}：分析报告",
    "warnings": "警告（{n} 条）", "warnings_heading": "警告",
    "no_warnings": "无警告：各分析步骤均未出现统计问题。",
    "contents": "目录",
    "generated": "由 icaf_sem {version} 生成。输入文件 SHA-256",
    "section.sample": "样本", "section.items": "题项与正态性",
    "section.measurement": "测量模型、信度与效度", "section.fit": "模型拟合",
    "section.hypotheses": "假设检验", "section.necessity": "必要条件分析", "section.other": "其他表格",
    "meta": ("{source}：共读取 {n_raw} 行，分析 {n} 名受访者。{estimator}，{missing}{boot}。"
             "结构模型：CFI = {cfi}，RMSEA = {rmsea}，SRMR = {srmr}。假设得到支持：{k}/{h}。"),
    "meta.boot": "，{draws} 次 Bootstrap 抽样（随机种子 {seed}）",
    "fiml": "全信息极大似然（FIML）", "listwise": "列删除",
    "fiml_long": "缺失值采用全信息极大似然（FIML）处理",
    "abbrev": "缩写：{pairs}。",
    "med.indirect-only": "仅间接效应", "med.complementary": "互补型", "med.competitive": "竞争型",
    "med.direct-only": "仅直接效应", "med.no-effect": "无效应",
    "medc.full": "完全中介", "medc.partial": "部分中介", "medc.none": "无中介",
    "sign.+": "+", "sign.-": "\u2212",
    "title.sample_flow": "样本筛选流程",
    "title.sample_profile": "样本特征",
    "title.item_descriptives": "题项描述性统计与单变量正态性",
    "title.multivariate_normality": "多元正态性检验",
    "title.measurement_model": "测量模型：标准化因子载荷、信度与聚合效度",
    "title.discriminant_validity": "区分效度：Fornell\u2013Larcker 准则与 HTMT",
    "title.model_fit": "测量模型（CFA）与结构模型（SEM）的拟合指标",
    "title.hypothesis_tests": "假设检验",
    "title.indirect_effects": "间接效应与总效应",
    "title.r_squared": "内生构念的解释方差",
    "title.instrument": "测量工具：构念与题项",
    "h.step": "步骤", "h.n_remaining": "剩余 *n*", "h.n_removed": "剔除", "h.n_flagged": "标记",
    "h.variable": "变量", "h.category": "类别", "h.n": "*n*", "h.percent": "%",
    "h.construct": "构念", "h.item": "题项", "h.pct_missing": "缺失 %", "h.mean": "*M*", "h.sd": "*SD*",
    "h.median": "*Mdn*", "h.min": "最小值", "h.max": "最大值", "h.skew": "偏度", "h.kurtosis": "峰度",
    "h.normal_ok": "正态", "h.statistic": "统计量", "h.coefficient": "系数",
    "h.test": "检验统计量", "h.df": "*df*", "h.p": "*p*", "h.indicator": "指标", "h.b": "*b*",
    "h.se": "*SE*", "h.z": "*z*", "h.lambda": "\u03bb", "h.alpha": "\u03b1", "h.cr": "CR", "h.ave": "AVE",
    "h.measure": "指标", "h.cfa": "CFA", "h.sem": "SEM", "h.cutoff": "临界值", "h.cfa_ok": "CFA 达标",
    "h.sem_ok": "SEM 达标", "h.source": "来源", "h.hypothesis": "假设", "h.path": "路径",
    "h.expected": "预期方向", "h.beta": "\u03b2", "h.supported": "是否支持",
    "h.ci_normal": "95% CI（正态）", "h.ci_delta": "95% CI（Delta 法）", "h.ci_pct": "95% CI（百分位）",
    "h.ci_bc": "95% CI（偏差校正）", "h.beta_ci_bc": "\u03b2 95% CI（偏差校正）", "h.ci_used": "{level}% CI（{method}）",
    "h.direct_beta": "直接效应 \u03b2", "h.direct_p": "直接效应 *p*", "h.type": "类型", "h.mediation": "中介",
    "h.r2": "*R*\u00b2", "h.adj_r2": "调整 *R*\u00b2", "h.predictors": "预测变量",
    "h.code": "编码", "h.wording": "题项表述", "h.wording_zh": "中文表述", "h.reverse": "反向计分",
    "h.ci_type": "区间类型", "h.ci": "{level}% CI",
    "ci.normal": "正态", "ci.bc": "偏差校正", "ci.percentile": "百分位",
    "m.chisq": "\u03c7\u00b2", "m.chisq_scaled": "\u03c7\u00b2（校正）", "m.chisq_df": "\u03c7\u00b2/*df*",
    "m.robust": "（稳健）", "m.rmsea_ci": "RMSEA [90% CI]", "m.p_cut": "> .05（受 *N* 影响）",
    "note.sample_flow": "共读取 {n_raw} 行，分析 {n} 名受访者。违反多条规则的受访者在首条规则处剔除。",
    "note.sample_flow.reasons": " 各剔除原因人数（一名受访者可能有多条）：{reasons}。",
    "note.sample_profile": "清洗后 *N* = {n} 名受访者。",
    "note.duration": "{label}：中位数 {median:.0f} {unit}（四分位距 {q1:.0f}\u2013{q3:.0f}）。",
    "note.item_descriptives": ("*N* = {n} 名受访者；*n* = 各题项有效作答数。偏度与超额峰度按 psych::describe（type 3）"
                               "计算。单变量正态性标准：|偏度| < {skew} 且 |峰度| < {kurt}（Curran, West & Finch, 1996）"),
    "note.item_descriptives.bad": "；超出该范围的题项：{items}。",
    "note.item_descriptives.ok": "；所有题项均在此范围内。",
    "note.mardia": ("完整个案 *n* = {n}，{p} 个题项。偏度以 \u03c7\u00b2 分布检验，峰度以标准正态分布检验（Mardia, 1970）。"
                    "结果显著时宜采用稳健（MLR）标准误或 Bootstrap。"),
    "note.measurement_model": ("一阶构念的验证性因子分析（*N* = {n}，{missing}）。\u03bb = 标准化因子载荷（std.all）；"
                               "*b* = 非标准化载荷，各构念首个题项固定为 1（其 *SE* 留空）。\u03b1 = Cronbach's \u03b1"
                               "，{alpha_basis}；CR = 组合信度；AVE = 平均方差抽取量。标准：\u03b1 与 CR \u2265 {t_alpha}"
                               "（Nunnally & Bernstein, 1994; Hair et al., 2019），AVE \u2265 {t_ave}（Fornell & Larcker, 1981）。\u03c9 = McDonald's \u03c9（semTools 的 compRelSEM）。"),
    "note.alpha_cc": "完整个案，*n* = {n}",
    "note.alpha_em": "基于同一批 *N* = {n} 名受访者的 EM（饱和）协方差矩阵（Enders, 2003）",
    "note.second_order": " 二阶构念的各行取自结构模型。",
    "note.second_order_cr": " 二阶构念各行：载荷取自结构模型，其 \u03c9、CR 与 AVE 取自二阶测量模型（见二阶构念表）。",
    "note.discriminant": ("*N* = {n}。对角线（加粗）：AVE 的平方根（\u221aAVE）。对角线以下：CFA 潜变量相关系数。"
                          "对角线以上：异质\u2013单质比率（HTMT；{htmt_basis}）。当 \u221aAVE 大于该构念与其他构念的相关系数"
                          "（Fornell & Larcker, 1981）且 HTMT < {t_htmt}（Henseler, Ringle & Sarstedt, 2015）时，区分效度成立。"),
    "note.htmt_cc": "完整个案，*n* = {n}",
    "note.htmt_em": "基于同一批受访者的 EM 协方差矩阵",
    "note.discriminant.fail": "未通过的构念对：{pairs}。",
    "note.discriminant.ok": "所有构念对均通过两项标准。",
    "note.fit_how": "{estimator} 估计，{missing}，*N* = {n}。",
    "note.model_fit": ("临界值：CFI 与 TLI \u2265 .95，RMSEA \u2264 .06，SRMR \u2264 .08（Hu & Bentler, 1999）；"
                       "\u03c7\u00b2/*df* \u2264 3（Carmines & McIver, 1981；Kline, 2016 提醒不宜依赖该指标）。"
                       "CFA = 验证性因子分析（一阶测量模型）；SEM = 结构方程模型；CFI = 比较拟合指数；"
                       "TLI = Tucker\u2013Lewis 指数；RMSEA = 近似误差均方根及其 90% 置信区间；SRMR = 标准化残差均方根。"),
    "note.hypothesis_tests": ("*N* = {n}。*b* = 非标准化估计值；\u03b2 = 标准化估计值（std.all）；协方差（\u2194）的标准化值为"
                              "相关系数 *r*。当 *p* < {alpha} 且估计值方向与预期一致时，假设得到支持。标准误与 *p* 值："
                              "{se_basis}。CI = {level}% 置信区间：{ci_basis}。"),
    "note.se_ml": "{estimator}（正态理论）",
    "note.se_boot": "Bootstrap（{draws} 次抽样）",
    "note.ci_normal": "正态理论区间（间接效应采用 Delta 法）",
    "note.ci_boot_ind": ("直接路径为正态理论区间；间接效应为 {method} Bootstrap 区间（{draws} 次抽样），其是否支持依据该区间判断"
                         "（Zhao, Lynch & Chen, 2010）"),
    "note.indirect": "*N* = {n}。间接效应 = X \u2192 M \u2192 Y 路径系数之积；*b* = 非标准化，\u03b2 = 标准化。",
    "note.indirect.boot": ("Bootstrap {draws} 次抽样（随机种子 {seed}）：*b* 的百分位与偏差校正（BC；lavaan 的 bca.simple）"
                           "95% CI，以及 \u03b2 的偏差校正 95% CI；Delta 法 CI 见 tables.xlsx 与 results.json；*p* 值为 Delta 法（正态理论）结果"),
    "note.indirect.noboot": "Delta 法 95% CI；未运行 Bootstrap（使用 --bootstrap N 获取 Bootstrap 区间）",
    "note.indirect.tail": ("。直接效应 \u03b2 = X \u2192 Y 路径。中介类型依据 Zhao, Lynch & Chen (2010)：仅间接效应（完全中介）、"
                           "互补型或竞争型（部分中介）、仅直接效应或无效应（无中介）。\u201c总效应\u201d行为总效应（直接效应加全部间接效应）。"),
    "note.r_squared": ("*N* = {n}。*R*\u00b2 = 结构模型中预测变量对该构念方差的解释比例；调整 *R*\u00b2 = 1 \u2212 "
                       "(1 \u2212 *R*\u00b2)(*N* \u2212 1)/(*N* \u2212 *k* \u2212 1)，*k* 为预测变量个数。"),
    "note.instrument": "七点量表，从\u201c{low}\u201d到\u201c{high}\u201d。反向计分题项（标记 R）在分析前按 {rev} 重新计分。",
    "title.second_order": "二阶构念：因子载荷、组合信度、AVE 与 \u03c9",
    "title.common_method_bias": "共同方法偏差检验",
    "title.modification_indices": "结构模型中最大的修正指数",
    "title.invariance": "跨组测量不变性",
    "h.component": "一阶构念", "h.test_name": "检验", "h.value": "数值", "h.flagged": "提示偏差",
    "h.parameter": "参数", "h.sepc": "标准化 EPC", "h.grouping": "分组变量", "h.invariant": "不变",
    "cmb.harman": "Harman 单因子检验", "cmb.harman_stat": "第一个未旋转主成分解释的方差 %",
    "cmb.ulmc": "不可测潜在方法因子（ULMC）", "cmb.method_var": "方法方差 %（均值）",
    "cmb.vif": "完全共线性 VIF",
    "note.second_order_table": ("*N* = {n}；二阶测量模型（含二阶构念的 CFA；拟合：{fit2}；一阶 CFA：{fit1}）。"
                                "\u03bb = 一阶构念的标准化载荷；CR = 组合信度 (\u03a3\u03bb)\u00b2 / "
                                "[(\u03a3\u03bb)\u00b2 + \u03a3(1 \u2212 \u03bb\u00b2)]；AVE = \u03bb\u00b2 "
                                "的均值（Fornell & Larcker, 1981）。\u03c9 = 二阶构念解释的其全部题项总分方差的比例"
                                "（semTools 的 compRelSEM，higher 参数，观测方差）；\u03c9_L2 = 二阶构念解释的一阶构念"
                                "总和方差的比例；偏 \u03c9_L1 = 剔除一阶构念残差后的该比例（semTools 的 reliabilityL2）。"),
    "h.omega": "\u03c9", "h.omega_l2": "\u03c9_L2", "h.partial_omega_l1": "偏 \u03c9_L1",
    "fit.short": "\u03c7\u00b2({df}) = {chisq}，CFI = {cfi}，RMSEA = {rmsea}，SRMR = {srmr}",
    "note.cmb": ("*N* = {n}；基于所分析受访者的题项协方差矩阵计算。Harman 单因子检验：第一个未旋转主成分解释的方差应低于 50%"
                 "（Podsakoff et al., 2003），该检验较弱。ULMC：比较含与不含方法因子（载荷相等、与特质因子不相关）的 CFA；"
                 "\u0394\u03c7\u00b2 为似然比检验，方法方差为方法因子标准化载荷平方的均值（Williams et al., 1989; "
                 "Podsakoff et al., 2003）。VIF = 各构念等权合成分数对其余构念的完全共线性方差膨胀因子，大于 3.3 提示存在"
                 "共同方法偏差（Kock, 2015）。"),
    "note.mi": ("*N* = {n}。最大的 {top} 个修正指数（MI：释放该参数后 \u03c7\u00b2 的预期下降值）及预期参数改变量（EPC）"
                "和标准化 EPC（lavaan 的 sepc.all）。仅据此释放参数会利用偶然性（MacCallum et al., 1992）。"),
    "note.invariance": ("一阶测量模型的多组 CFA（lavaan 的 group.equal）；每一步在上一步基础上增加等同约束。当 "
                        "\u0394CFI \u2265 \u2212.010 且 \u0394RMSEA \u2264 .015 时视为不变（Cheung & Rensvold, "
                        "2002; Chen, 2007）。各组人数：{sizes}。"),
    "note.cmb.trouble": "方法因子模型存在估计问题（{k} 条警告，见报告开头），ULMC 结果需谨慎解读；仅在方法因子方差可接受时报告方法方差。",
    "inv.configural": "形态不变", "inv.metric": "弱不变（载荷）", "inv.scalar": "强不变（截距）", "inv.strict": "严格不变",
    "note.invariance.skipped": "未检验：{why}。",
    "h.cfa2": "二阶 CFA",
    # ------------------------------------------------------------------ 模型比较 (icaf_sem.comparison)
    "title.model_comparison": "模型比较：假设模型与竞争模型",
    "cmp.measurement": "测量模型（CFA）", "cmp.hypothesised": "假设模型",
    "cmp.full_mediation": "完全中介（无直接路径）",
    "cmp.partial_mediation": "部分中介（增加直接路径）",
    "cmp.direct_only": "仅直接效应（无中介变量\u2192结果变量路径）",
    "h.model": "模型", "h.relation": "关系", "h.aic": "AIC", "h.bic": "BIC",
    "h.delta_chisq": "\u0394\u03c7\u00b2", "h.delta_chisq_scaled": "\u0394\u03c7\u00b2（校正）",
    "h.delta_df": "\u0394*df*", "h.delta_p": "*p*（\u0394\u03c7\u00b2）", "h.delta_cfi": "\u0394CFI",
    "h.vuong_z": "Vuong *z*", "h.vuong_p": "*p*（Vuong）", "h.npar": "参数个数",
    "rel.reference": "参照模型", "rel.nested": "嵌套", "rel.nests": "包含",
    "rel.equivalent": "等价模型", "rel.non-nested": "非嵌套", "rel.not fitted": "未能估计",
    "rel.not converged": "未收敛",
    "note.model_comparison": (
        "{how}关系指与假设模型的关系：嵌套 = 该模型是假设模型的特例；包含 = 假设模型是该模型的特例；等价 = 拟合与 *df* 相同。各模型的测量部分相同，并基于同一批受访者估计。模型之间的嵌套关系由 NET 程序（Bentler & Satorra, 2010）"
        "判定，而非预设。\u0394\u03c7\u00b2 = 嵌套模型与假设模型的似然比（卡方差异）检验（lavaan 的 lavTestLRT）{scaled}；"
        "\u0394*df* = 自由度之差；\u0394CFI = 该模型的 CFI 减去假设模型的 CFI（下降超过 .010 表示拟合变差；Cheung & "
        "Rensvold, 2002）。非嵌套模型采用 Vuong（1989）检验（Merkle, You & Preacher, 2016）：*z* > 0 表示该行模型更优，"
        "*p* 为指向拟合较好模型的单侧检验；AIC 与 BIC 越小越好。CFA = 验证性因子分析；CFI = 比较拟合指数；TLI = "
        "Tucker\u2013Lewis 指数；RMSEA = 近似误差均方根 [90% 置信区间]；SRMR = 标准化残差均方根；AIC、BIC = 赤池与贝叶斯"
        "信息准则。{robust}"),
    "note.cmp_scaled": "，MLR 下采用 Satorra & Bentler（2001）校正",
    "note.cmp_robust": "MLR 下 \u03c7\u00b2 为校正统计量，CFI、TLI 与 RMSEA 为稳健版本。",
    "note.cmp_models": "模型：{models}。",
    "fig.nca": "必要条件分析：散点图及上限线",
    "fig.cipma": "组合重要性-绩效图（cIPMA）：重要性、绩效与必要性",
    "fig.path_diagram": "结构模型及标准化路径系数",
    "fig.latent_correlations": "潜变量相关系数（CFA）",
    "fig.correlation_heatmap": "题项相关系数（成对删除）",
    "fig.likert": "各构念题项的作答分布",
    "fig.path_note": "标准化系数（std.all）。* p < .05，** p < .01，*** p < .001；虚线：不显著。",
    "fig.r2": "R\u00b2 = {v}",
    "xlsx.sheet": "工作表", "xlsx.title": "标题",
    "fig.measurement_note": "标准化载荷（std.all）；各构念首个载荷为固定参数。* p < .05，** p < .01，*** p < .001。",
    "fig.measurement_model": "测量模型及标准化因子载荷",
    "fig.r": "r",
}
