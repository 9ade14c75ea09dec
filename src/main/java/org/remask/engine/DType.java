package org.remask.engine;

import java.util.Locale;

/** The dtype the model computes in; weights are converted to it at load. */
public enum DType {
    FLOAT32("float32", 4),
    BFLOAT16("bfloat16", 2),
    FLOAT16("float16", 2);

    private final String nativeName;
    private final int bytes;

    DType(String nativeName, int bytes) {
        this.nativeName = nativeName;
        this.bytes = bytes;
    }

    public String nativeName() {
        return nativeName;
    }

    public int bytes() {
        return bytes;
    }

    /** Accepts the native names and the usual short ones (fp32, bf16, fp16, f32, half). */
    public static DType parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "float32", "fp32", "f32" -> FLOAT32;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "float16", "fp16", "half" -> FLOAT16;
            default -> throw new IllegalArgumentException(
                    "unknown dtype '" + text + "' (use float32, bfloat16 or float16)");
        };
    }

    @Override
    public String toString() {
        return nativeName;
    }
}
