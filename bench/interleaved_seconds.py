#!/usr/bin/env python3
"""Interleaved comparison of remask generations by their own timing (--format json's "seconds": the generation
without JVM start-up or model load), the tool behind bench/results/cpu-2026-12-01/cli-threads.txt.

  python3 bench/interleaved_seconds.py ROUNDS CMD_A... ::: CMD_B... [::: CMD_C...]

One untimed run of each command, then ROUNDS rounds that run A, B, ... in turn. Per command: the median, every
time, and how many distinct outputs it gave (1: the same answer every run).
"""
import subprocess, sys, json, statistics
R=int(sys.argv[1]); cmds=[]; cur=[]
for a in sys.argv[2:]:
    if a==':::': cmds.append(cur); cur=[]
    else: cur.append(a)
cmds.append(cur)
res=[[] for _ in cmds]; outs=[set() for _ in cmds]
def once(c):
    o=subprocess.run(c,capture_output=True,text=True)
    assert o.returncode==0,(c,o.stderr[-500:])
    t=o.stdout; d=json.loads(t[t.index('{'):t.rindex('}')+1]); return d['seconds'], str(d.get('ids', d.get('text','')))[:80]
for c in cmds: once(c)
for i in range(R):
    for k,c in enumerate(cmds):
        s,o=once(c); res[k].append(s); outs[k].add(o)
for k,c in enumerate(cmds):
    print(f"{k}: median {statistics.median(res[k]):.3f} s  all {' '.join(f'{x:.3f}' for x in res[k])}  outputs {len(outs[k])} :: {' '.join(c[3:])[:150]}")
