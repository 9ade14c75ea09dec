package org.remask.bench;

import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.remask.engine.DType;
import org.remask.engine.Model;
import org.remask.engine.Threads;

/** What every benchmark needs before it touches the engine: the native library, a model, a prompt. */
final class BenchSupport {
    static final String LIB_PROPERTY = "remask.native.lib";
    static final String LIB_ENV = "REMASK_NATIVE_LIB";
    private static final String LIB_RELATIVE = "target/native/libremask.so";

    private BenchSupport() {}

    /**
     * Makes sure the engine's loader (REMASK_NATIVE_LIB, else -Dremask.native.lib) finds the library.
     * When neither is set, this looks for target/native/libremask.so in the ancestors of the benchmark
     * jar (bench/target/benchmarks.jar -> ../target/native/libremask.so relative to bench/), then
     * relative to the working directory, and sets -Dremask.native.lib to the first that exists.
     * A value in jvmArgsAppend of @Fork cannot do this: annotation values are compile-time constants,
     * and a -D there would override the one a user passes with -jvmArgs.
     */
    static Path nativeLibrary() {
        String env = System.getenv(LIB_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env).toAbsolutePath();
        }
        String property = System.getProperty(LIB_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property).toAbsolutePath();
        }
        List<Path> candidates = new ArrayList<>();
        try {
            Path code = Path.of(BenchSupport.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .toAbsolutePath();
            for (Path p = code.getParent(); p != null; p = p.getParent()) {
                candidates.add(p.resolve(LIB_RELATIVE));
            }
        } catch (URISyntaxException | RuntimeException e) {
            // No code source: only the working directory is left.
        }
        Path cwd = Path.of("").toAbsolutePath();
        candidates.add(cwd.resolve("..").resolve(LIB_RELATIVE).normalize());
        candidates.add(cwd.resolve(LIB_RELATIVE));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                System.setProperty(LIB_PROPERTY, candidate.toString());
                return candidate;
            }
        }
        throw new IllegalStateException("libremask.so not found (looked at " + candidates + "): build it with "
                + "`cd /work/main && scripts/remask --version`, or set " + LIB_ENV + " or -D" + LIB_PROPERTY);
    }

    /** Random prompt ids in [0, vocab) that are neither the mask id nor EOS. */
    static long[] prompt(int length, int vocab, long maskId, long eosId, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            long id;
            do {
                id = random.nextInt(vocab);
            } while (id == maskId || id == eosId);
            ids[i] = id;
        }
        return ids;
    }

    /** A random checkpoint in a fresh temp directory, loaded; the caller deletes the directory. */
    record Loaded(Path directory, Model model) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try {
                model.close();
            } finally {
                RandomCheckpoint.deleteRecursively(directory);
            }
        }
    }

    /** A LLaDA-layout model with SwiGLU 3 d_model. */
    static Loaded randomModel(int dModel, int layers, int heads, int vocab, String device, String dtype)
            throws Exception {
        return randomModel(RandomCheckpoint.Spec.of(dModel, layers, heads, 3 * dModel, vocab), device, dtype);
    }

    /**
     * The benchmarks' model of a family: LLaDA at dModel with heads of 64 and SwiGLU 3 d_model; another family's
     * real shape (RandomCheckpoint.Family) with {@code layers} layers and {@code vocab}, whose dModel must be the real
     * one.
     */
    static RandomCheckpoint.Spec spec(String family, int dModel, int layers, int vocab) {
        RandomCheckpoint.Family f = RandomCheckpoint.Family.parse(family);
        if (f == RandomCheckpoint.Family.LLADA) {
            return RandomCheckpoint.Spec.of(dModel, layers, Math.max(1, dModel / 64), 3 * dModel, vocab);
        }
        RandomCheckpoint.Shape real = f.real();
        if (dModel != real.dModel()) {
            throw new IllegalArgumentException(family + " runs its real shape: -p dModel=" + real.dModel() + " (its real"
                    + " vocabulary is " + f.vocab() + ")");
        }
        return RandomCheckpoint.Spec.of(f, real.withLayers(layers), vocab);
    }

    static Loaded randomModel(RandomCheckpoint.Spec checkpoint, String device, String dtype) throws Exception {
        Path lib = nativeLibrary();
        RandomCheckpoint.Spec spec = checkpoint.withDtype(dtype.equals("bfloat16") ? "bfloat16" : "float32");
        Path dir = Files.createTempDirectory("remask-bench-");
        try {
            long started = System.nanoTime();
            RandomCheckpoint.write(spec, dir);
            long wrote = System.nanoTime();
            // Debian's libtorch starts with one intra-op thread; -Dremask.threads=N chooses another count.
            Threads.set(Integer.getInteger("remask.threads", Runtime.getRuntime().availableProcessors()));
            Model model = Model.load(dir, device, DType.parse(dtype));
            System.out.printf(Locale.ROOT,
                    "%n[remask-bench] %s | lib %s | %s, %,d params"
                            + " | %s %s | checkpoint written in %.1f s, loaded in %.1f s | %s%n",
                    Model.nativeVersion(), lib, spec.describe(), spec.parameterCount(),
                    device, dtype, (wrote - started) / 1e9, (System.nanoTime() - wrote) / 1e9, threadEnvironment());
            return new Loaded(dir, model);
        } catch (Exception | Error e) {
            RandomCheckpoint.deleteRecursively(dir);
            throw e;
        }
    }

    /** The thread-related environment of this (forked) JVM, for the record. */
    static String threadEnvironment() {
        return String.format(Locale.ROOT, "libtorch threads %d, availableProcessors %d, OMP_NUM_THREADS=%s, "
                        + "MKL_NUM_THREADS=%s, OPENBLAS_NUM_THREADS=%s",
                Threads.get(), Runtime.getRuntime().availableProcessors(), System.getenv("OMP_NUM_THREADS"),
                System.getenv("MKL_NUM_THREADS"), System.getenv("OPENBLAS_NUM_THREADS"));
    }

    /**
     * Process CPU time over wall time between {@link #start()} and {@link #stop()}, summed over calls: about
     * the number of cores the measured code kept busy (JMH's own threads add a little).
     */
    static final class CpuMeter {
        /** -Dremask.bench.cpu=false (e.g. through -jvmArgsPrepend) turns the meter off. */
        private final boolean enabled = !"false".equals(System.getProperty("remask.bench.cpu"));
        private final com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        private long cpuStart;
        private long wallStart;
        private long cpu;
        private long wall;

        void start() {
            if (enabled) {
                cpuStart = os.getProcessCpuTime();
                wallStart = System.nanoTime();
            }
        }

        void stop() {
            if (enabled) {
                cpu += os.getProcessCpuTime() - cpuStart;
                wall += System.nanoTime() - wallStart;
            }
        }

        String report(String what) {
            if (!enabled) {
                return "";
            }
            return String.format(Locale.ROOT, "%n[remask-bench] %s: process CPU time / wall time over all iterations"
                    + " = %.2f cores busy (%.1f s CPU in %.1f s)%n", what, wall == 0 ? 0.0 : (double) cpu / wall,
                    cpu / 1e9, wall / 1e9);
        }
    }
}
