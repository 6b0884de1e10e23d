package org.mixtralspark.job;

/** The job cannot go on for a reason the user can fix (the message says how); exit code 1, no stack trace. */
public final class JobException extends RuntimeException {
    public JobException(String message) {
        super(message);
    }

    public JobException(String message, Throwable cause) {
        super(message, cause);
    }
}
