package org.remask.sampling;

/**
 * The result of one generation.
 *
 * @param ids the generated ids, prompt excluded
 * @param nfe model calls spent (a guided call on a batch of two counts once)
 * @param forwardPositions sequence positions those calls computed, summed (a guided call's two rows count
 *     once); without a cache, nfe times the sequence length
 */
public record Generation(long[] promptIds, long[] ids, int nfe, long forwardPositions, double seconds) {
    public Generation {
        promptIds = promptIds.clone();
        ids = ids.clone();
    }

    /** The calls as whole-sequence forwards: what a cache saves shows as a number below nfe. */
    public double fullEquivalentNfe() {
        return (double) forwardPositions / (promptIds.length + ids.length);
    }

    @Override
    public long[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public long[] ids() {
        return ids.clone();
    }
}
