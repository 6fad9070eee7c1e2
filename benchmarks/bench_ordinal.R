# lavaan side of benchmarks/bench_ordinal.py: times (seconds, median of REPS) for the ICAF
# first-order CFA with 34 ordered 7-point items (WLSMV) and for lavCor(..., ordered = TRUE).
# Usage: Rscript bench_ordinal.R DATA.csv REPS
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); reps <- as.integer(args[2])
model <- paste("BC =~ bc1 + bc2 + bc3", "CE =~ ce1 + ce2 + ce3", "CS =~ cs1 + cs2 + cs3",
               "DQ =~ dq1 + dq2 + dq3 + dq4", "PM =~ pm1 + pm2 + pm3", "AS =~ as1 + as2 + as3",
               "EB =~ eb1 + eb2 + eb3 + eb4", "PR =~ pr1 + pr2 + pr3 + pr4", "PC =~ pc1 + pc2 + pc3 + pc4",
               "PW =~ pw1 + pw2 + pw3", sep = "\n")
items <- c("bc1","bc2","bc3","ce1","ce2","ce3","cs1","cs2","cs3","dq1","dq2","dq3","dq4","pm1","pm2","pm3",
           "as1","as2","as3","eb1","eb2","eb3","eb4","pr1","pr2","pr3","pr4","pc1","pc2","pc3","pc4","pw1","pw2","pw3")
d <- d[complete.cases(d[, items]), items]
# wall-clock (elapsed) and CPU (user + system) seconds
tm <- function(expr) { t0 <- proc.time(); force(expr); d <- proc.time() - t0
                       c(d[["elapsed"]], d[["user.self"]] + d[["sys.self"]]) }
fit_t <- fm_t <- cor_t <- matrix(0, reps, 2)
for (i in seq_len(reps)) {
  fit_t[i, ] <- tm(fit <- suppressWarnings(cfa(model, data = d, ordered = TRUE)))
  fm_t[i, ] <- tm(fm <- fitMeasures(fit))
  cor_t[i, ] <- tm(r <- lavCor(d, ordered = items))
}
med <- function(m, j) median(m[, j])
cat(sprintf("lavaan_fit %.4f\nlavaan_fitmeasures %.4f\nlavaan_lavcor %.4f\n", med(fit_t, 1), med(fm_t, 1), med(cor_t, 1)))
cat(sprintf("lavaan_fit_cpu %.4f\nlavaan_fitmeasures_cpu %.4f\nlavaan_lavcor_cpu %.4f\nlavaan_cfi_robust %.6f\n",
            med(fit_t, 2), med(fm_t, 2), med(cor_t, 2), fm[["cfi.robust"]]))
