import time, numpy as np
from icaf_sem.game import load_game
from icaf_sem.game.stochastic import simulate
from icaf_sem.game.sweep import sweep
from icaf_sem.game import figures as F
from icaf_sem.report.figures import save_figure
g=load_game('tripartite_game')
t=time.perf_counter()
rs=[simulate(g, sigma=s, T=20, steps=2000, paths=2000, seed=1, record_every=20) for s in (0,0.5,1,2)]
print(time.perf_counter()-t)
save_figure(F.trajectories(rs), "/tmp/gfig", "traj")
sw=sweep(g,"S",np.linspace(0,6,61),"F",np.linspace(0,6,61)); print(sw.regions())
save_figure(F.sweep_heatmap(sw), "/tmp/gfig", "sweep")
sw2=sweep(g,"B_P",np.linspace(0,10,51),"sigma",np.linspace(0,3,31)); print(sw2.regions())
save_figure(F.sweep_heatmap(sw2), "/tmp/gfig", "sweep2")
save_figure(F.phase_portrait(g), "/tmp/gfig", "phase")
print(time.perf_counter()-t)
