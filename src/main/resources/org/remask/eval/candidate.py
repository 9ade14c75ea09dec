# The untrusted side of a sandboxed run (see checker.py): runs as `python3 -I [-S] -c THIS REQUESTS REPLIES`
# inside the sandbox. It reads its job from the REQUESTS pipe, sets the resource limits, drops root where it
# still has it, runs the candidate program, then answers calls of the entry point: requests come marshalled
# (from the trusted checker), replies go back as JSON lines of plain data. Nothing here decides a verdict: a
# candidate that rewrites this code only changes the answers. Imports are few on purpose (no json: its
# regular expressions cost more than the rest of the start).
import marshal
import math
import os
import resource
import sys
from _json import encode_basestring_ascii as quote  # the json module's own string encoder, in C

BIG = 1 << 10000  # under 4300 decimal digits: str() converts it
requests = os.fdopen(int(sys.argv[1]), "rb")
replies = os.fdopen(int(sys.argv[2]), "wb")


def encode(value):
    """Plain data as JSON, tagged where JSON has no such type; the exact builtin types only (a subclass
    could lie in __eq__), and collections' dicts (Counter, OrderedDict, defaultdict) as the dicts they hold."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        # Over 4300 digits, str() refuses (CVE-2020-10735); hexadecimal has no such limit (HumanEval/83's 10**n).
        return str(value) if -BIG < value < BIG else '{"int": "%x"}' % value
    if kind is float:
        return repr(value) if math.isfinite(value) else '{"float": "%r"}' % value
    if kind is str:
        return quote(value)
    if kind is list:
        return "[" + ",".join(map(encode, value)) + "]"
    if kind in (tuple, set, frozenset):
        return '{"%s": [%s]}' % (kind.__name__, ",".join(map(encode, value)))
    if kind is dict or (isinstance(value, dict) and kind.__module__ == "collections"):
        return '{"dict": [%s]}' % ",".join("[%s,%s]" % (encode(k), encode(v)) for k, v in dict.items(value))
    if kind is bytes:
        return '{"bytes": "%s"}' % value.hex()
    if kind is complex:
        return '{"complex": [%s,%s]}' % (encode(value.real), encode(value.imag))
    raise TypeError(kind.__name__)


def send(line):
    """One reply, a line of JSON; the candidate's own output is flushed first (the checker may end the run)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # over the file-size limit
    replies.write(line.encode() + b"\n")
    replies.flush()


job = marshal.load(requests)

if os.getpid() == 1:
    # PID 1 of a namespace (under unshare) ignores signals it has no handler for, even SIGKILL from inside,
    # so the candidate runs in a child; when this process exits, the kernel kills the whole namespace.
    child = os.fork()
    if child:
        while True:
            pid, status = os.waitpid(-1, 0)
            if pid == child:
                os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))

memory, fsize, nproc, cpu = job["limits"]
# RLIMIT_NPROC counts every task (thread, zombie) of the user the candidate runs as, other runs' included (root's
# candidates become nobody, as are other sandboxes' processes, whose zombies some init reaps a second late): allow
# the ones it already has.
uid = 65534 if os.geteuid() == 0 else os.getuid()
for entry in os.listdir("/proc"):
    try:
        if entry.isdigit() and os.stat("/proc/" + entry).st_uid == uid:
            nproc += len(os.listdir("/proc/%s/task" % entry))
    except OSError:
        pass
for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NPROC, nproc),
                     (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 256)):
    soft, hard = resource.getrlimit(limit)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(limit, (value, value))
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.chdir(job["work"])
os.environ["HOME"] = job["work"]

namespace = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(job["program"], "candidate.py", "exec"), namespace)
except BaseException as e:  # SystemExit included: the program must define the function, not exit
    send(encode(["load-error", "%s: %s" % (type(e).__name__, e)]))
    os._exit(3)
function = namespace.get(job["entry_point"])
if not callable(function):
    send(encode(["load-error", "the program does not define %s()" % job["entry_point"]]))
    os._exit(3)
send(encode(["ready"]))

while True:
    try:
        args, kwargs = marshal.load(requests)
    except EOFError:
        os._exit(0)
    try:
        result = function(*args, **kwargs)
    except BaseException as e:
        send(encode(["raise", type(e).__name__, str(e)[:1000]]))
        continue
    try:
        reply = '["ok",%s]' % encode(result)
    except (TypeError, RecursionError):
        try:  # only its type's name and truth value cross (MBPP's tests assert a regular-expression match)
            reply = encode(["opaque", type(result).__name__, bool(result)])
        except BaseException as e:
            reply = encode(["raise", type(e).__name__, str(e)[:1000]])
    send(reply)
