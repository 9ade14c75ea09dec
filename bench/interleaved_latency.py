#!/usr/bin/env python3
"""Interleaved wall-clock comparison of command lines (the tool behind latency-interleaved.txt).

  python3 bench/interleaved_latency.py RUNS PREFIX -- CMD_A... ::: CMD_B... [::: CMD_C...]

One untimed run of each command, then RUNS rounds that run A, B, ... in turn, so that a slow spell of
the machine hits every command alike. Per command: the median time to the first stdout line starting
with PREFIX ("first"), the median time to exit ("total") and every total.
"""
import subprocess, sys, time, statistics, shlex

runs=int(sys.argv[1]); prefix=sys.argv[2]; rest=sys.argv[4:]
cmds=[]; cur=[]
for a in rest:
    if a==':::': cmds.append(cur); cur=[]
    else: cur.append(a)
cmds.append(cur)
res=[([],[]) for _ in cmds]
def once(cmd):
    t0=time.perf_counter(); first=None
    p=subprocess.Popen(cmd,stdout=subprocess.PIPE,stderr=subprocess.DEVNULL,bufsize=0)
    for line in p.stdout:
        if first is None and line.decode('utf-8','replace').startswith(prefix): first=time.perf_counter()-t0
    assert p.wait()==0, cmd
    return first, time.perf_counter()-t0
for c in cmds: once(c)
for i in range(runs):
    for k,c in enumerate(cmds):
        f,t=once(c); res[k][0].append(f or 0); res[k][1].append(t)
for k,c in enumerate(cmds):
    print(f"{k}: first median {statistics.median(res[k][0]):.3f}  total median {statistics.median(res[k][1]):.3f}  totals {' '.join(f'{x:.3f}' for x in res[k][1])}  :: {' '.join(c[1:4])}")
