package org.remask.cli;

import org.remask.engine.Model;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.Revision;
import org.remask.sampling.Sampler;
import org.remask.text.Tokenizer;

/** A loaded model with its sampler and, loaded on first use, the tokenizer of its directory. */
final class Session implements AutoCloseable {
    private final ModelOptions options;
    final Model model;
    final Sampler sampler;
    private Tokenizer tokenizer;

    Session(ModelOptions options) {
        this.options = options;
        this.model = options.load();
        this.sampler = new Sampler(model);
    }

    Tokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = Tokenizer.load(options.model());
        }
        return tokenizer;
    }

    /** The request for these prompt ids; with a tokenizer, its EoT is the default of --eot-id. */
    GenerationRequest request(long[] promptIds, SamplingOptions sampling) {
        return sampling.request(promptIds, eot());
    }

    /** As {@link #request(long[], SamplingOptions)} with a sweep point's revision rule instead of --revise's. */
    GenerationRequest request(long[] promptIds, SamplingOptions sampling, Revision revision) {
        return sampling.request(promptIds, eot(), revision);
    }

    private long eot() {
        return tokenizer == null ? -1 : tokenizer.idOf(Tokenizer.EOT_TOKEN).orElse(-1);
    }

    @Override
    public void close() {
        try {
            sampler.close();
            if (tokenizer != null) {
                tokenizer.close();
            }
        } finally {
            model.close();
        }
    }
}
