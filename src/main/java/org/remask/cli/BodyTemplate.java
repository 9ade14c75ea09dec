package org.remask.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.remask.sampling.GenerationRequest;
import org.remask.serve.BodyNames;
import org.remask.serve.RequestTemplate;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A request body's sampling fields read by the command line's own options: {@code "block_length": 32} is
 * {@code --block-length=32}, {@code "max_tokens"} is {@code --gen-length}, and the same {@link SamplingOptions}
 * fills the defaults from the model directory and checks the combination. So a field means, defaults to and is
 * refused for exactly what its option is, and messages come back with the body's names.
 */
final class BodyTemplate implements RequestTemplate {
    // Options that are not body fields: max_tokens is the generation length; the EoT id is the tokenizer's.
    private static final Set<String> NOT_FIELDS = Set.of("--gen-length", "--eot-id");

    @Command
    static final class Fields {
        @Mixin
        SamplingOptions sampling;
    }

    private final GenerationConfig config;
    private final long eotId;

    /** @param eotId the tokenizer's EoT, for eos_confidence_off; -1 without one */
    BodyTemplate(GenerationConfig config, long eotId) {
        this.config = config;
        this.eotId = eotId;
    }

    @Override
    public Sampling parse(Map<String, Object> fields) {
        Fields parsed = new Fields();
        CommandLine cli = new CommandLine(parsed);
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, Object> field : fields.entrySet()) {
            String name = field.getKey();
            Object value = field.getValue();
            String optionName = name.equals("max_tokens") ? "--gen-length" : "--" + name.replace('_', '-');
            OptionSpec option = name.contains("-") ? null : cli.getCommandSpec().findOption(optionName);
            if (option == null || NOT_FIELDS.contains(optionName) && !name.equals("max_tokens")) {
                throw new BadField("unknown field '" + name + "'", name);
            }
            if (value == null) {
                continue;
            }
            if (option.typeInfo().isBoolean()) {
                if (!(value instanceof Boolean on)) {
                    throw new BadField(name + " must be true or false, not " + value, name);
                }
                if (on) {
                    args.add(optionName);
                }
            } else if (value instanceof Number || value instanceof String) {
                args.add(optionName + "=" + value);
            } else {
                throw new BadField(name + " must be a number or a string, not " + value, name);
            }
        }
        try {
            cli.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw bad(e.getMessage(), fields);
        }
        SamplingOptions sampling = parsed.sampling;
        Duration timeLimit;
        try {
            sampling.settle(config);
            sampling.request(new long[0], eotId); // a bad combination of fields fails here, before any prompt
            timeLimit = sampling.timeLimit();
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage(), fields);
        }
        return new Sampling() {
            @Override
            public GenerationRequest request(long[] promptIds) {
                try {
                    return sampling.request(promptIds, eotId);
                } catch (IllegalArgumentException e) {
                    throw bad(e.getMessage(), fields);
                }
            }

            @Override
            public Duration timeLimit() {
                return timeLimit;
            }
        };
    }

    /** The message with body names, and its field: the first option it names, else the field whose value it quotes. */
    private static BadField bad(String message, Map<String, Object> fields) {
        String field = BodyNames.firstField(message);
        for (Map.Entry<String, Object> f : fields.entrySet()) {
            if (field == null && f.getValue() != null && message.contains("'" + f.getValue() + "'")) {
                field = f.getKey();
            }
        }
        return new BadField(BodyNames.of(message), field);
    }
}
