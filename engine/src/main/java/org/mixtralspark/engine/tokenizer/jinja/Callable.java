package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * Something a template may call: a macro, a global ({@code range}, {@code namespace}, {@code raise_exception}), a
 * method of a string, list or map, or {@code loop.cycle}. Only these exist; no Java method is ever reachable.
 */
interface Callable {

    Object call(Renderer renderer, List<Object> args, Map<String, Object> kwargs);

    /** For {@code str()} and error messages. */
    String describe();
}
