package org.remask.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads libremask.so by absolute path and resolves every symbol of remask.h at once, so a missing
 * dependency or a stale library fails at start-up with its own name instead of at some later call.
 */
public final class NativeLibrary {
    private static final String FILE_NAME = "libremask.so";
    private static volatile boolean loaded;

    private NativeLibrary() {}

    /** Idempotent; throws {@link IllegalStateException} with the reason when the library cannot be used. */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLibrary.class) {
            if (loaded) {
                return;
            }
            Path path = locate();
            if (!Files.isRegularFile(path)) {
                throw new IllegalStateException("native library not found at " + path
                        + " (build it with scripts/remask or mvn package, or set REMASK_NATIVE_LIB)");
            }
            waitPassivelyUnlessSet();
            try {
                System.load(path.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new IllegalStateException("cannot load " + path + ": " + e.getMessage(), e);
            }
            resolveAllSymbols(path);
            loaded = true;
        }
    }

    /**
     * OMP_WAIT_POLICY=PASSIVE unless the environment says otherwise, set before libremask brings libgomp in (it reads
     * the variable once, when loaded). libgomp's default keeps idle OpenMP threads spinning between parallel regions;
     * on a machine with as many busy threads as cores (another generation, a build) every region then waits for a
     * descheduled spinner: a float32 forward of a d_model 1024 trunk on 2 threads beside one busy process took 700 ms
     * spinning, 427 ms passive (bench/README.md, "Threads and BLAS"). No effect where libgomp is already loaded.
     */
    private static void waitPassivelyUnlessSet() {
        if (System.getenv("OMP_WAIT_POLICY") != null) {
            return;
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().findOrThrow("setenv"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int status = (int) setenv.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("PASSIVE"), 0);
            if (status != 0) {
                throw new IllegalStateException("setenv(OMP_WAIT_POLICY) failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** REMASK_NATIVE_LIB, else -Dremask.native.lib, else native/libremask.so beside the jar or classes folder. */
    static Path locate() {
        String fromEnv = System.getenv("REMASK_NATIVE_LIB");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv).toAbsolutePath();
        }
        String fromProperty = System.getProperty("remask.native.lib");
        if (fromProperty != null && !fromProperty.isBlank()) {
            return Path.of(fromProperty).toAbsolutePath();
        }
        try {
            Path code = Path.of(NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.toAbsolutePath().getParent().resolve("native").resolve(FILE_NAME);
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of(FILE_NAME).toAbsolutePath();
        }
    }

    /** Touches every {@code name$address()} of the bindings, which looks each symbol up. */
    private static void resolveAllSymbols(Path path) {
        for (Method method : remask_h.class.getMethods()) {
            if (!method.getName().endsWith("$address")) {
                continue;
            }
            try {
                method.invoke(null);
            } catch (InvocationTargetException | ExceptionInInitializerError e) {
                Throwable cause = e.getCause() != null && e.getCause().getCause() != null
                        ? e.getCause().getCause() : e.getCause();
                throw new IllegalStateException(path + " does not match remask.h ("
                        + (cause == null ? e : cause).getMessage() + "); rebuild it with REMASK_REBUILD=1 scripts/remask", e);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
