package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import org.remask.ffi.NativeLibrary;

/** Status checking for the C ABI: a non-zero status becomes an exception with the native message. */
final class Native {
    private Native() {}

    static void ensureLoaded() {
        NativeLibrary.load();
    }

    /** Must run on the calling thread right after the call: the message is thread-local. */
    static void check(int status) {
        if (status == REMASK_OK()) {
            return;
        }
        String message = remask_last_error().reinterpret(Long.MAX_VALUE).getString(0);
        throw new RemaskException(kindOf(status), message);
    }

    private static RemaskException.Kind kindOf(int status) {
        if (status == REMASK_ERR_INVALID_ARGUMENT()) {
            return RemaskException.Kind.INVALID_ARGUMENT;
        }
        if (status == REMASK_ERR_CHECKPOINT()) {
            return RemaskException.Kind.CHECKPOINT;
        }
        if (status == REMASK_ERR_CLOSED()) {
            return RemaskException.Kind.CLOSED;
        }
        return RemaskException.Kind.RUNTIME;
    }
}
