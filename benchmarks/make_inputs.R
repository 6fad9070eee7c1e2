# Writes benchmarks/data/icaf_implied_moments.json: the model-implied mean vector and
# covariance matrix of the ICAF SEM (benchmarks/data/icaf_sem.lav) fitted by lavaan with
# FIML (missing = "ml") to the reference wave.  bench_fit.py draws the N = 100,000
# data set from these moments (numpy, fixed seed), so the large data set need not be
# stored.  Run from the repository root:  Rscript benchmarks/make_inputs.R
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
dat <- read.csv("benchmarks/data/icaf_wave1_clean.csv", na.strings = c("", "NA"))
model <- paste(readLines("benchmarks/data/icaf_sem.lav"), collapse = "\n")
fit <- sem(model, data = dat, estimator = "ML", missing = "ml")
f <- fitted(fit)
vars <- rownames(f$cov)
out <- list(source = "lavaan sem(model, data = icaf_wave1_clean.csv, estimator = 'ML', missing = 'ml'): fitted(fit)",
            lavaan_version = as.character(packageVersion("lavaan")),
            variables = vars,
            mean = unname(f$mean[vars]),
            cov = unname(lapply(seq_along(vars), function(i) unname(as.numeric(f$cov[i, ])))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "benchmarks/data/icaf_implied_moments.json")
cat("wrote benchmarks/data/icaf_implied_moments.json\n")
