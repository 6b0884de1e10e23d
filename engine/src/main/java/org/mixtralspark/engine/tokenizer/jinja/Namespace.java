package org.mixtralspark.engine.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code namespace(...)}: the one mutable object a template may make, to carry values out of a loop's scope. */
final class Namespace {

    final Map<String, Object> attrs = new LinkedHashMap<>();
}
