package org.remask.engine;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The reference implementation's vectors and tiny checkpoints, shipped in test resources. */
public final class Golden {
    public static final String F32 = "tiny-llada-f32";
    public static final String BF16_SHARDED = "tiny-llada-bf16-sharded";

    private Golden() {}

    public static Path checkpoint(String name) {
        try {
            return Path.of(Golden.class.getResource("/golden/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The forward.json entry of one model: input ids and the logits [T][V]. */
    public record Forward(long[] inputIds, float[][] logits) {}

    public static Forward forward(String model) {
        return forward("forward.json", model);
    }

    /** The entry of one model in a forward.json under golden/ (families/forward.json: the other families'). */
    public static Forward forward(String file, String model) {
        for (Object entry : list(file)) {
            if (model.equals(((Map<?, ?>) entry).get("model"))) {
                return forward((Map<?, ?>) entry);
            }
        }
        throw new IllegalArgumentException("no forward.json entry for " + model);
    }

    /** An entry's input ids and logits. */
    public static Forward forward(Map<?, ?> entry) {
        List<?> ids = (List<?>) entry.get("input_ids");
        List<?> rows = (List<?>) entry.get("logits");
        float[][] logits = new float[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            List<?> row = (List<?>) rows.get(r);
            logits[r] = new float[row.size()];
            for (int v = 0; v < row.size(); v++) {
                logits[r][v] = ((Number) row.get(v)).floatValue();
            }
        }
        return new Forward(ids.stream().mapToLong(id -> ((Number) id).longValue()).toArray(), logits);
    }

    /** int8.json's entry for the input width int8 products use on this CPU (ModelInfo.int8ActivationBits). */
    public static Map<?, ?> int8(long activationBits) {
        for (Object entry : list("int8.json")) {
            if (((Number) ((Map<?, ?>) entry).get("activation_bits")).longValue() == activationBits) {
                return (Map<?, ?>) entry;
            }
        }
        throw new IllegalArgumentException("no int8.json entry for " + activationBits + "-bit inputs");
    }

    public static List<Object> list(String file) {
        try (InputStream in = Golden.class.getResourceAsStream("/golden/" + file)) {
            return JSON.std.listFrom(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
