# Times a lavaan Monte Carlo power loop (what simsem::sim does per replication): draw a normal data set
# from the population covariance, fit the model with sem(), take parameterEstimates().
#
#   Rscript bench_power_lavaan.R sigma=SIGMA.csv model=MODEL.lav n=150,200,... reps=20 seed=1 out=OUT.json
#
# SIGMA.csv: the population covariance matrix with a header of variable names.  Writes, per n, the
# seconds per replication (simulate, fit, total) and the mean over the grid.  R start-up and package
# loading are not timed.  Single-threaded (lavaan's default).
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
kv <- commandArgs(trailingOnly = TRUE)
args <- setNames(sub("^[^=]*=", "", kv), sub("=.*$", "", kv))
sigma <- as.matrix(read.csv(args[["sigma"]], check.names = FALSE))
rownames(sigma) <- colnames(sigma)
model <- paste(readLines(args[["model"]]), collapse = "\n")
ns <- as.integer(strsplit(args[["n"]], ",")[[1]])
reps <- as.integer(args[["reps"]])
set.seed(as.integer(args[["seed"]]))
L <- chol(sigma)
p <- ncol(sigma)
rows <- list()
fit0 <- sem(model, data = as.data.frame(matrix(rnorm(300 * p), 300, p) %*% L, col.names = colnames(sigma)))  # warm-up
for (n in ns) {
  t_sim <- 0; t_fit <- 0; conv <- 0
  for (r in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    X <- matrix(rnorm(n * p), n, p) %*% L
    colnames(X) <- colnames(sigma)
    d <- as.data.frame(X)
    t1 <- proc.time()[["elapsed"]]
    fit <- sem(model, data = d)
    pe <- parameterEstimates(fit)
    t2 <- proc.time()[["elapsed"]]
    t_sim <- t_sim + (t1 - t0); t_fit <- t_fit + (t2 - t1)
    conv <- conv + lavInspect(fit, "converged")
  }
  rows[[length(rows) + 1]] <- list(n = n, reps = reps, sim_s = t_sim / reps, fit_s = t_fit / reps,
                                   per_rep_s = (t_sim + t_fit) / reps, converged = conv)
}
per <- mean(sapply(rows, function(r) r$per_rep_s))
write_json(list(lavaan = as.character(packageVersion("lavaan")), by_n = rows, mean_per_rep_s = per),
           args[["out"]], auto_unbox = TRUE, digits = NA, pretty = TRUE)
