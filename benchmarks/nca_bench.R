# Times the R package NCA's permutation test (called by bench_nca.py).
# Usage: Rscript benchmarks/nca_bench.R DATA.csv Y X1,X2,... TEST_REP
# NCA is looked up in NCA_LIB (if set) and the usual libraries.  Runs sequentially
# (max.cores = 1), so the cost is per core.  Prints one JSON line.
args <- commandArgs(trailingOnly = TRUE)
lib <- Sys.getenv("NCA_LIB")
if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
if (!requireNamespace("NCA", quietly = TRUE)) { cat('{"available": false}\n'); quit(status = 0) }
suppressMessages(library(NCA))
Sys.setenv(max.cores = 1)
d <- read.csv(args[1]); y <- args[2]; x <- strsplit(args[3], ",")[[1]]; reps <- as.integer(args[4])
t_noperm <- system.time(invisible(capture.output(
  nca_analysis(d, x, y, ceilings = c("ce_fdh", "cr_fdh"), test.rep = 0))))[["elapsed"]]
t_perm <- system.time(invisible(capture.output(
  nca_analysis(d, x, y, ceilings = c("ce_fdh", "cr_fdh"), test.rep = reps))))[["elapsed"]]
cat(sprintf('{"available": true, "version": "%s", "n": %d, "conditions": %d, "test_rep": %d, "seconds_without_test": %.4f, "seconds_with_test": %.4f}\n',
            as.character(packageVersion("NCA")), nrow(d), length(x), reps, t_noperm, t_perm))
