package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-written completions of the mini dataset through the sandbox: passes, failures and hostile programs. */
class SandboxTest {
    private static final Sandbox SANDBOX = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(2)));

    static Map<String, Task> mini() {
        List<Task> tasks = Dataset.read(DatasetTest.resource("mini.jsonl"));
        Map<String, Task> byEntry = new java.util.HashMap<>();
        tasks.forEach(t -> byEntry.put(t.entryPoint(), t));
        return byEntry;
    }

    private static Sandbox.Result add(String completion) {
        return SANDBOX.run(mini().get("add").program(completion));
    }

    @Test
    void aCorrectCompletionPassesAndTheDirectoryIsGone() {
        Sandbox.Result r = add("    return a + b\n");
        assertEquals(Outcome.PASSED, r.outcome(), r.stderrTail());
        assertEquals(0, r.exitCode());
        assertFalse(Files.exists(r.directory()), "the temporary directory is deleted");
    }

    @Test
    void aWrongCompletionFails() {
        Sandbox.Result r = add("    return a - b\n");
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.stderrTail().contains("AssertionError"), r.stderrTail());
    }

    @Test
    void aSyntaxErrorFails() {
        assertEquals(Outcome.FAILED, add("    return a +\n").outcome());
    }

    @Test
    void anInfiniteLoopTimesOutWithinTheBound() {
        long start = System.nanoTime();
        Sandbox.Result r = add("    while True:\n        pass\n");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(Outcome.TIMEOUT, r.outcome());
        assertTrue(seconds < 6, "returned after " + seconds + " s");
    }

    @Test
    void killingItselfIsACrash() {
        Sandbox.Result r = add("    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n");
        assertEquals(Outcome.CRASHED, r.outcome(), r.stderrTail());
        assertEquals(128 + 9, r.exitCode());
    }

    @Test
    void aSegfaultIsACrash() {
        Sandbox.Result r = add("    import ctypes\n    return ctypes.string_at(0)\n");
        assertEquals(Outcome.CRASHED, r.outcome(), r.stderrTail());
    }

    @Test
    void exitingEarlyIsNotAPass() {
        for (String exit : List.of("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "raise SystemExit\n")) {
            Sandbox.Result r = SANDBOX.run(exit + mini().get("add").program("    return a + b\n"));
            assertNotEquals(Outcome.PASSED, r.outcome(), exit);
        }
        Sandbox.Result inside = add("    import sys\n    sys.exit(0)\n");
        assertEquals(Outcome.FAILED, inside.outcome());
    }

    @Test
    void hugeOutputNeitherHangsNorFillsTheHeap() {
        long start = System.nanoTime();
        Sandbox.Result r = add("    import sys\n    sys.stdout.write('x' * (100 << 20))\n    return a + b\n");
        assertNotEquals(Outcome.PASSED, r.outcome(), "RLIMIT_FSIZE stops 100 MB of output");
        assertTrue(r.stdout().length() <= Sandbox.OUTPUT_BYTES);
        assertTrue((System.nanoTime() - start) / 1e9 < 6);
        Sandbox.Result some = add("    print('hello')\n    return a + b\n");
        assertEquals(Outcome.PASSED, some.outcome(), some.stderrTail());
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
        assertEquals(Outcome.PASSED, r.outcome(), r.stderrTail());
        int children = Integer.parseInt(r.stdout().lines().findFirst().orElseThrow().substring("children ".length()));
        assertTrue(children < 200, "the fork loop stopped at a limit: " + children);
        assertTrue(!isRoot() || children < 32, "RLIMIT_NPROC for nobody: " + children);
        String marker = r.directory().toString();
        Thread.sleep(200);
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(marker)).toList();
        assertTrue(left.isEmpty(), "processes left: " + left);
    }

    @Test
    void allocatingTooMuchMemoryFails() {
        Sandbox.Result r = add("    x = bytearray(4 << 30)\n    return a + b\n");
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.stderrTail().contains("MemoryError"), r.stderrTail());
    }

    @Test
    void theCandidateCannotWriteToTheUsersFiles(@TempDir java.nio.file.Path dir) throws java.io.IOException {
        assumeTrue(isRoot(), "only root drops to nobody");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        java.nio.file.Path target = dir.resolve("escape");
        Sandbox.Result r = add("    open('" + target + "', 'w').write('x')\n    return a + b\n");
        assertEquals(Outcome.FAILED, r.outcome(), r.stderrTail());
        assertTrue(r.stderrTail().contains("PermissionError"), r.stderrTail());
        assertFalse(Files.exists(target));
    }

    @Test
    void noNetworkInsideTheNamespace() {
        assumeTrue(SANDBOX.namespaces(), "unshare is not available here");
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
        assertEquals(Outcome.PASSED, r.outcome(), r.stderrTail());
        assertTrue(r.stdout().startsWith("blocked"), r.stdout());
        assertTrue((System.nanoTime() - start) / 1e9 < 2, "no wait for a timeout");
    }

    @Test
    void withoutNamespacesTheHarnessStillKillsTheTreeAndSeesCrashes() throws InterruptedException {
        Sandbox plain = new Sandbox(Sandbox.findPython(), Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(1)),
                false);
        Task add = mini().get("add");
        assertEquals(Outcome.PASSED, plain.run(add.program("    return a + b\n")).outcome());
        assertEquals(Outcome.CRASHED, plain.run(add.program("    import os\n    os.kill(os.getpid(), 9)\n")).outcome());
        Sandbox.Result r = plain.run(add.program("""
                    import os, time
                    for _ in range(4):
                        os.fork()
                    while True:
                        time.sleep(0.01)
                """));
        assertEquals(Outcome.TIMEOUT, r.outcome());
        String marker = r.directory().toString();
        Thread.sleep(200);
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(marker)).toList();
        assertTrue(left.isEmpty(), "processes left: " + left);
    }

    private static boolean isRoot() {
        try {
            return Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid").equals(0);
        } catch (Exception e) {
            return false;
        }
    }
}
