package org.mixtralspark.engine.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * Jackson's parse errors as one line. Its {@code getMessage()} appends the location on a second line with the
 * source's description ({@code at [Source: REDACTED ...; line: 1, column: 7]}), which breaks the CLI's one-line
 * error and says nothing the file name does not say better.
 */
public final class JsonErrors {

    private JsonErrors() {
    }

    /** E.g. {@code Unexpected end-of-input: expected close marker for Object (line 3, column 1)}. */
    public static String oneLine(JsonProcessingException e) {
        String message = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        message = message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0) {
            message += " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        }
        return message;
    }
}
