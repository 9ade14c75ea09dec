package org.remask.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer never reaches the network, whatever the environment leaves unset. */
class OfflineTest {
    @Test
    void djlIsOfflineOnceTokenizerIsInitialized() throws ClassNotFoundException {
        Class.forName(Tokenizer.class.getName(), true, Tokenizer.class.getClassLoader());
        assertEquals("true", System.getProperty("ai.djl.offline"));
        assertEquals("true", System.getProperty("OPT_OUT_TRACKING"));
        String cache = System.getProperty("DJL_CACHE_DIR");
        assertTrue(System.getenv("DJL_CACHE_DIR") != null || (cache != null && !cache.isBlank()), "no DJL cache dir");
    }

    @Test
    void freshJvmWithoutTheEnvironmentOpensNoSocket(@TempDir Path cache) throws Exception {
        Map<String, String> out = probe(cache);
        assertEquals("[]", out.get("attempts"), "network connections were attempted");
        assertEquals("null", out.get("offline.before"), "the probe JVM should start without ai.djl.offline");
        assertEquals("true", out.get("offline"));
        assertEquals("true", out.get("tracking"));
        assertEquals(cache.resolve("remask").resolve("djl").toString(), out.get("cache"));
        assertEquals("true", out.get("cache.lib"), "the native library was not extracted to the cache dir");
        assertEquals("[126080, 104, 195, 169, 108, 108, 111, 272, 269, 32, 274]", out.get("ids"));
        assertEquals("héllo and the def", out.get("decoded"));
    }

    @Test
    void theGuardSeesAConnectionMadeAsDjlMakesThem(@TempDir Path cache) throws Exception {
        assertEquals("[/127.0.0.1:9]", probe(cache, "--selfcheck").get("attempts"));
    }

    @Test
    void djlAloneWouldCallHome(@TempDir Path cache) throws Exception {
        // What remask's settings prevent: DJL's call home asks the link-local metadata service first.
        String attempts = probe(cache, "--raw-djl", cache.toString()).get("attempts");
        assertTrue(attempts.contains("169.254.169.254"), attempts);
    }

    /** Runs OfflineProbe in a new JVM without DJL_OFFLINE, OPT_OUT_TRACKING or a DJL cache dir set. */
    private static Map<String, String> probe(Path cacheHome, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                OfflineProbe.class.getName(),
                Fixtures.lladaTiny().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        for (String name : List.of("DJL_OFFLINE", "OPT_OUT_TRACKING", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR",
                "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")) {
            pb.environment().remove(name);
        }
        pb.environment().put("XDG_CACHE_HOME", cacheHome.toString());
        Process process = pb.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the probe did not finish");
        assertEquals(0, process.exitValue(), output);
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        assertTrue(values.containsKey("attempts"), output);
        return values;
    }
}
