package org.remask.engine;

/**
 * What a loaded model is: its architecture, size and where it runs.
 *
 * @param experts routed experts per MoE layer, 0 for a dense model
 * @param int8ActivationBits int8 weights: the bits each product quantizes its input to (8 on a CPU with VNNI, else
 *     7, remask.h); 0 for dense weights
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
        long int8ActivationBits,
        String device,
        DType dtype) {

    public long headDim() {
        return dModel / nHeads;
    }
}
