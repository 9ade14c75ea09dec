package org.remask.ffi;

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
            try {
                System.load(path.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new IllegalStateException("cannot load " + path + ": " + e.getMessage(), e);
            }
            resolveAllSymbols(path);
            loaded = true;
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
