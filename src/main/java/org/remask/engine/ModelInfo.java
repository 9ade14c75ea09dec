package org.remask.engine;

/**
 * What a loaded model is: its architecture, size and where it runs.
 *
 * @param experts routed experts per MoE layer, 0 for a dense model
 */
public record ModelInfo(
        Family family,
        long vocabSize,
        long maskTokenId,
        long eosTokenId,
        long dModel,
        long nLayers,
        long nHeads,
        long nKvHeads,
        long mlpHiddenSize,
        long maxSequenceLength,
        long parameterCount,
        long weightBytes,
        long experts,
        long expertsPerToken,
        String device,
        DType dtype) {

    public long headDim() {
        return dModel / nHeads;
    }
}
