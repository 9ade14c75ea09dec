package org.remask.engine;

import java.util.Locale;

/**
 * How the model computes: the dtype its weights are converted to at load, or {@link #INT8}: the linear layers'
 * weights in int8 (per output channel, libtorch's oneDNN int8 GEMM, on the CPU), everything else in float32.
 */
public enum DType {
    FLOAT32("float32"),
    BFLOAT16("bfloat16"),
    FLOAT16("float16"),
    INT8("int8");

    private final String nativeName;

    DType(String nativeName) {
        this.nativeName = nativeName;
    }

    public String nativeName() {
        return nativeName;
    }

    /** Accepts the native names and the usual short ones (fp32, bf16, fp16, f32, half). */
    public static DType parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "float32", "fp32", "f32" -> FLOAT32;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "float16", "fp16", "half" -> FLOAT16;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException(
                    "unknown dtype '" + text + "' (use float32, bfloat16, float16 or int8)");
        };
    }

    @Override
    public String toString() {
        return nativeName;
    }
}
