# Times, inside R, the fits behind `icaf-sem compare-waves` on the same stacked clean waves
# (R start-up, package loading and reading the CSV are not timed).
#
# Usage (called by bench_compare_waves.py):
#   Rscript compare_waves_lavaan.R data=STACKED.csv cfa=CFA.lav sem=SEM.lav paths=PATHS.txt
#           missing=ml estimator=ML reps=1 score=0 out=OUT.json
#
# One run is the invariance sequence across `wave` (configural, metric, scalar, strict: cfa() with
# group.equal, semTools::compareFit() for the fit table and the LR tests, lavTestScore() of the
# scalar model when score=1), then the structural model with equal loadings and every path free, and per
# hypothesised path the model with that path held equal (group.partial = every other path) and
# lavTestLRT() against the free model -- the same models icaf_sem fits.
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(jsonlite)
})
kv <- commandArgs(trailingOnly = TRUE)
args <- setNames(sub("^[^=]*=", "", kv), sub("=.*$", "", kv))
get <- function(k, default = NULL) if (k %in% names(args)) args[[k]] else default

dat <- read.csv(get("data"), na.strings = c("", "NA"), stringsAsFactors = FALSE)
dat$wave <- as.character(dat$wave)
cfa_model <- paste(readLines(get("cfa")), collapse = "\n")
sem_model <- paste(readLines(get("sem")), collapse = "\n")
paths <- readLines(get("paths"))            # "EB~CR" per line
missing <- get("missing", "ml")
estimator <- get("estimator", "ML")
reps <- as.integer(get("reps", "1"))
score <- get("score", "0") == "1"
test_method <- if (estimator == "MLR") "satorra.bentler.2001" else "default"

one_run <- function() {
  steps <- list(configural = character(0), metric = "loadings",
                scalar = c("loadings", "intercepts"), strict = c("loadings", "intercepts", "residuals"))
  fits <- lapply(steps, function(ge) {
    if (length(ge)) cfa(cfa_model, data = dat, group = "wave", group.equal = ge, missing = missing,
                        estimator = estimator)
    else cfa(cfa_model, data = dat, group = "wave", missing = missing, estimator = estimator)
  })
  cf <- compareFit(fits$configural, fits$metric, fits$scalar, fits$strict)
  fm <- lapply(fits, fitMeasures, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
  if (score) st <- lavTestScore(fits$scalar)     # icaf_sem runs the score tests of a failed step only
  free <- sem(sem_model, data = dat, group = "wave", group.equal = "loadings", missing = missing,
              estimator = estimator)
  pe <- parameterEstimates(free, standardized = TRUE)
  lrt <- lapply(paths, function(p) {
    eq <- sem(sem_model, data = dat, group = "wave", group.equal = c("loadings", "regressions"),
              group.partial = setdiff(paths, p), missing = missing, estimator = estimator)
    lavTestLRT(free, eq, method = test_method)
  })
  list(fm = fm, n_paths = length(lrt))
}

res <- list(lavaan_version = as.character(packageVersion("lavaan")),
            semtools_version = as.character(packageVersion("semTools")),
            missing = missing, estimator = estimator)
wall <- cpu <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()
  out <- one_run()
  d <- proc.time() - t0
  wall[i] <- d[["elapsed"]]
  cpu[i] <- d[["user.self"]] + d[["sys.self"]]
}
res$wall <- wall
res$cpu <- cpu
res$median_wall <- median(wall)
res$median_cpu <- median(cpu)
res$chisq <- unname(sapply(out$fm, function(x) x[["chisq"]]))
res$n_paths <- out$n_paths
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA), get("out"))
