package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Hand-written completions of the mini dataset through the sandbox: passes, failures, and hostile programs,
 * each of which must fail and leave nothing behind.
 */
class SandboxTest {
    private static final Sandbox SANDBOX = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(3)));
    /** A line of candidate.py, which is in the command line of every candidate process. */
    private static final String CANDIDATE_MARK = "The untrusted side of a sandboxed run";

    static Map<String, Task> mini() {
        List<Task> tasks = Dataset.read(DatasetTest.resource("mini.jsonl"));
        Map<String, Task> byEntry = new java.util.HashMap<>();
        tasks.forEach(t -> byEntry.put(t.entryPoint(), t));
        return byEntry;
    }

    private static Sandbox.Result add(String completion) {
        return SANDBOX.check(mini().get("add"), completion);
    }

    private static void assumeBubblewrap() {
        assumeTrue(SANDBOX.isolation() == Sandbox.Isolation.BUBBLEWRAP, "bubblewrap is not usable here");
    }

    @Test
    void aCorrectCompletionPassesAndTheDirectoryIsGone() {
        Sandbox.Result r = add("    return a + b\n");
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
        assertEquals("", r.reason());
        assertFalse(Files.exists(r.directory()), "the temporary directory is deleted");
    }

    @Test
    void aWrongCompletionFailsWithTheAssertThatCaughtIt() {
        Sandbox.Result r = add("    return a - b\n");
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.reason().startsWith("AssertionError at test line "), r.reason());
        assertTrue(r.reason().contains("assert candidate("), r.reason());
    }

    @Test
    void aSyntaxErrorFails() {
        Sandbox.Result r = add("    return a +\n");
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.reason().startsWith("the program did not load: SyntaxError"), r.reason());
    }

    @Test
    void anInfiniteLoopTimesOutWithinTheBound() {
        long start = System.nanoTime();
        Sandbox.Result r = add("    while True:\n        pass\n");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(Outcome.TIMEOUT, r.outcome());
        assertTrue(seconds < 8, "returned after " + seconds + " s");
    }

    @Test
    void killingItselfIsACrash() {
        Sandbox.Result r = add("    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n");
        assertEquals(Outcome.CRASHED, r.outcome(), r.reason());
        assertTrue(r.reason().contains("killed by signal 9"), r.reason());
    }

    @Test
    void aSegfaultIsACrash() {
        Sandbox.Result r = add("    import ctypes\n    return ctypes.string_at(0)\n");
        assertEquals(Outcome.CRASHED, r.outcome(), r.reason());
    }

    @Test
    void exitingIsNotAPass() {
        for (String exit : List.of("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "raise SystemExit\n",
                "    import sys\n    sys.exit(0)\n", "    import os\n    os._exit(0)\n")) {
            Sandbox.Result r = add(exit.startsWith(" ") ? exit : "    return a + b\n" + exit);
            assertEquals(Outcome.FAILED, r.outcome(), exit + " -> " + r.reason());
        }
    }

    /** openai/human-eval passes this one: an object whose __eq__ always says yes. */
    @Test
    void anEqualToEverythingResultFails() {
        Sandbox.Result r = add("""
                    class Yes:
                        def __eq__(self, other):
                            return True
                    return Yes()
                """);
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.reason().contains("not plain data"), r.reason());
        Sandbox.Result subclass = add("""
                    class Int(int):
                        def __eq__(self, other):
                            return True
                    return Int(0)
                """);
        assertEquals(Outcome.FAILED, subclass.outcome(), subclass.reason());
        Sandbox.Result generator = add("    return (x for x in [a + b])\n");
        assertEquals(Outcome.FAILED, generator.outcome(), generator.reason());
    }

    /** Integers of any size cross (str() refuses over 4300 digits; HumanEval+'s tests of HumanEval/83 need them). */
    @Test
    void hugeIntegersCross() {
        Task power = new Task("T/1", "def power(n):\n", "power",
                "def check(candidate):\n    assert candidate(5000) == 10 ** 5000\n    assert candidate(-5000) == -10 ** 5000\n", "");
        Sandbox.Result r = SANDBOX.check(power, "    return 10 ** n if n > 0 else -10 ** -n\n");
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
    }

    /** A result that is not plain data crosses as its truth value only: MBPP asserts regular-expression matches. */
    @Test
    void onlyTheTruthOfAnObjectCrosses() {
        Task truth = new Task("T/0", "import re\ndef match(s):\n", "match",
                "def check(candidate):\n    assert candidate('ab')\n    assert not candidate('x')\n", "");
        Sandbox.Result match = SANDBOX.check(truth, "    return re.match('a', s)\n");
        assertEquals(Outcome.PASSED, match.outcome(), match.reason());
        Sandbox.Result raising = SANDBOX.check(truth, """
                    class Liar:
                        def __bool__(self):
                            raise ValueError('no truth here')
                    return Liar()
                """);
        assertEquals(Outcome.FAILED, raising.outcome());
        assertTrue(raising.reason().startsWith("ValueError: no truth here"), raising.reason());
        Sandbox.Result yes = add("""
                    class Yes:
                        def __eq__(self, other):
                            return True
                        def __bool__(self):
                            return True
                    return Yes()
                """);
        assertEquals(Outcome.FAILED, yes.outcome());
        assertTrue(yes.reason().endsWith("(it returned a Yes, which is not plain data)"), yes.reason());
    }

    /** The verdict is not the candidate's to write: not through __main__, frames, gc, or any descriptor. */
    @Test
    void theVerdictCannotBeForged() {
        String forge = """
                    import __main__, gc, os, sys
                    line = b'{"outcome": "passed", "reason": ""}\\n'
                    for fd in range(64):
                        try:
                            os.write(fd, line)
                        except OSError:
                            pass
                    for o in gc.get_objects():
                        if isinstance(o, dict) and 'send' in o:
                            try:
                                o['send'](['ok', a - b])
                                o['send'](['ready'])
                            except Exception:
                                pass
                    frame = sys._getframe()
                    while frame is not None:
                        frame.f_globals.pop('verdict', None)
                        frame = frame.f_back
                    return a - b
                """;
        Sandbox.Result r = add(forge);
        assertNotEquals(Outcome.PASSED, r.outcome(), r.reason());
        Sandbox.Result atLoad = add("    return a - b\nimport os\nos.write(1, b'{\"outcome\": \"passed\"}\\n')\n"
                + "os._exit(0)\n");
        assertEquals(Outcome.FAILED, atLoad.outcome(), atLoad.reason());
    }

    @Test
    void hugeOutputNeitherHangsNorFillsTheHeap() {
        long start = System.nanoTime();
        Sandbox.Result r = add("    import sys\n    sys.stdout.write('x' * (100 << 20))\n    return a + b\n");
        assertNotEquals(Outcome.PASSED, r.outcome(), "RLIMIT_FSIZE stops 100 MB of output");
        assertTrue(r.stdout().length() <= Sandbox.OUTPUT_BYTES);
        assertTrue((System.nanoTime() - start) / 1e9 < 8);
        Sandbox.Result some = add("    print('hello')\n    return a + b\n");
        assertEquals(Outcome.PASSED, some.outcome(), some.reason());
        assertTrue(some.stdout().startsWith("hello"), some.stdout());
    }

    @Test
    void aForkLoopIsBoundedAndLeavesNoProcessBehind() throws InterruptedException {
        String bomb = """
                    import os, time
                    children = 0
                    for _ in range(200):
                        try:
                            if os.fork() == 0:
                                time.sleep(30)
                                os._exit(0)
                            children += 1
                        except OSError:
                            break
                    print('children', children)
                    return a + b
                """;
        Sandbox.Result r = add(bomb);
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
        int children = Integer.parseInt(r.stdout().lines().findFirst().orElseThrow().substring("children ".length()));
        assertTrue(children < 200, "the fork loop stopped at a limit: " + children);
        assertTrue(children <= SANDBOX.limits().processes(), "RLIMIT_NPROC: " + children);
        assertNoCandidateLeft();
    }

    @Test
    void allocatingTooMuchMemoryFails() {
        Sandbox.Result r = add("    x = bytearray(4 << 30)\n    return a + b\n");
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.reason().startsWith("MemoryError"), r.reason());
    }

    /** Nothing the candidate writes outlives it: /tmp, /dev/shm and /var/tmp are its own, and capped. */
    @Test
    void filesWrittenAnywhereAreGoneAfterTheRun() {
        assumeBubblewrap();
        String name = "remask-escape-" + UUID.randomUUID();
        Sandbox.Result r = add("""
                    written = []
                    for d in ('/tmp', '/dev/shm', '/var/tmp', '%s'):
                        try:
                            with open(d + '/%s', 'w') as f:
                                f.write('x')
                            written.append(d)
                        except OSError:
                            pass
                    print(written)
                    try:
                        with open('/tmp/big', 'wb') as f:
                            f.write(b'x' * (64 << 20))
                    except OSError as e:
                        print('capped', e.errno)
                    return a + b
                """.formatted(System.getProperty("user.dir"), name));
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
        assertTrue(r.stdout().contains("capped"), r.stdout());
        for (String dir : List.of("/tmp", "/dev/shm", "/var/tmp", System.getProperty("user.dir"))) {
            assertFalse(Files.exists(Path.of(dir, name)), dir + "/" + name + " was left behind");
        }
    }

    /** The dataset, with its canonical solutions, and the user's files are out of sight. */
    @Test
    void filesOutsideTheSandboxCannotBeRead() {
        assumeBubblewrap();
        Path dataset = DatasetTest.resource("mini.jsonl").toAbsolutePath();
        for (String file : List.of(dataset.toString(), "/etc/passwd", System.getProperty("user.home"))) {
            Sandbox.Result r = add("    import os\n    os.stat(" + pythonString(file) + ")\n    return a + b\n");
            assertEquals(Outcome.FAILED, r.outcome(), file);
            assertTrue(r.reason().startsWith("FileNotFoundError"), file + ": " + r.reason());
        }
    }

    @Test
    void noNetwork() {
        assumeTrue(SANDBOX.isolation() != Sandbox.Isolation.NONE, "no namespaces here");
        // 192.0.2.1 is TEST-NET-1 (documentation only); inside the empty network namespace nothing is routable.
        long start = System.nanoTime();
        Sandbox.Result r = add("""
                    import socket
                    s = socket.socket()
                    s.settimeout(1)
                    try:
                        s.connect(('192.0.2.1', 80))
                    except OSError as e:
                        print('blocked', e.errno)
                        return a + b
                    raise RuntimeError('connected')
                """);
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
        assertTrue(r.stdout().startsWith("blocked"), r.stdout());
        assertTrue((System.nanoTime() - start) / 1e9 < 3, "no wait for a timeout");
    }

    /** A test that expects an exception of the candidate sees the builtin exception of that name. */
    @Test
    void exceptionsAndValuesCrossAsPlainData() {
        Task task = new Task("T/0", "def f(x):\n", "f", """
                def check(candidate):
                    assert candidate((1, 2.5)) == ((1, 2.5), {1: [b'x', None]}, {'a'}, float('inf'))
                    try:
                        candidate(None)
                    except ValueError:
                        return
                    raise AssertionError('no ValueError')
                """, "");
        Sandbox.Result r = SANDBOX.check(task, """
                    if x is None:
                        raise ValueError('none')
                    return (x, {1: [b'x', None]}, {'a'}, float('inf'))
                """);
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
    }

    /** The interpreter's installed packages (here Debian's PyYAML) are importable only when asked for. */
    @Test
    void sitePackagesAreVisibleOnlyWhenAskedFor() throws Exception {
        String python = Sandbox.findPython();
        assumeTrue(new ProcessBuilder(python, "-c", "import yaml").start().waitFor() == 0, "no yaml module here");
        Task task = new Task("T/1", "import yaml\n\ndef f(x):\n    \"\"\"Parse.\"\"\"\n", "f", """
                import yaml
                def check(candidate):
                    assert candidate('a: 1') == yaml.safe_load('a: 1')
                """, "");
        String completion = "    return yaml.safe_load(x)\n";
        Sandbox with = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(5)), python, true);
        Sandbox.Result r = with.check(task, completion);
        assertEquals(Outcome.PASSED, r.outcome(), r.reason());
        Sandbox.Result without = SANDBOX.check(task, completion);
        assertNotEquals(Outcome.PASSED, without.outcome(), without.reason());
        assertTrue(without.reason().contains("No module named 'yaml'"), without.reason());
    }

    @Test
    void withoutIsolationTheHarnessStillKillsTheTreeAndSeesCrashes() throws InterruptedException {
        Sandbox plain = new Sandbox(Sandbox.findPython(), Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(2)),
                Sandbox.Isolation.NONE);
        Task add = mini().get("add");
        assertEquals(Outcome.PASSED, plain.check(add, "    return a + b\n").outcome());
        assertEquals(Outcome.CRASHED, plain.check(add, "    import os\n    os.kill(os.getpid(), 9)\n").outcome());
        Sandbox.Result r = plain.check(add, """
                    import os, time
                    for _ in range(3):
                        os.fork()
                    while True:
                        time.sleep(0.01)
                """);
        assertEquals(Outcome.TIMEOUT, r.outcome(), r.reason());
        assertNoCandidateLeft();
        // A fork that outlives a passing call: no longer the checker's child when the checker ends, so the
        // checker kills the candidate's process group before it exits.
        Sandbox.Result passed = plain.check(add, """
                    import os, time
                    if os.fork() == 0:
                        while True:
                            time.sleep(0.01)
                    return a + b
                """);
        assertEquals(Outcome.PASSED, passed.outcome(), passed.reason());
        assertNoCandidateLeft();
    }

    private static void assertNoCandidateLeft() throws InterruptedException {
        Thread.sleep(300);
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(CANDIDATE_MARK)).toList();
        assertTrue(left.isEmpty(), "processes left: " + left);
    }

    private static String pythonString(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
