package org.remask.text;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process-wide settings DJL reads before it touches the network or the disk. DJL calls home on every
 * tokenizer load and may download a native library unless it runs offline; it reads these settings when
 * it is called, so they must be set before the first DJL tokenizer class is used. This class names no
 * DJL type, so loading it loads nothing of DJL.
 */
final class DjlRuntime {
    static final String OFFLINE = "ai.djl.offline";
    static final String OPT_OUT_TRACKING = "OPT_OUT_TRACKING";
    static final String CACHE_DIR = "DJL_CACHE_DIR";
    private static final String OFFLINE_ENV = "DJL_OFFLINE";

    private DjlRuntime() {}

    /** Sets offline mode, no telemetry and (only when none is set) a writable cache folder. Idempotent. */
    static synchronized void configure() {
        System.setProperty(OFFLINE, "true");
        System.setProperty(OPT_OUT_TRACKING, "true");
        if (isBlank(System.getenv(CACHE_DIR)) && isBlank(System.getenv("ENGINE_CACHE_DIR"))
                && isBlank(System.getProperty(CACHE_DIR)) && isBlank(System.getProperty("ENGINE_CACHE_DIR"))) {
            System.setProperty(CACHE_DIR, defaultCacheDir().toString());
        }
    }

    /**
     * DJL lets the environment variable DJL_OFFLINE win over the system property: refuse to go on when
     * it would turn offline mode off, rather than let DJL reach the network.
     */
    static void checkEnvironment() {
        String env = System.getenv(OFFLINE_ENV);
        if (env != null && !Boolean.parseBoolean(env)) {
            throw new TextException("the environment sets " + OFFLINE_ENV + "=" + env
                    + ", but remask runs the tokenizer offline: unset it or set it to true");
        }
    }

    /** $XDG_CACHE_HOME/remask/djl, else ~/.cache/remask/djl, else TMPDIR/remask-djl when home is not writable. */
    static Path defaultCacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (!isBlank(xdg) && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "remask", "djl");
        }
        String home = System.getProperty("user.home");
        if (!isBlank(home) && !"?".equals(home)) {
            Path dir = Path.of(home);
            Path cache = dir.resolve(".cache");
            if (Files.isDirectory(cache) ? Files.isWritable(cache) : Files.isWritable(dir)) {
                return cache.resolve("remask").resolve("djl");
            }
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "remask-djl");
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
