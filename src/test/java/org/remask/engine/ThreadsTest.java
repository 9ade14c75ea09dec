package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ThreadsTest {
    @Test
    void setsLibtorchsIntraOpThreads() {
        int before = Threads.get();
        try {
            Threads.set(1);
            assertEquals(1, Threads.get());
            Threads.set(2);
            assertEquals(2, Threads.get());
        } finally {
            Threads.set(before);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Threads.set(0));
        assertTrue(e.getMessage().contains("--threads must be at least 1"), e.getMessage());
    }
}
