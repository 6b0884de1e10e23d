package org.mixtralspark.engine.tokenizer.jinja;

/**
 * A template that cannot be parsed, that exceeded a {@link JinjaLimits} bound, that failed while rendering, or that
 * called {@code raise_exception}. An {@link IllegalArgumentException}: the template and its input are data, and a
 * bad one fails that request (one error row), never the process.
 */
public final class TemplateException extends IllegalArgumentException {

    /** What went wrong, so callers can tell the template's own refusal from a broken or hostile template. */
    public enum Kind {
        /** The template does not parse, or uses something a chat template may not (includes, unknown filters). */
        SYNTAX,
        /** The template called {@code raise_exception(message)}: it rejects these messages. */
        RAISED,
        /** A {@link JinjaLimits} bound was reached. */
        LIMIT,
        /** An error while rendering (a type error, an undefined value used, ...). */
        RENDER
    }

    private final Kind kind;
    private final String detail;

    TemplateException(Kind kind, String origin, int line, String detail) {
        super(format(kind, origin, line, detail));
        this.kind = kind;
        this.detail = detail;
    }

    private static String format(Kind kind, String origin, int line, String detail) {
        String where = origin + (line > 0 ? ", line " + line : "");
        switch (kind) {
            case RAISED:
                return detail + " (raised by the chat template " + where + ")";
            case SYNTAX:
                return "chat template " + where + " does not parse: " + detail;
            case LIMIT:
                return "chat template " + where + " exceeded a limit: " + detail;
            default:
                return "chat template " + where + " failed: " + detail;
        }
    }

    public Kind kind() {
        return kind;
    }

    /** The message without the template's origin: for {@link Kind#RAISED}, the template's own text. */
    public String detail() {
        return detail;
    }
}
