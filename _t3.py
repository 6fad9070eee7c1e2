import time, numpy as np
from icaf_sem.game import load_game
from icaf_sem.game.stochastic import simulate
from icaf_sem.game.sweep import sweep
from icaf_sem.game import figures as F
from icaf_sem.report.figures import save_figure
g=load_game('tripartite_game')
rs=[simulate(g, sigma=s, T=20, steps=2000, paths=2000, seed=1, record_every=20) for s in (0,0.5,1,2)]
for name, fn in [("traj", lambda: F.trajectories(rs)), ("sweep", lambda: F.sweep_heatmap(sweep(g,"S",np.linspace(0,6,61),"F",np.linspace(0,6,61)))), ("phase", lambda: F.phase_portrait(g))]:
    t=time.perf_counter(); f=fn(); t1=time.perf_counter(); save_figure(f,"/tmp/gfig",name); print(name, t1-t, time.perf_counter()-t1)
