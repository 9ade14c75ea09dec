package org.remask.ffi;

import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

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

    private static void resolveAllSymbols(Path path) {
        List<Supplier<MethodHandle>> handles = List.of(
                remask_h::remask_last_error$handle,
                remask_h::remask_version$handle,
                remask_h::remask_cuda_device_count$handle,
                remask_h::remask_model_load$handle,
                remask_h::remask_model_info_get$handle,
                remask_h::remask_model_free$handle,
                remask_h::remask_tokens_new$handle,
                remask_h::remask_tokens_write$handle,
                remask_h::remask_tokens_read$handle,
                remask_h::remask_logits_new$handle,
                remask_h::remask_logits_read$handle,
                remask_h::remask_buffer_free$handle,
                remask_h::remask_forward$handle);
        for (Supplier<MethodHandle> handle : handles) {
            try {
                handle.get();
            } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new IllegalStateException(path + " does not match remask.h (" + cause.getMessage()
                        + "); rebuild it with REMASK_REBUILD=1 scripts/remask", e);
            }
        }
    }
}
