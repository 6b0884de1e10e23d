package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** The {@code loop} variable of a {@code for} body: {@code index}, {@code first}, {@code last}, {@code cycle()}, ... */
final class LoopInfo {

    private final List<Object> items;
    private final int depth;
    int index0;

    LoopInfo(List<Object> items, int depth) {
        this.items = items;
        this.depth = depth;
    }

    Object attr(String name) {
        int n = items.size();
        switch (name) {
            case "index": return (long) index0 + 1;
            case "index0": return (long) index0;
            case "revindex": return (long) (n - index0);
            case "revindex0": return (long) (n - index0 - 1);
            case "first": return index0 == 0;
            case "last": return index0 == n - 1;
            case "length": return (long) n;
            case "depth": return (long) depth;
            case "depth0": return (long) depth - 1;
            case "previtem": return index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem": return index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle": return new Callable() {
                @Override
                public Object call(Renderer r, List<Object> args, Map<String, Object> kwargs) {
                    if (args.isEmpty()) {
                        throw JinjaError.render("no items for cycling given");
                    }
                    return args.get(index0 % args.size());
                }

                @Override
                public String describe() {
                    return "bound method LoopContext.cycle";
                }
            };
            default: return new Undefined("'LoopContext' object has no attribute '" + name + "'");
        }
    }
}
