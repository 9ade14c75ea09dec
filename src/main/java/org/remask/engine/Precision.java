package org.remask.engine;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The dtype to compute in, and why. {@code auto} picks what the device does well and the checkpoint holds:
 * bfloat16 on CUDA; on the CPU, bfloat16 for a bfloat16 checkpoint (config.json's {@code torch_dtype}) when
 * the CPU computes bfloat16 natively (AVX-512 BF16 or AMX: oneDNN's kernels, several times float32's rate),
 * else float32. Any other choice is the caller's, as given; float32 stays one option away for exact work.
 */
public record Precision(DType dtype, String reason) {
    private static final Set<String> NATIVE_BFLOAT16_FLAGS = Set.of("avx512_bf16", "amx_bf16");

    /** {@code requested} is a dtype name or "auto". */
    public static Precision choose(String requested, String device, Path modelDir) {
        if (!requested.equalsIgnoreCase("auto")) {
            DType dtype = DType.parse(requested);
            return new Precision(dtype, "as asked");
        }
        if (device.startsWith("cuda")) {
            return new Precision(DType.BFLOAT16, "auto: bfloat16 on cuda");
        }
        String stored = storedDtype(modelDir);
        if (!"bfloat16".equals(stored)) {
            return new Precision(DType.FLOAT32, "auto: the checkpoint holds " + (stored == null ? "no torch_dtype"
                    : stored) + ", computed in float32 on the cpu");
        }
        String flag = nativeBfloat16Flag(Path.of("/proc/cpuinfo"));
        return flag != null
                ? new Precision(DType.BFLOAT16, "auto: a bfloat16 checkpoint on a cpu with native bfloat16 (" + flag + ")")
                : new Precision(DType.FLOAT32, "auto: a bfloat16 checkpoint, but this cpu has no native bfloat16");
    }

    /** config.json's torch_dtype, or null when it has none (or none can be read: the load then says why). */
    static String storedDtype(Path modelDir) {
        try {
            Object value = JSON.std.mapFrom(Files.readString(modelDir.resolve("config.json"))).get("torch_dtype");
            return value instanceof String s ? s : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The first CPU flag of /proc/cpuinfo that says bfloat16 is native, or null. */
    public static String nativeBfloat16Flag(Path cpuinfo) {
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                if (line.startsWith("flags")) {
                    for (String flag : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
                        if (NATIVE_BFLOAT16_FLAGS.contains(flag)) {
                            return flag;
                        }
                    }
                    return null;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no /proc: float32
        }
        return null;
    }
}
