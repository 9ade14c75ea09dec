# The trusted side of a sandboxed run, started by Sandbox.java:
#   python3 -I [-S] checker.py DIR ENTRY_POINT USER WORK MEMORY FSIZE NPROC CPU [SANDBOX...] PYTHON FLAGS...
# DIR holds prompt.py, completion.py and test.py (the task's and the model's text) and gets the candidate's
# stdout and stderr; USER is the uid the candidate's command starts as ("-": this one's); WORK its working
# directory; MEMORY, FSIZE, NPROC and CPU its limits; then the command that starts its interpreter, to
# which `-c candidate.py's text REQUESTS REPLIES` is added.
#
# The verdict is decided here, in a process the candidate never runs in. The task's prompt and test (the
# dataset's code, trusted) run in this interpreter; the candidate's program runs in another one, inside the
# sandbox (the SANDBOX command: bubblewrap, unshare, or nothing), started with candidate.py. The name
# of the entry point, here, is a proxy: each call sends its arguments over a pipe as plain data and gets the
# result back as plain data (None, bool, int, float, str, bytes, complex, and lists, tuples, sets and dicts
# of them), or the name of the exception it raised. So nothing the candidate reaches (__main__, frames, gc,
# file descriptors, builtins, an __eq__ that always says yes) can turn a wrong answer into a pass: only the
# values it returns count, compared by the test's own code here.
#
# Prints one JSON line, {"outcome": "passed" | "failed" | "crashed" | "error", "reason": "..."}, and exits 0;
# anything else (no line, another exit code) is a failure of the harness.
# Imports are few on purpose (each run starts this interpreter): no subprocess, no traceback, and json only
# once the candidate is starting.
import builtins
import marshal
import os
import signal
import sys
import time

REPLY_LIMIT = 16 << 20


class CandidateGone(Exception):
    """The candidate's process ended (or broke the protocol) while the test needed it."""


def decode(value):
    """The candidate's JSON back to plain data; anything else is a protocol error."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v) for v in value]
    if type(value) is not dict or len(value) != 1:
        raise CandidateGone("it sent %r, which is not plain data" % (value,))
    (kind, items), = value.items()
    try:
        if kind == "float" and items in ("inf", "-inf", "nan"):
            return float(items)
        if kind == "int" and type(items) is str:
            return int(items, 16)
        if kind == "bytes" and type(items) is str:
            return bytes.fromhex(items)
        if kind == "complex" and type(items) is list and len(items) == 2:
            return complex(*(float(decode(v)) for v in items))
        if kind == "dict" and type(items) is list:
            return {decode(k): decode(v) for k, v in items}
        if kind in ("tuple", "set", "frozenset") and type(items) is list:
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[kind](decode(v) for v in items)
    except (TypeError, ValueError) as e:
        raise CandidateGone("it sent a malformed %s: %s" % (kind, e))
    raise CandidateGone("it sent a %r, which is not plain data" % kind)


class Opaque:
    """A result that is not plain data, as the test sees it: its truth value, and equal only to itself, so
    `assert f(x)` can pass and no comparison can."""

    def __init__(self, kind, truth):
        self.kind, self.truth = kind, truth

    def __bool__(self):
        return self.truth

    def __repr__(self):
        return "<a %s, not plain data>" % self.kind


EXCEPTIONS = {name: value for name, value in vars(builtins).items()
              if isinstance(value, type) and issubclass(value, Exception)}


class Candidate:
    """The entry point, as the test sees it: calls go to the sandboxed process."""

    def __init__(self, requests, replies, name):
        self.requests, self.replies, self.__name__ = requests, replies, name
        self.opaque = None  # the type of the last result that was not plain data, for the reason of a failure

    def receive(self):
        import json  # here, not above: the first reply is awaited while the candidate's interpreter starts
        line = self.replies.readline(REPLY_LIMIT)
        if not line.endswith(b"\n"):
            raise CandidateGone("its process ended" if not line else "it sent a reply of over 16 MiB")
        try:
            return json.loads(line)
        except ValueError:
            raise CandidateGone("it sent a line that is not JSON")

    def __call__(self, *args, **kwargs):
        try:
            message = marshal.dumps((args, kwargs))
        except ValueError:
            raise TypeError("the test passes something that is not plain data: %r" % ((args, kwargs),))
        try:
            self.requests.write(message)
            self.requests.flush()
        except OSError:
            raise CandidateGone("its process ended")
        reply = self.receive()
        if type(reply) is list and reply[:1] == ["ok"] and len(reply) == 2:
            return decode(reply[1])
        if type(reply) is list and reply[:1] == ["raise"] and len(reply) == 3:
            # The builtin exception of that name, so that a test expecting e.g. ValueError sees one.
            raise EXCEPTIONS.get(reply[1], RuntimeError)("%s (raised by the candidate: %s)" % (reply[2], reply[1]))
        if type(reply) is list and reply[:1] == ["opaque"] and len(reply) == 3 and type(reply[2]) is bool:
            self.opaque = str(reply[1])
            return Opaque(self.opaque, reply[2])
        raise CandidateGone("it broke the protocol")


CANDIDATE_GROUP = []  # the candidate's process group, once started


def verdict(outcome, reason):
    """Ends the run: the candidate's whole process group first (forks it left behind, which are no longer
    this process's children once it exits), then the one line."""
    import json
    for group in CANDIDATE_GROUP:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass  # already gone
    os.write(1, (json.dumps({"outcome": outcome, "reason": reason}) + "\n").encode())
    sys.exit(0)


def start(argv, directory, user, env, requests, replies):
    """Starts the candidate's command with the two pipe ends, stdout and stderr to files in DIR, as USER."""
    out = os.open(os.path.join(directory, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(os.path.join(directory, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    pid = os.fork()
    if pid == 0:
        try:
            for fd, target in ((null, 0), (out, 1), (err, 2)):
                os.dup2(fd, target)
            os.set_inheritable(requests, True)
            os.set_inheritable(replies, True)
            os.setsid()
            os.chdir("/")
            if user is not None:
                os.setgroups([])
                os.setgid(user)
                os.setuid(user)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    for fd in (out, err, null, requests, replies):
        os.close(fd)
    return pid


def ended(pid):
    """How the candidate's process ended, as an outcome and a reason (it is given a moment to end)."""
    deadline = time.monotonic() + 2
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            return "failed", "it stopped answering"
        time.sleep(0.005)
    code = os.waitstatus_to_exitcode(status)
    signal = -code if code < 0 else code - 128 if code > 128 else 0
    if signal:
        return "crashed", "killed by signal %d" % signal
    return "failed", "it exited with code %d" % code


def failing_line(error, test):
    """The line of the test that raised, as 'at test line N: assert ...' (empty when none did)."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "test":
            line = trace.tb_lineno
        trace = trace.tb_next
    return " at test line %d: %s" % (line, test.split("\n")[line - 1].strip()) if line else ""


def trusted_prompt(prompt):
    """The prompt compiled alone; one that ends in a signature without a docstring gets a `pass` body."""
    try:
        return compile(prompt, "prompt", "exec")
    except SyntaxError:
        return compile(prompt.rstrip("\n") + "\n    pass\n", "prompt", "exec")


def main():
    directory, entry_point, user, work = sys.argv[1:5]
    limits = [int(v) for v in sys.argv[5:9]]
    command = sys.argv[9:]

    def read(name):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return f.read()

    prompt, completion, test = read("prompt.py"), read("completion.py"), read("test.py")
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "PYTHONDONTWRITEBYTECODE": "1"}
    pid = start(command + ["-c", read("candidate.py"), str(requests_read), str(replies_write)],
                directory, None if user == "-" else int(user), env, requests_read, replies_write)
    CANDIDATE_GROUP.append(pid)  # start() made it a session (and group) leader
    requests = os.fdopen(requests_write, "wb")
    replies = os.fdopen(replies_read, "rb")
    candidate = Candidate(requests, replies, entry_point)
    try:
        marshal.dump({"program": prompt + completion, "entry_point": entry_point, "limits": limits, "work": work},
                     requests)
        requests.flush()
        hello = candidate.receive()
    except (OSError, CandidateGone):
        verdict(*ended(pid))
    if hello[:1] == ["load-error"]:
        verdict("failed", "the program did not load: " + str(hello[1:2][0] if hello[1:] else ""))
    if hello != ["ready"]:
        verdict("failed", "it broke the protocol")

    # The trusted program: the prompt (helpers such as HumanEval/32's poly), then the test, with the entry
    # point's name bound to the proxy (after the test's check, which may share the name: MBPP's task 56).
    sys.stdout = open(os.devnull, "w")
    namespace = {"__name__": "__check__"}
    try:
        exec(trusted_prompt(prompt), namespace)
        exec(compile(test, "test", "exec"), namespace)
        check = namespace["check"]
        namespace[entry_point] = candidate
    except Exception as e:
        verdict("error", "the task's prompt or test does not run: %s: %s" % (type(e).__name__, e))
    try:
        check(candidate)
    except CandidateGone as e:
        outcome, how = ended(pid)
        verdict(outcome, "the candidate failed during the test: %s (%s)" % (e, how))
    except BaseException as e:
        opaque = " (it returned a %s, which is not plain data)" % candidate.opaque if candidate.opaque else ""
        verdict("failed", "%s%s%s%s" % (type(e).__name__, ": %s" % e if str(e) else "", failing_line(e, test), opaque))
    verdict("passed", "")


if __name__ == "__main__":
    main()
