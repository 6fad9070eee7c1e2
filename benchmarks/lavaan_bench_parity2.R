# Times lavaan for the issue-10 part B options (called by bench_parity2.py).
#   Rscript lavaan_bench_parity2.R data=FILE.csv model=FILE.lav model2=FILE2.lav reps=3 out=OUT.json [only=NAME,NAME]
# (only=: just those option configurations, nothing else)
# Each configuration: one warm-up, then `reps` timed runs of sem(...) + fitMeasures(fit) +
# parameterEstimates(fit) (what icaf_sem computes on fit + first access); the median is written.
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
kv <- commandArgs(trailingOnly = TRUE)
args <- setNames(sub("^[^=]*=", "", kv), sub("=.*$", "", kv))
dat <- read.csv(args[["data"]], na.strings = c("", "NA"), stringsAsFactors = FALSE)
model <- paste(readLines(args[["model"]]), collapse = "\n")
model2 <- paste(readLines(args[["model2"]]), collapse = "\n")
reps <- as.integer(args[["reps"]])
configs <- list(
  MLM = list(estimator = "MLM"), MLMV = list(estimator = "MLMV"), MLMVS = list(estimator = "MLMVS"),
  MLF = list(estimator = "MLF"),
  se_robust_huber_white = list(se = "robust.huber.white"), se_first_order = list(se = "first.order"),
  test_yuan_bentler = list(test = "yuan.bentler"), test_yuan_bentler_mplus = list(test = "yuan.bentler.mplus"),
  test_mean_var_adjusted = list(test = "mean.var.adjusted"), test_scaled_shifted = list(test = "scaled.shifted"),
  test_bollen_stine_100 = list(test = "bollen.stine", bootstrap = 100L),
  se_bootstrap_100 = list(se = "bootstrap", bootstrap = 100L),
  cluster_ML = list(cluster = "clus"), sampling_weights_ML = list(sampling.weights = "wt"))
med <- function(f) { f(); t <- numeric(reps); for (i in seq_len(reps)) { t0 <- proc.time()[["elapsed"]]; f(); t[i] <- proc.time()[["elapsed"]] - t0 }; median(t) }
only <- if ("only" %in% names(args) && nzchar(args[["only"]])) strsplit(args[["only"]], ",")[[1]] else NULL
if (!is.null(only)) configs <- configs[intersect(names(configs), only)]
res <- list(lavaan_version = as.character(packageVersion("lavaan")))
for (nm in names(configs)) {
  a <- configs[[nm]]
  f <- function() { fit <- do.call("sem", c(list(model = model, data = dat), a)); fitMeasures(fit); parameterEstimates(fit) }
  r <- if (grepl("100", nm) && is.null(only)) 1L else reps
  reps0 <- reps; reps <- r; res[[nm]] <- med(f); reps <- reps0
  cat(nm, res[[nm]], "\n")
}
if (!is.null(only)) { writeLines(toJSON(res, auto_unbox = TRUE, digits = NA), args[["out"]]); quit(save = "no") }
res$constraint_nonlinear <- med(function() { fit <- sem(paste(model, "c_cr == b_eb_cr*b_pw_eb", sep = "\n"), data = dat); fitMeasures(fit); parameterEstimates(fit) })
res$compare_lavTestLRT_MLM <- med(function() { a <- sem(model, data = dat, estimator = "MLM"); b <- sem(model2, data = dat, estimator = "MLM"); lavTestLRT(a, b) })
res$compare_lavTestLRT_MLMV <- med(function() { a <- sem(model, data = dat, estimator = "MLMV"); b <- sem(model2, data = dat, estimator = "MLMV"); lavTestLRT(a, b) })
res$fit_and_lavPredict <- med(function() { fit <- sem(model, data = dat); lavPredict(fit); lavPredict(fit, method = "Bartlett") })
fitted <- sem(model, data = dat)
reps <- max(reps, 5L)
res$lavPredict_only <- med(function() { lavPredict(fitted); lavPredict(fitted, method = "Bartlett") })
g1 <- sem(model, data = dat, estimator = "MLMV"); g2 <- sem(model2, data = dat, estimator = "MLMV")
res$lavTestLRT_only_MLMV <- med(function() lavTestLRT(g1, g2))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA), args[["out"]])
