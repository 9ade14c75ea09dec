package org.remask.eval;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs untrusted Python source in a separate {@code python3} process and says how it ended.
 *
 * <p>Each run gets a fresh temporary directory (deleted afterwards), stdin from /dev/null, a minimal environment
 * (PATH, LANG, HOME = the run's directory) and a wall-clock timeout after which the whole process tree is killed.
 * A small Python wrapper, {@value #WRAPPER}, sets resource limits before the candidate runs: address space
 * (RLIMIT_AS), CPU seconds (RLIMIT_CPU), size of files written, stdout and stderr included (RLIMIT_FSIZE), open
 * files, no core dumps, and a process count (RLIMIT_NPROC). RLIMIT_NPROC does not bind root, so when the wrapper
 * runs as root it first drops to the user nobody (uid 65534) in a private working directory. Where
 * {@code unshare} works (root, or unprivileged user namespaces), the run is in its own network namespace (no
 * network: only a loopback that is down) and its own PID namespace: the wrapper is its PID 1, so every process the
 * candidate forked dies with it, and {@code --kill-child} ties the namespace to the unshare process this class
 * kills on timeout. Without unshare the wrapper starts a new session and the harness kills its descendants.
 *
 * <p>Output goes to files in the run's directory (capped by RLIMIT_FSIZE, so a flood of output never blocks the
 * child nor fills the heap); the harness reads only their first {@value #OUTPUT_BYTES} bytes and stderr's tail.
 *
 * <p>PASSED needs exit code 0 and a per-run random sentinel that the wrapper writes, after the program ran to its
 * end, to a status file the candidate (as nobody) cannot write. The sentinel comes in an environment variable the
 * wrapper removes before the candidate runs and is never in the candidate's text, so {@code sys.exit(0)},
 * {@code os._exit(0)} or a crash before the tests finish is not a pass. This guards against accidental early
 * exits, not against an adversary that digs through the interpreter's memory.
 */
public final class Sandbox {
    static final String WRAPPER = "harness.py";
    static final int OUTPUT_BYTES = 64 * 1024;
    static final int STDERR_TAIL_BYTES = 2 * 1024;
    private static final int HARNESS_ERROR = 121;

    /** Limits of one run. */
    public record Limits(Duration timeout, long memoryBytes, long fileBytes, int processes) {
        public static Limits defaults() {
            return new Limits(Duration.ofSeconds(10), 1L << 30, 16L << 20, 32);
        }

        public Limits withTimeout(Duration timeout) {
            return new Limits(timeout, memoryBytes, fileBytes, processes);
        }

        public Limits {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the timeout must be positive, not " + timeout);
            }
        }
    }

    /**
     * What one run did: how it ended, its exit code (-1 on timeout or harness error; 128 + N when killed by signal
     * N), the head of stdout and the tail of stderr, its wall-clock seconds and the directory it ran in (deleted).
     */
    public record Result(Outcome outcome, int exitCode, String stdout, String stderrTail, double seconds,
            Path directory) {}

    private final String python;
    private final Limits limits;
    private final boolean namespaces;

    public Sandbox(Limits limits) {
        this(findPython(), limits, unshareWorks());
    }

    Sandbox(String python, Limits limits, boolean namespaces) {
        this.python = python;
        this.limits = limits;
        this.namespaces = namespaces;
    }

    /** Whether runs get their own network and PID namespaces. */
    public boolean namespaces() {
        return namespaces;
    }

    public Limits limits() {
        return limits;
    }

    /**
     * /usr/bin/python3 where it exists (a system interpreter every user can read, which matters once the wrapper
     * drops root), else the interpreter that the first python3 on PATH runs (a shim resolved to sys.executable).
     */
    static String findPython() {
        Path system = Path.of("/usr/bin/python3");
        if (Files.isExecutable(system)) {
            return system.toString();
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "python3");
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    return resolve(candidate.toAbsolutePath().toString());
                }
            }
        }
        return system.toString();
    }

    private static String resolve(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import sys; print(sys.executable)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty() ? out : python;
        } catch (IOException e) {
            return python;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return python;
        }
    }

    private static final String[] UNSHARE = {"unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"};
    private static volatile Boolean unshareWorks;

    /** Whether {@code unshare --net --pid --fork --mount-proc --kill-child true} succeeds here (checked once). */
    static boolean unshareWorks() {
        Boolean known = unshareWorks;
        if (known == null) {
            known = false;
            try {
                List<String> command = new ArrayList<>(List.of(UNSHARE));
                command.add("true");
                Process p = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                known = p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            } catch (IOException e) {
                known = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            unshareWorks = known;
        }
        return known;
    }

    /** Runs the source and reports how it ended; never throws for anything the program does. */
    public Result run(String source) {
        long start = System.nanoTime();
        Path dir;
        try {
            dir = Files.createTempDirectory("remask-eval-");
        } catch (IOException e) {
            return new Result(Outcome.ERROR, -1, "", "cannot create a temporary directory: " + e.getMessage(), 0, null);
        }
        try {
            return run(dir, source, start);
        } catch (IOException e) {
            return new Result(Outcome.ERROR, -1, "", "harness: " + e.getMessage(), seconds(start), dir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Outcome.ERROR, -1, "", "harness: interrupted", seconds(start), dir);
        } finally {
            deleteTree(dir);
        }
    }

    private Result run(Path dir, String source, long start) throws IOException, InterruptedException {
        Path program = Files.writeString(dir.resolve("program.py"), source, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(WRAPPER), WRAPPER_SOURCE, StandardCharsets.UTF_8);
        Path status = dir.resolve("status");
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        String sentinel = UUID.randomUUID().toString();

        List<String> command = new ArrayList<>();
        if (namespaces) {
            command.addAll(List.of(UNSHARE));
        }
        command.addAll(List.of(python, "-I", "-S", dir.resolve(WRAPPER).toString(), program.toString(),
                status.toString(), dir.resolve("work").toString()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> env = builder.environment();
        env.clear();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("LANG", "C.UTF-8");
        env.put("HOME", dir.resolve("work").toString());
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        env.put("REMASK_SENTINEL", sentinel);
        env.put("REMASK_LIMITS", limits.memoryBytes() + " " + limits.fileBytes() + " " + limits.processes() + " "
                + Math.max(1, limits.timeout().toSeconds() + 1));

        Process process = builder.start();
        boolean finished = process.waitFor(limits.timeout().toNanos(), TimeUnit.NANOSECONDS);
        if (!finished) {
            killTree(process);
        } else if (!namespaces) {
            killTree(process); // the candidate's forked stragglers, if any
        }
        double seconds = seconds(start);
        String stdout = head(out, OUTPUT_BYTES);
        String stderr = tail(err, STDERR_TAIL_BYTES);
        if (!finished) {
            return new Result(Outcome.TIMEOUT, -1, stdout, stderr, seconds, dir);
        }
        int code = process.exitValue();
        boolean completed = Files.exists(status) && head(status, 1024).strip().equals(sentinel);
        Outcome outcome;
        if (code == 0 && completed) {
            outcome = Outcome.PASSED;
        } else if (code == HARNESS_ERROR && !completed && stderr.contains("remask-harness:")) {
            outcome = Outcome.ERROR;
        } else if (code > 128 && code < 128 + 65) {
            outcome = Outcome.CRASHED;
        } else {
            outcome = Outcome.FAILED;
        }
        return new Result(outcome, code, stdout, stderr, seconds, dir);
    }

    /** Kills the process and everything below it, repeating while new descendants appear (a forking loop). */
    private static void killTree(Process process) throws InterruptedException {
        for (int round = 0; round < 20; round++) {
            List<ProcessHandle> all = new ArrayList<>();
            process.toHandle().descendants().forEach(all::add);
            all.forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            if (all.isEmpty() && !process.isAlive()) {
                break;
            }
            Thread.sleep(10);
        }
        process.waitFor(5, TimeUnit.SECONDS);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static String head(Path file, int max) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] bytes = new byte[(int) Math.min(max, f.length())];
            f.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private static String tail(Path file, int max) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long length = f.length();
            byte[] bytes = new byte[(int) Math.min(max, length)];
            f.seek(length - bytes.length);
            f.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // left for the system's temporary-file cleanup
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // the same
        }
    }

    /**
     * The wrapper: argv is PROGRAM STATUS WORKDIR. It reads the program, sets the limits, drops root, runs the
     * program as __main__ and only then writes the sentinel to STATUS (opened before dropping root).
     */
    static final String WRAPPER_SOURCE = """
            import os, resource, sys

            def fail(message):
                sys.stderr.write("remask-harness: " + message + "\\n")
                sys.stderr.flush()
                os._exit(121)

            try:
                program_path, status_path, work = sys.argv[1], sys.argv[2], sys.argv[3]
                sentinel = os.environ.pop("REMASK_SENTINEL")
                memory, fsize, nproc, cpu = (int(v) for v in os.environ.pop("REMASK_LIMITS").split())
                with open(program_path, encoding="utf-8") as f:
                    source = f.read()
                os.unlink(program_path)
                status = open(status_path, "w")
                os.mkdir(work, 0o700)
                root = os.geteuid() == 0
                if root:
                    os.chmod(os.path.dirname(work), 0o711)
                    os.chown(work, 65534, 65534)
            except Exception as e:
                fail(repr(e))

            if os.getpid() == 1:
                # PID 1 of a namespace ignores signals it has no handler for (even SIGKILL from inside), so the
                # program runs in a child; when this process exits, the kernel kills the whole namespace.
                child = os.fork()
                if child:
                    status.close()
                    while True:
                        pid, st = os.waitpid(-1, 0)
                        if pid == child:
                            os._exit(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
            try:
                if os.getpid() != 1 and os.getpid() != os.getsid(0):
                    os.setsid()
                if not root:
                    mine = 0
                    for p in os.listdir("/proc"):
                        try:
                            mine += p.isdigit() and os.stat("/proc/" + p).st_uid == os.getuid()
                        except OSError:
                            pass
                    nproc += mine
                for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, fsize),
                                     (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_CPU, cpu),
                                     (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 256)):
                    soft, hard = resource.getrlimit(limit)
                    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                    resource.setrlimit(limit, (value, value))
                if root:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                os.chdir(work)
                os.environ["HOME"] = work
            except Exception as e:
                fail(repr(e))

            code = compile(source, "candidate.py", "exec")
            del source
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            try:
                exec(code, namespace)
            except SystemExit as e:
                sys.stderr.write("remask-harness: the program exited (%r) before its tests finished\\n" % (e.code,))
                sys.stderr.flush()
                os._exit(3)
            sys.stdout.flush()
            status.write(sentinel)
            status.close()
            """;
}
