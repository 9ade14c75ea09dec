package org.remask.sampling;

/**
 * What one model call committed.
 *
 * @param nfe the 0-based index of the model call in the generation
 * @param block the block it worked on
 * @param positions committed positions relative to the start of the generated part, ascending
 * @param tokens the tokens committed there
 * @param remasked positions whose committed token the step's revision rule took back (masked again), ascending
 * @param edited positions among {@code positions} that held a token and got another one (--revise edit), ascending
 */
public record StepEvent(int nfe, int block, int[] positions, long[] tokens, int[] remasked, int[] edited) {
    /** A step that edited nothing. */
    public StepEvent(int nfe, int block, int[] positions, long[] tokens, int[] remasked) {
        this(nfe, block, positions, tokens, remasked, new int[0]);
    }
}
