package org.remask.engine;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads a safetensors file into editable tensors and writes it back, to make broken checkpoints. */
final class SafetensorsFixture {
    record Tensor(String dtype, List<Integer> shape, byte[] data) {}

    final Map<String, Tensor> tensors = new LinkedHashMap<>();

    static SafetensorsFixture read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Map<String, Object> header = JSON.std.mapFrom(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        SafetensorsFixture fixture = new SafetensorsFixture();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            Map<?, ?> info = (Map<?, ?>) e.getValue();
            List<?> offsets = (List<?>) info.get("data_offsets");
            int begin = 8 + headerLength + ((Number) offsets.get(0)).intValue();
            int end = 8 + headerLength + ((Number) offsets.get(1)).intValue();
            List<Integer> shape = ((List<?>) info.get("shape")).stream().map(d -> ((Number) d).intValue()).toList();
            fixture.tensors.put(e.getKey(), new Tensor((String) info.get("dtype"), shape, Arrays.copyOfRange(bytes, begin, end)));
        }
        return fixture;
    }

    void write(Path file) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            header.put(e.getKey(), Map.of("dtype", t.dtype(), "shape", t.shape(),
                    "data_offsets", List.of(data.size(), data.size() + t.data().length)));
            data.write(t.data());
        }
        byte[] json = JSON.std.asString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(length.array());
        out.write(headerBytes);
        out.write(data.toByteArray());
        Files.write(file, out.toByteArray());
    }
}
