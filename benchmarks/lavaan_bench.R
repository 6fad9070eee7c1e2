# Times lavaan inside R (R start-up, package loading and reading the CSV are not timed).
#
# Usage (called by bench_fit.py / bench_bootstrap.py):
#   Rscript lavaan_bench.R mode=fit  data=FILE.csv model=FILE.lav estimator=ML missing=listwise reps=5 out=OUT.json
#   Rscript lavaan_bench.R mode=boot data=FILE.csv model=FILE.lav estimator=ML missing=ml draws=5 out=OUT.json
#
# mode=fit : one warm-up fit, then `reps` timed fits; writes every time and the median; then
#            `reps` timed runs of fit + parameterEstimates(standardized = TRUE) + fitMeasures()
#            + lavInspect(fit, "r2") (median_full).
# mode=boot: one fit, then bootstrapLavaan(fit, R = draws, FUN = "coef") timed once;
#            writes the seconds per draw (elapsed / draws).
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
kv <- commandArgs(trailingOnly = TRUE)
args <- setNames(sub("^[^=]*=", "", kv), sub("=.*$", "", kv))
get <- function(k, default = NULL) if (k %in% names(args)) args[[k]] else default

dat <- read.csv(get("data"), na.strings = c("", "NA"), stringsAsFactors = FALSE)
model <- paste(readLines(get("model")), collapse = "\n")
estimator <- get("estimator", "ML")
missing <- get("missing", "listwise")
mode <- get("mode", "fit")

do_fit <- function() sem(model, data = dat, estimator = estimator, missing = missing)
elapsed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}

res <- list(lavaan_version = as.character(packageVersion("lavaan")),
            estimator = estimator, missing = missing, mode = mode)
if (mode == "fit") {
  reps <- as.integer(get("reps", "5"))
  fit <- do_fit()                                # warm-up
  times <- numeric(reps)
  for (i in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    fit <- do_fit()
    times[i] <- proc.time()[["elapsed"]] - t0
  }
  res$times <- times
  res$median <- median(times)
  # the same fit followed by the tables a paper needs: the parameter table with the
  # standardized solution, all fit measures and R-squared
  times_full <- numeric(reps)
  for (i in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    fit <- do_fit()
    pe <- parameterEstimates(fit, standardized = TRUE)
    fm <- fitMeasures(fit)
    r2 <- lavInspect(fit, "r2")
    times_full[i] <- proc.time()[["elapsed"]] - t0
  }
  res$times_full <- times_full
  res$median_full <- median(times_full)
  res$converged <- lavInspect(fit, "converged")
  res$ntotal <- lavInspect(fit, "ntotal")
  res$npar <- as.integer(fitMeasures(fit, "npar"))
  res$chisq <- unname(fitMeasures(fit, "chisq"))
} else if (mode == "boot") {
  draws <- as.integer(get("draws", "10"))
  fit <- do_fit()
  set.seed(1)
  t0 <- proc.time()[["elapsed"]]
  b <- suppressWarnings(bootstrapLavaan(fit, R = draws, FUN = "coef", iseed = 1))
  total <- proc.time()[["elapsed"]] - t0
  res$draws <- draws
  res$total <- total
  res$per_draw <- total / draws
  res$failed <- sum(!stats::complete.cases(b))
  res$ntotal <- lavInspect(fit, "ntotal")
} else stop("mode must be fit or boot, got ", mode)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA), get("out"))
