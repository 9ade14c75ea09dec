package org.remask.eval;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a task's tests against a model-written completion and says how it ended, without trusting the
 * completion with the verdict.
 *
 * <p>Two Python processes per run. The checker ({@code checker.py}, trusted) runs the task's prompt and test
 * and decides the verdict; the candidate ({@code candidate.py}, untrusted) runs prompt + completion inside the
 * sandbox and answers the test's calls of the entry point over a pipe, arguments and results as plain data
 * (None, bool, int, float, str, bytes, complex and lists, tuples, sets and dicts of them). Nothing the candidate
 * can reach ({@code __main__}, frames, {@code gc}, file descriptors, builtins, an {@code __eq__} that always
 * says yes, {@code sys.exit(0)}, {@code os._exit(0)}) turns a wrong answer into a pass: only the values it
 * returns count, compared by the test's own code in the checker. Arguments are copies, so a test that
 * expects the candidate to change its argument in place fails.
 *
 * <p>The sandbox ({@link Isolation}): with bubblewrap, the candidate runs as nobody in new user, PID,
 * network, IPC and UTS namespaces, in a new session, dying with the checker, and sees only /usr read-only
 * (and the interpreter's own prefix), its own /proc and /dev, and private size-capped /tmp and /dev/shm that
 * vanish with it. Without bubblewrap it falls back to {@code unshare} (network and PID namespaces, as root)
 * or to nothing: then it sees the machine's files as nobody (or as the user) would. In every mode: resource
 * limits (address space, CPU seconds, file size, stdout and stderr included, open files, processes, no core
 * dumps), a wall-clock timeout that kills the whole tree, a temporary directory deleted afterwards, and only
 * the first {@value #OUTPUT_BYTES} bytes of stdout and the last {@value #STDERR_TAIL_BYTES} of stderr read.
 */
public final class Sandbox {
    static final int OUTPUT_BYTES = 64 * 1024;
    static final int STDERR_TAIL_BYTES = 2 * 1024;
    private static final int NOBODY = 65534;

    /** How the candidate is confined, strongest first; {@link #detect} picks the strongest that works here. */
    public enum Isolation {
        /** bubblewrap: its own namespaces and a read-only view of /usr only. */
        BUBBLEWRAP,
        /** unshare: its own network and PID namespaces; the machine's files as nobody sees them. */
        UNSHARE,
        /** resource limits and a new session only. */
        NONE
    }

    /** Limits of one run. */
    public record Limits(Duration timeout, long memoryBytes, long fileBytes, int processes) {
        public static final long DEFAULT_MEMORY_MIB = 1024;

        public static Limits defaults() {
            return new Limits(Duration.ofSeconds(10), DEFAULT_MEMORY_MIB << 20, 16L << 20, 32);
        }

        public Limits withTimeout(Duration timeout) {
            return new Limits(timeout, memoryBytes, fileBytes, processes);
        }

        public Limits withMemory(long bytes) {
            return new Limits(timeout, bytes, fileBytes, processes);
        }

        public Limits {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the timeout must be positive, not " + timeout);
            }
        }
    }

    /**
     * What one run did: how it ended and why (the failed assert, the exception, the signal; empty on a pass),
     * the head of the candidate's stdout and the tail of its stderr, the wall-clock seconds and the directory
     * it ran in (deleted).
     */
    public record Result(Outcome outcome, String reason, String stdout, String stderrTail, double seconds,
            Path directory) {}

    private final String python;
    /** The interpreter's flags: -I (isolated), and -S (no site-packages) unless they are to be importable. */
    private final List<String> flags;
    private final Limits limits;
    private final Isolation isolation;
    /** The command the candidate's interpreter runs under: bwrap's or unshare's, or none. */
    private final List<String> confinement;

    public Sandbox(Limits limits) {
        this(limits, findPython(), false);
    }

    /**
     * With the interpreter {@code python}; with {@code sitePackages} the test and the candidate can import its
     * installed packages (read-only in the sandbox), as HumanEval+'s tests import numpy.
     */
    public Sandbox(Limits limits, String python, boolean sitePackages) {
        this(python, limits, detect(python), sitePackages);
    }

    Sandbox(String python, Limits limits, Isolation isolation) {
        this(python, limits, isolation, false);
    }

    private Sandbox(String python, Limits limits, Isolation isolation, boolean sitePackages) {
        this.python = python;
        this.flags = sitePackages ? List.of("-I") : List.of("-I", "-S");
        this.limits = limits;
        this.isolation = isolation;
        this.confinement = switch (isolation) {
            case BUBBLEWRAP -> bubblewrap(python, limits.fileBytes()); // what it writes is capped as files are
            case UNSHARE -> List.of(UNSHARE);
            case NONE -> List.of();
        };
    }

    public Isolation isolation() {
        return isolation;
    }

    public Limits limits() {
        return limits;
    }

    /**
     * /usr/bin/python3 where it exists (a system interpreter every user can read, which matters once the wrapper
     * drops root), else the interpreter that the first python3 on PATH runs (a shim resolved to sys.executable).
     */
    public static String findPython() {
        Path system = Path.of("/usr/bin/python3");
        if (Files.isExecutable(system)) {
            return system.toString();
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "python3");
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    String shim = candidate.toAbsolutePath().toString();
                    List<String> executable = pythonSays(shim, "import sys; print(sys.executable)");
                    return executable.isEmpty() || executable.getFirst().isEmpty() ? shim : executable.getFirst();
                }
            }
        }
        return system.toString();
    }

    /** The lines {@code python -c code} prints, or none when it cannot run or fails. */
    private static List<String> pythonSays(String python, String code) {
        try {
            Process p = new ProcessBuilder(python, "-c", code).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out.lines().toList() : List.of();
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    private static final String[] UNSHARE = {"unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"};
    private static final Map<String, Isolation> DETECTED = new ConcurrentHashMap<>();

    /** The strongest isolation that works here for this interpreter (checked once): bwrap, unshare, none. */
    static Isolation detect(String python) {
        return DETECTED.computeIfAbsent(python, p -> {
            if (succeeds(asCandidate(p, bubblewrap(p, Limits.defaults().fileBytes())))) {
                return Isolation.BUBBLEWRAP;
            }
            return succeeds(asCandidate(p, List.of(UNSHARE))) ? Isolation.UNSHARE : Isolation.NONE;
        });
    }

    /** {@code sandbox true}, started as the checker starts the candidate (as nobody, with bwrap, when root). */
    private static List<String> asCandidate(String python, List<String> sandbox) {
        List<String> command = new ArrayList<>(List.of(python, "-I", "-S", "-c", """
                import os, subprocess, sys
                user = %d if os.geteuid() == 0 and sys.argv[1] == "bwrap" else None
                sys.exit(subprocess.run(sys.argv[1:], user=user, group=user, stdin=subprocess.DEVNULL,
                                        extra_groups=None if user is None else []).returncode)
                """.formatted(NOBODY)));
        command.addAll(sandbox);
        command.add("/usr/bin/true");
        return command;
    }

    private static boolean succeeds(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            boolean ok = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
            p.destroyForcibly();
            return ok;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * bubblewrap's command line: new namespaces (user, PID, network, IPC, UTS), a new session, death with the
     * checker; /usr read-only (with Debian's /bin, /lib, ... links into it) and the interpreter's own prefix
     * where it lies elsewhere (a virtual environment); its own /proc and /dev; /tmp (the working directory)
     * and /dev/shm private tmpfs of {@code tmpfsBytes} each.
     */
    private static List<String> bubblewrap(String python, long tmpfsBytes) {
        List<String> command = new ArrayList<>(List.of("bwrap", "--unshare-all", "--new-session", "--die-with-parent",
                "--ro-bind", "/usr", "/usr"));
        for (String link : List.of("bin", "sbin", "lib", "lib64", "lib32", "libx32")) {
            if (Files.isSymbolicLink(Path.of("/" + link))) {
                command.addAll(List.of("--symlink", "usr/" + link, "/" + link));
            }
        }
        // The interpreter's sys.prefix and sys.base_prefix: where its standard library (and a venv) live.
        for (String prefix : pythonSays(python, "import sys; print(sys.prefix); print(sys.base_prefix)").stream()
                .distinct().toList()) {
            if (!prefix.equals("/usr") && !prefix.startsWith("/usr/")) {
                command.addAll(List.of("--ro-bind", prefix, prefix));
            }
        }
        String size = Long.toString(tmpfsBytes);
        command.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/tmp",
                "--size", size, "--tmpfs", "/dev/shm", "--chdir", "/tmp"));
        return command;
    }

    /** Runs the task's test against prompt + completion and reports how it ended; never throws for what it does. */
    public Result check(Task task, String completion) {
        long start = System.nanoTime();
        Path dir;
        try {
            dir = Files.createTempDirectory("remask-eval-");
        } catch (IOException e) {
            return new Result(Outcome.ERROR, "cannot create a temporary directory: " + e.getMessage(), "", "", 0, null);
        }
        try {
            return check(dir, task, completion, start);
        } catch (IOException e) {
            return new Result(Outcome.ERROR, "harness: " + e.getMessage(), "", "", seconds(start), dir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Outcome.ERROR, "harness: interrupted", "", "", seconds(start), dir);
        } finally {
            deleteTree(dir);
        }
    }

    private Result check(Path dir, Task task, String completion, long start) throws IOException, InterruptedException {
        for (String script : List.of("checker.py", "candidate.py")) {
            try (InputStream in = Sandbox.class.getResourceAsStream(script)) {
                Files.copy(Objects.requireNonNull(in, script), dir.resolve(script));
            }
        }
        Files.writeString(dir.resolve("prompt.py"), task.prompt(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("completion.py"), completion, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("test.py"), task.test(), StandardCharsets.UTF_8);
        boolean root = isRoot();
        String user = "-";
        String work;
        if (isolation == Isolation.BUBBLEWRAP) {
            work = "/tmp"; // bwrap's private tmpfs
            user = root ? Integer.toString(NOBODY) : "-"; // bwrap itself runs as nobody, in a user namespace
        } else {
            Path dirForNobody = Files.createDirectory(dir.resolve("work"));
            if (root) { // candidate.py drops to nobody: let it into its directory and no further
                Files.setAttribute(dirForNobody, "unix:uid", NOBODY);
                Files.setAttribute(dirForNobody, "unix:gid", NOBODY);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
            }
            work = dirForNobody.toString();
        }
        List<String> command = new ArrayList<>(List.of(python));
        command.addAll(flags);
        command.addAll(List.of(dir.resolve("checker.py").toString(), dir.toString(), task.entryPoint(), user, work,
                Long.toString(limits.memoryBytes()), Long.toString(limits.fileBytes()),
                Integer.toString(limits.processes()), Long.toString(Math.max(1, limits.timeout().toSeconds() + 1))));
        command.addAll(confinement);
        command.add(python);
        command.addAll(flags);

        Path verdict = dir.resolve("verdict");
        Path checkerErr = dir.resolve("checker-stderr");
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(verdict.toFile()).redirectError(checkerErr.toFile());
        builder.environment().clear();
        builder.environment().putAll(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "LANG", "C.UTF-8"));
        Process process = builder.start();
        boolean finished;
        try {
            finished = process.waitFor(limits.timeout().toNanos(), TimeUnit.NANOSECONDS);
        } finally {
            killTree(process); // on a timeout or an interruption everything; otherwise nothing is left to kill
        }
        double seconds = seconds(start);
        String stdout = head(dir.resolve("stdout"), OUTPUT_BYTES);
        String stderr = tail(dir.resolve("stderr"), STDERR_TAIL_BYTES);
        if (!finished) {
            return new Result(Outcome.TIMEOUT, "over the " + limits.timeout().toMillis() / 1000.0 + " s limit", stdout,
                    stderr, seconds, dir);
        }
        try {
            Map<String, Object> decided = JSON.std.mapFrom(head(verdict, OUTPUT_BYTES).strip());
            Outcome outcome = Outcome.valueOf(((String) decided.get("outcome")).toUpperCase(Locale.ROOT));
            return new Result(outcome, (String) decided.get("reason"), stdout, stderr, seconds, dir);
        } catch (IOException | RuntimeException e) {
            String why = tail(checkerErr, STDERR_TAIL_BYTES).strip();
            return new Result(Outcome.ERROR, "the checker failed (exit " + process.exitValue() + "): "
                    + why.substring(why.lastIndexOf('\n') + 1), stdout, stderr, seconds, dir);
        }
    }

    private static boolean isRoot() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0);
        } catch (IOException | RuntimeException e) {
            return false;
        }
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
}
