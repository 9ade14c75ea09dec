package org.remask.cli;

import java.nio.file.Path;
import org.remask.engine.DType;
import org.remask.engine.Model;
import org.remask.engine.Threads;
import picocli.CommandLine.Option;

/** Where the model is and how to run it; shared by every command that loads one. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face checkpoint directory (config.json, safetensors).")
    Path model;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "D",
            description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "auto", paramLabel = "T",
            description = "float32, bfloat16, float16 or auto: float32 on cpu, bfloat16 on cuda (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads for libtorch (default: every available processor).")
    Integer threads;

    DType resolvedDType() {
        if (dtype.equalsIgnoreCase("auto")) {
            return device.startsWith("cuda") ? DType.BFLOAT16 : DType.FLOAT32;
        }
        return DType.parse(dtype);
    }

    Model load() {
        Threads.set(threads != null ? threads : Runtime.getRuntime().availableProcessors());
        return Model.load(model, device, resolvedDType());
    }
}
