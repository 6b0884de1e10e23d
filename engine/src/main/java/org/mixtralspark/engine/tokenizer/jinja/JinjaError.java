package org.mixtralspark.engine.tokenizer.jinja;

/**
 * A failure inside the interpreter, before it knows the template's name and line; {@link Renderer} and
 * {@link Parser} turn it into a {@link TemplateException}. No stack trace: it is an expected outcome of bad input.
 */
final class JinjaError extends RuntimeException {

    final TemplateException.Kind kind;
    final int line;

    JinjaError(TemplateException.Kind kind, String message) {
        this(kind, message, 0);
    }

    JinjaError(TemplateException.Kind kind, String message, int line) {
        super(message, null, false, false);
        this.kind = kind;
        this.line = line;
    }

    static JinjaError render(String message) {
        return new JinjaError(TemplateException.Kind.RENDER, message);
    }

    static JinjaError limit(String message) {
        return new JinjaError(TemplateException.Kind.LIMIT, message);
    }

    static JinjaError syntax(String message, int line) {
        return new JinjaError(TemplateException.Kind.SYNTAX, message, line);
    }
}
