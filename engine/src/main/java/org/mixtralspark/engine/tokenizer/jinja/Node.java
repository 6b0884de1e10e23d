package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;

/** The parsed template: statements and expressions, immutable, shared by every render. */
final class Node {

    private Node() {
    }

    /** An expression; {@code line} is where it starts, for error messages. */
    interface Expr {
        int line();
    }

    /** A statement: text, an output, or a tag. */
    interface Stmt {
        int line();
    }

    record Const(Object value, int line) implements Expr { }

    record Name(String name, int line) implements Expr { }

    /** A list literal, or a tuple ({@code (a, b)}, {@code a, b}). */
    record ListLit(List<Expr> items, boolean tuple, int line) implements Expr { }

    record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr { }

    record Attr(Expr target, String name, int line) implements Expr { }

    record Item(Expr target, Expr key, int line) implements Expr { }

    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr { }

    /** Positional and keyword arguments of a call, a filter or a test. */
    record Args(List<Expr> positional, List<String> names, List<Expr> named) {
        static final Args NONE = new Args(List.of(), List.of(), List.of());
    }

    record Call(Expr target, Args args, int line) implements Expr { }

    record Filter(Expr value, String name, Args args, int line) implements Expr { }

    record Test(Expr value, String name, Args args, boolean negated, int line) implements Expr { }

    record Unary(String op, Expr operand, int line) implements Expr { }

    record Binary(String op, Expr left, Expr right, int line) implements Expr { }

    /** {@code a < b <= c}: Python's chained comparison. */
    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr { }

    record Cond(Expr test, Expr then, Expr otherwise, int line) implements Expr { }

    record Text(String text, int line) implements Stmt { }

    record Output(Expr expr, int line) implements Stmt { }

    record If(List<Expr> tests, List<List<Stmt>> bodies, List<Stmt> otherwise, int line) implements Stmt { }

    record For(List<String> targets, Expr iterable, Expr condition, List<Stmt> body, List<Stmt> otherwise,
               int line) implements Stmt { }

    /** {@code set a = x}, {@code set a, b = x}, or {@code set ns.attr = x} (then {@code attr} is not null). */
    record Set(List<String> targets, String attr, Expr value, int line) implements Stmt { }

    record SetBlock(String target, List<Filter> filters, List<Stmt> body, int line) implements Stmt { }

    record Macro(String name, List<String> params, List<Expr> defaults, List<Stmt> body, int line) implements Stmt { }

    record FilterBlock(List<Filter> filters, List<Stmt> body, int line) implements Stmt { }

    record With(List<String> names, List<Expr> values, List<Stmt> body, int line) implements Stmt { }

    record Break(int line) implements Stmt { }

    record Continue(int line) implements Stmt { }
}
