package org.mixtralspark.engine.tokenizer.jinja;

import org.mixtralspark.engine.tokenizer.jinja.Node.Args;
import org.mixtralspark.engine.tokenizer.jinja.Node.Expr;
import org.mixtralspark.engine.tokenizer.jinja.Node.Stmt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One render of a parsed template: walks the {@link Node}s over plain values. There is no reflection and no Java
 * object in reach: names resolve to the render's variables, the globals of {@link Globals} and nothing else;
 * attributes and methods are the fixed sets of {@link Methods}. Every step, nesting level, string, list and output
 * character is counted against {@link JinjaLimits} before it is made.
 */
final class Renderer {

    private static final ControlFlow BREAK = new ControlFlow();
    private static final ControlFlow CONTINUE = new ControlFlow();

    private final JinjaLimits limits;
    private final long deadlineNanos;
    private final Map<String, Object> globals;
    private final StringBuilder output = new StringBuilder();
    private long steps;
    private long allocated;
    private int depth;
    private int loopDepth;
    int line;

    /** Loop exits, thrown through the statement walk; no stack trace. */
    private static final class ControlFlow extends RuntimeException {
        ControlFlow() {
            super(null, null, false, false);
        }
    }

    /** Variables of one scope: the template's top level, a macro call, one iteration of a loop. */
    static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }
    }

    Renderer(JinjaLimits limits, Map<String, Object> globals) {
        this.limits = limits;
        this.globals = globals;
        this.deadlineNanos = System.nanoTime() + limits.deadline().toNanos();
    }

    String render(List<Stmt> body) {
        exec(body, new Scope(null), output);
        return output.toString();
    }

    // ---- budget --------------------------------------------------------------------------------------------

    void step() {
        if (++steps > limits.maxSteps()) {
            throw JinjaError.limit("more than " + limits.maxSteps() + " evaluation steps (a loop too long?)");
        }
        if ((steps & 1023) == 0) {
            if (System.nanoTime() - deadlineNanos > 0) {
                throw JinjaError.limit("the render took longer than its deadline of "
                        + limits.deadline().toMillis() + " ms");
            }
            if (Thread.currentThread().isInterrupted()) {
                throw JinjaError.limit("the render was interrupted (deadline)");
            }
        }
    }

    private void enter() {
        if (++depth > limits.maxDepth()) {
            throw JinjaError.limit("evaluation nested more than " + limits.maxDepth()
                    + " deep (macro recursion?)");
        }
    }

    void checkValueDepth(int d) {
        if (d > limits.maxValueDepth()) {
            throw JinjaError.limit("a value nested more than " + limits.maxValueDepth() + " deep");
        }
    }

    void checkString(long chars) {
        if (chars > limits.maxStringChars()) {
            throw JinjaError.limit("a string of " + chars + " characters, more than the limit of "
                    + limits.maxStringChars());
        }
    }

    void checkItems(long n) {
        if (n > limits.maxItems()) {
            throw JinjaError.limit("a list of " + n + " items, more than the limit of " + limits.maxItems());
        }
        charge(n);
    }

    /** Counts {@code n} characters (or list slots) about to be made against the render's allocation budget. */
    void charge(long n) {
        allocated += n;
        if (allocated > limits.maxAllocChars()) {
            throw JinjaError.limit("the render made more than " + limits.maxAllocChars()
                    + " characters of strings and lists");
        }
    }

    /** A string of {@code a + b} about to be built: checked, then counted. */
    void newString(long chars) {
        checkString(chars);
        charge(chars);
    }

    private void append(StringBuilder out, String s) {
        long n = (long) out.length() + s.length();
        if (out == output) {
            if (n > limits.maxOutputChars()) {
                throw JinjaError.limit("the rendered text would be longer than " + limits.maxOutputChars()
                        + " characters");
            }
        } else {
            checkString(n);
        }
        charge(s.length());
        out.append(s);
    }

    // ---- statements ----------------------------------------------------------------------------------------

    void exec(List<Stmt> body, Scope scope, StringBuilder out) {
        for (Stmt s : body) {
            exec(s, scope, out);
        }
    }

    private void exec(Stmt s, Scope scope, StringBuilder out) {
        enter();
        step();
        line = s.line();
        try {
            if (s instanceof Node.Text) {
                append(out, ((Node.Text) s).text());
            } else if (s instanceof Node.Output) {
                append(out, Py.str(eval(((Node.Output) s).expr(), scope), this));
            } else if (s instanceof Node.If) {
                execIf((Node.If) s, scope, out);
            } else if (s instanceof Node.For) {
                execFor((Node.For) s, scope, out);
            } else if (s instanceof Node.Set) {
                execSet((Node.Set) s, scope);
            } else if (s instanceof Node.SetBlock) {
                Node.SetBlock b = (Node.SetBlock) s;
                StringBuilder sb = new StringBuilder();
                exec(b.body(), scope, sb);
                Object v = sb.toString();
                for (Node.Filter f : b.filters()) {
                    v = applyFilter(f, v, scope);
                }
                scope.vars.put(b.target(), v);
            } else if (s instanceof Node.Macro) {
                Node.Macro m = (Node.Macro) s;
                scope.vars.put(m.name(), new MacroFn(m, scope));
            } else if (s instanceof Node.FilterBlock) {
                Node.FilterBlock b = (Node.FilterBlock) s;
                StringBuilder sb = new StringBuilder();
                exec(b.body(), scope, sb);
                Object v = sb.toString();
                for (Node.Filter f : b.filters()) {
                    v = applyFilter(f, v, scope);
                }
                append(out, Py.str(v, this));
            } else if (s instanceof Node.With) {
                Node.With w = (Node.With) s;
                Scope inner = new Scope(scope);
                for (int i = 0; i < w.names().size(); i++) {
                    inner.vars.put(w.names().get(i), eval(w.values().get(i), scope));
                }
                exec(w.body(), inner, out);
            } else if (s instanceof Node.Break) {
                throw BREAK;
            } else if (s instanceof Node.Continue) {
                throw CONTINUE;
            } else {
                throw new IllegalStateException("unknown statement " + s);
            }
        } finally {
            depth--;
        }
    }

    private void execIf(Node.If s, Scope scope, StringBuilder out) {
        for (int i = 0; i < s.tests().size(); i++) {
            if (Py.truthy(eval(s.tests().get(i), scope))) {
                exec(s.bodies().get(i), scope, out);
                return;
            }
        }
        exec(s.otherwise(), scope, out);
    }

    private void execFor(Node.For s, Scope scope, StringBuilder out) {
        List<Object> items = Py.iterate(eval(s.iterable(), scope), this);
        if (s.condition() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                step();
                Scope probe = new Scope(scope);
                bind(s.targets(), item, probe);
                if (Py.truthy(eval(s.condition(), probe))) {
                    kept.add(item);
                }
            }
            checkItems(kept.size());
            items = kept;
        }
        if (items.isEmpty()) {
            exec(s.otherwise(), scope, out);
            return;
        }
        LoopInfo loop = new LoopInfo(items, ++loopDepth);
        try {
            for (int i = 0; i < items.size(); i++) {
                step();
                loop.index0 = i;
                Scope iteration = new Scope(scope);
                bind(s.targets(), items.get(i), iteration);
                iteration.vars.put("loop", loop);
                try {
                    exec(s.body(), iteration, out);
                } catch (ControlFlow c) {
                    if (c == BREAK) {
                        break;
                    }
                }
            }
        } finally {
            loopDepth--;
        }
    }

    private void bind(List<String> targets, Object value, Scope scope) {
        if (targets.size() == 1) {
            scope.vars.put(targets.get(0), value);
            return;
        }
        List<Object> parts = Py.iterate(value, this);
        if (parts.size() != targets.size()) {
            throw JinjaError.render("cannot unpack " + parts.size() + " values into " + targets.size() + " names");
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.vars.put(targets.get(i), parts.get(i));
        }
    }

    private void execSet(Node.Set s, Scope scope) {
        Object value = eval(s.value(), scope);
        if (s.attr() == null) {
            bind(s.targets(), value, scope);
            return;
        }
        Object target = lookup(s.targets().get(0), scope);
        if (!(target instanceof Namespace)) {
            throw JinjaError.render("cannot assign attribute on non-namespace object");
        }
        Namespace ns = (Namespace) target;
        if (!ns.attrs.containsKey(s.attr())) {
            checkItems(ns.attrs.size() + 1L);
        }
        ns.attrs.put(s.attr(), value);
    }

    // ---- expressions ---------------------------------------------------------------------------------------

    Object eval(Expr e, Scope scope) {
        enter();
        step();
        try {
            return evalInner(e, scope);
        } finally {
            depth--;
        }
    }

    private Object evalInner(Expr e, Scope scope) {
        if (e instanceof Node.Const) {
            return ((Node.Const) e).value();
        } else if (e instanceof Node.Name) {
            return lookup(((Node.Name) e).name(), scope);
        } else if (e instanceof Node.Attr) {
            Node.Attr a = (Node.Attr) e;
            return Methods.getattr(eval(a.target(), scope), a.name(), this);
        } else if (e instanceof Node.Item) {
            Node.Item i = (Node.Item) e;
            return Methods.getitem(eval(i.target(), scope), eval(i.key(), scope), this);
        } else if (e instanceof Node.Slice) {
            Node.Slice s = (Node.Slice) e;
            Object target = eval(s.target(), scope);
            return Py.slice(target, optional(s.start(), scope), optional(s.stop(), scope),
                    optional(s.step(), scope), this);
        } else if (e instanceof Node.ListLit) {
            Node.ListLit l = (Node.ListLit) e;
            checkItems(l.items().size());
            List<Object> out = new ArrayList<>(l.items().size());
            for (Expr item : l.items()) {
                out.add(eval(item, scope));
            }
            return l.tuple() ? new Tuple(out) : Py.list(out);
        } else if (e instanceof Node.DictLit) {
            Node.DictLit d = (Node.DictLit) e;
            checkItems(d.keys().size());
            Map<Object, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < d.keys().size(); i++) {
                Object k = eval(d.keys().get(i), scope);
                if (k instanceof List || k instanceof Map || k instanceof Undefined) {
                    throw JinjaError.render("unhashable type: '" + Py.typeName(k) + "'");
                }
                out.put(Methods.key(k), eval(d.values().get(i), scope));
            }
            return java.util.Collections.unmodifiableMap(out);
        } else if (e instanceof Node.Call) {
            Node.Call c = (Node.Call) e;
            Object fn = eval(c.target(), scope);
            if (fn instanceof Undefined) {
                throw ((Undefined) fn).error();
            }
            if (!(fn instanceof Callable)) {
                throw JinjaError.render("'" + Py.typeName(fn) + "' object is not callable");
            }
            List<Object> args = new ArrayList<>();
            Map<String, Object> kwargs = new LinkedHashMap<>();
            evalArgs(c.args(), scope, args, kwargs);
            return ((Callable) fn).call(this, args, kwargs);
        } else if (e instanceof Node.Filter) {
            Node.Filter f = (Node.Filter) e;
            return applyFilter(f, eval(f.value(), scope), scope);
        } else if (e instanceof Node.Test) {
            Node.Test t = (Node.Test) e;
            Object value = eval(t.value(), scope);
            List<Object> args = new ArrayList<>();
            Map<String, Object> kwargs = new LinkedHashMap<>();
            evalArgs(t.args(), scope, args, kwargs);
            boolean result = Tests.apply(t.name(), value, args, this);
            return result != t.negated();
        } else if (e instanceof Node.Unary) {
            Node.Unary u = (Node.Unary) e;
            Object v = eval(u.operand(), scope);
            return u.op().equals("not") ? !Py.truthy(v) : Ops.unary(u.op(), v);
        } else if (e instanceof Node.Binary) {
            Node.Binary b = (Node.Binary) e;
            if (b.op().equals("and")) {
                Object left = eval(b.left(), scope);
                return Py.truthy(left) ? eval(b.right(), scope) : left;
            }
            if (b.op().equals("or")) {
                Object left = eval(b.left(), scope);
                return Py.truthy(left) ? left : eval(b.right(), scope);
            }
            return Ops.binary(b.op(), eval(b.left(), scope), eval(b.right(), scope), this);
        } else if (e instanceof Node.Compare) {
            Node.Compare c = (Node.Compare) e;
            Object left = eval(c.first(), scope);
            for (int i = 0; i < c.ops().size(); i++) {
                Object right = eval(c.rest().get(i), scope);
                if (!Ops.compare(c.ops().get(i), left, right, this)) {
                    return false;
                }
                left = right;
            }
            return true;
        } else if (e instanceof Node.Cond) {
            Node.Cond c = (Node.Cond) e;
            if (Py.truthy(eval(c.test(), scope))) {
                return eval(c.then(), scope);
            }
            return c.otherwise() == null ? new Undefined("the inline if's condition was false and it has no else")
                    : eval(c.otherwise(), scope);
        }
        throw new IllegalStateException("unknown expression " + e);
    }

    private Object optional(Expr e, Scope scope) {
        if (e == null) {
            return null;
        }
        Object v = eval(e, scope);
        return v instanceof Undefined ? null : v;
    }

    private void evalArgs(Args a, Scope scope, List<Object> args, Map<String, Object> kwargs) {
        for (Expr p : a.positional()) {
            args.add(eval(p, scope));
        }
        for (int i = 0; i < a.names().size(); i++) {
            kwargs.put(a.names().get(i), eval(a.named().get(i), scope));
        }
    }

    private Object applyFilter(Node.Filter f, Object value, Scope scope) {
        List<Object> args = new ArrayList<>();
        Map<String, Object> kwargs = new LinkedHashMap<>();
        evalArgs(f.args(), scope, args, kwargs);
        return Filters.apply(f.name(), value, args, kwargs, this);
    }

    Object lookup(String name, Scope scope) {
        for (Scope s = scope; s != null; s = s.parent) {
            Object v = s.vars.get(name);
            if (v != null || s.vars.containsKey(name)) {
                return v;
            }
        }
        if (globals.containsKey(name)) {
            return globals.get(name);
        }
        Object builtin = Globals.get(name);
        return builtin != null ? builtin : Undefined.name(name);
    }

    /** Renders a string through a filter or macro into its own bounded buffer. */
    String renderInto(List<Stmt> body, Scope scope) {
        StringBuilder sb = new StringBuilder();
        int savedLoops = loopDepth;
        loopDepth = 0;
        try {
            exec(body, scope, sb);
        } finally {
            loopDepth = savedLoops;
        }
        return sb.toString();
    }

    /** A macro: called with positional and keyword arguments, renders its body in a scope of its own. */
    private final class MacroFn implements Callable {
        private final Node.Macro def;
        private final Scope closure;

        MacroFn(Node.Macro def, Scope closure) {
            this.def = def;
            this.closure = closure;
        }

        @Override
        public Object call(Renderer r, List<Object> args, Map<String, Object> kwargs) {
            List<String> params = def.params();
            if (args.size() > params.size()) {
                throw JinjaError.render("macro '" + def.name() + "' takes not more than " + params.size()
                        + " argument(s)");
            }
            enter();
            try {
                Scope scope = new Scope(closure);
                int firstDefault = params.size() - def.defaults().size();
                for (int i = 0; i < params.size(); i++) {
                    String p = params.get(i);
                    Object v;
                    if (i < args.size()) {
                        v = args.get(i);
                    } else if (kwargs.containsKey(p)) {
                        v = kwargs.get(p);
                    } else if (i >= firstDefault) {
                        v = eval(def.defaults().get(i - firstDefault), scope);
                    } else {
                        v = new Undefined("parameter '" + p + "' was not provided");
                    }
                    scope.vars.put(p, v);
                }
                for (String k : kwargs.keySet()) {
                    if (!params.contains(k)) {
                        throw JinjaError.render("macro '" + def.name() + "' takes no keyword argument '" + k + "'");
                    }
                }
                return renderInto(def.body(), scope);
            } finally {
                depth--;
            }
        }

        @Override
        public String describe() {
            return "Macro '" + def.name() + "'";
        }
    }
}
