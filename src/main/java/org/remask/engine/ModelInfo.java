package org.remask.engine;

/** What a loaded model is: its architecture, size and where it runs. */
public record ModelInfo(
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
        String device,
        DType dtype) {

    public long headDim() {
        return dModel / nHeads;
    }
}
