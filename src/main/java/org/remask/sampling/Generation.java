package org.remask.sampling;

/**
 * The result of one generation.
 *
 * @param ids the generated ids, prompt excluded
 * @param nfe model calls spent (a guided call on a batch of two counts once)
 */
public record Generation(long[] promptIds, long[] ids, int nfe, double seconds) {
    public Generation {
        promptIds = promptIds.clone();
        ids = ids.clone();
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
