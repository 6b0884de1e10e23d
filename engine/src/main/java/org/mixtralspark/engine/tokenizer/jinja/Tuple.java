package org.mixtralspark.engine.tokenizer.jinja;

import java.util.AbstractList;
import java.util.List;

/**
 * A Python tuple ({@code (a, b)}, the pairs of {@code items()}): a read-only list that prints with parentheses and
 * is never equal to a list, as in Python.
 */
final class Tuple extends AbstractList<Object> {

    private final List<Object> items;
    /** Field names of a named tuple (groupby's {@code (grouper, list)}), else null. */
    final List<String> names;

    Tuple(List<Object> items) {
        this(items, null);
    }

    Tuple(List<Object> items, List<String> names) {
        this.items = items;
        this.names = names;
    }

    @Override
    public Object get(int index) {
        return items.get(index);
    }

    @Override
    public int size() {
        return items.size();
    }
}
