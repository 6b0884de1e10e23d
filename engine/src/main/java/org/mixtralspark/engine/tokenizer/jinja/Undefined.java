package org.mixtralspark.engine.tokenizer.jinja;

/**
 * jinja2's default {@code Undefined}: what a missing variable, key or attribute evaluates to. It prints as nothing,
 * is false, iterates as empty and has length 0; using it further (an attribute, a call, arithmetic) is an error
 * naming what was missing.
 */
final class Undefined {

    /** Why it is undefined, as jinja2 says it: {@code 'x' is undefined}, {@code 'dict object' has no attribute 'y'}. */
    final String hint;

    Undefined(String hint) {
        this.hint = hint;
    }

    static Undefined name(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    JinjaError error() {
        return JinjaError.render(hint);
    }
}
