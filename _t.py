import time, pandas as pd
from icaf_sem.game.survey import from_survey
df = pd.read_csv("icaf_sem/data/example_wave_clean.csv")
print(df.role.value_counts())
t=time.perf_counter()
cal = from_survey(df, questionnaire="icaf")
print(cal.table[["parameter","role","n","score_mean","value"]]); print(time.perf_counter()-t)
t=time.perf_counter()
cal2 = from_survey(df, questionnaire="icaf", method="latent")
print(cal2.table[["parameter","role","n","score_mean","value"]]); print(time.perf_counter()-t)
print(cal.game.ess_table()[["profile","ess","signs"]])
