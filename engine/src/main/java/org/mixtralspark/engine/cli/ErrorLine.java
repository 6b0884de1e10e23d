package org.mixtralspark.engine.cli;

/**
 * An exception as the one line the CLI prints. A message from a hostile file can hold anything the file held: line
 * breaks would split the error over lines, and a NUL byte makes {@code grep} (the launcher's stderr filter, a log
 * shipper) treat the whole stream as binary. Control characters are written as {@code \\uXXXX} escapes instead.
 */
final class ErrorLine {

    /** Long enough for a file path, the problem and the key; a message longer than this is cut, and says so. */
    static final int MAX_LENGTH = 2000;

    private ErrorLine() {
    }

    static String of(Throwable e) {
        String message = e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
        StringBuilder line = new StringBuilder(Math.min(message.length(), MAX_LENGTH) + 16);
        for (int i = 0; i < message.length() && line.length() < MAX_LENGTH; i++) {
            char c = message.charAt(i);
            if (c == '\n' || c == '\r') {
                // a line break inside a message separates parts of one sentence
                if (line.length() > 0 && line.charAt(line.length() - 1) != ' ') {
                    line.append(' ');
                }
            } else if (Character.isISOControl(c) && c != '\t') {
                line.append(String.format("\\u%04x", (int) c));
            } else {
                line.append(c);
            }
        }
        if (line.length() >= MAX_LENGTH) {
            line.setLength(MAX_LENGTH);
            line.append(" ... (cut)");
        }
        return line.toString().strip();
    }
}
