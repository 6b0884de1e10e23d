package org.mixtralspark.engine.tokenizer.jinja;

import org.mixtralspark.engine.tokenizer.jinja.Node.Args;
import org.mixtralspark.engine.tokenizer.jinja.Node.Expr;
import org.mixtralspark.engine.tokenizer.jinja.Node.Stmt;
import org.mixtralspark.engine.tokenizer.jinja.Token.Type;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses tokens into {@link Node}s with jinja2's grammar and operator precedence (jinja2/parser.py). Every level of
 * nesting (a block, a parenthesis, a {@code not}, a unary minus) is counted against {@link JinjaLimits#maxNesting()}
 * before it is entered, so the recursion depth is bounded by construction. Tags that load other templates or files
 * ({@code include}, {@code import}, {@code from}, {@code extends}) are refused here: a chat template is one string.
 */
final class Parser {

    private static final Set<String> LOADING_TAGS = Set.of("include", "import", "from", "extends", "block");
    private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> tokens;
    private final int maxNesting;
    private int pos;
    private int nesting;
    private int loops;

    private Parser(List<Token> tokens, int maxNesting) {
        this.tokens = tokens;
        this.maxNesting = maxNesting;
    }

    static List<Stmt> parse(String source, JinjaLimits limits) {
        if (source.length() > limits.maxSourceChars()) {
            throw JinjaError.limit("the template has " + source.length() + " characters, more than the limit of "
                    + limits.maxSourceChars());
        }
        Parser p = new Parser(Lexer.lex(source, limits.maxSourceChars()), limits.maxNesting());
        List<Stmt> body = p.body(Set.of());
        if (p.peek().type() != Type.EOF) {
            Token t = p.peek();
            throw JinjaError.syntax("unexpected tag '" + t.text() + "'", t.line());
        }
        return body;
    }

    // ---- statements ----------------------------------------------------------------------------------------

    /** Statements up to (not including) a {@code {% name %}} with a name in {@code ends}, or the end. */
    private List<Stmt> body(Set<String> ends) {
        enter();
        List<Stmt> out = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case EOF:
                    if (!ends.isEmpty()) {
                        throw JinjaError.syntax("unexpected end of template: expected one of " + ends, t.line());
                    }
                    exit();
                    return out;
                case DATA:
                    next();
                    out.add(new Node.Text(t.text(), t.line()));
                    break;
                case VAR_BEGIN:
                    next();
                    out.add(new Node.Output(tuple(true), t.line()));
                    expect(Type.VAR_END, "'}}'");
                    break;
                case BLOCK_BEGIN:
                    Token name = tokens.get(pos + 1);
                    if (name.type() == Type.NAME && ends.contains(name.text())) {
                        exit();
                        return out;
                    }
                    next();
                    out.add(statement());
                    break;
                default:
                    throw JinjaError.syntax("unexpected " + t, t.line());
            }
        }
    }

    private Stmt statement() {
        Token t = next();
        if (t.type() != Type.NAME) {
            throw JinjaError.syntax("a tag must start with a name, not " + t, t.line());
        }
        String tag = t.text();
        if (LOADING_TAGS.contains(tag)) {
            throw JinjaError.syntax("'" + tag + "' is not allowed: a chat template cannot load other templates,"
                    + " files or resources", t.line());
        }
        switch (tag) {
            case "if": return ifStmt(t.line());
            case "for": return forStmt(t.line());
            case "set": return setStmt(t.line());
            case "macro": return macro(t.line());
            case "filter": return filterBlock(t.line());
            case "with": return with(t.line());
            case "generation": {                              // transformers' AssistantTracker: renders its body
                endTag();
                List<Stmt> body = body(Set.of("endgeneration"));
                closeTag("endgeneration");
                return new Node.With(List.of(), List.of(), body, t.line());
            }
            case "break":
            case "continue":
                if (loops == 0) {
                    throw JinjaError.syntax("'" + tag + "' outside a loop", t.line());
                }
                endTag();
                return tag.equals("break") ? new Node.Break(t.line()) : new Node.Continue(t.line());
            default:
                throw JinjaError.syntax("unknown tag '" + tag + "'", t.line());
        }
    }

    private Stmt ifStmt(int line) {
        List<Expr> tests = new ArrayList<>();
        List<List<Stmt>> bodies = new ArrayList<>();
        List<Stmt> otherwise = List.of();
        tests.add(tuple(true));
        endTag();
        while (true) {
            bodies.add(body(Set.of("elif", "else", "endif")));
            expect(Type.BLOCK_BEGIN, "'{%'");
            Token t = next();
            if (t.text().equals("elif")) {
                tests.add(tuple(true));
                endTag();
            } else if (t.text().equals("else")) {
                endTag();
                otherwise = body(Set.of("endif"));
                closeTag("endif");
                break;
            } else {
                endTag();
                break;
            }
        }
        return new Node.If(tests, bodies, otherwise, line);
    }

    private Stmt forStmt(int line) {
        List<String> targets = targets();
        if (!next().isName("in")) {
            throw JinjaError.syntax("expected 'in' in a for loop", line);
        }
        Expr iterable = tuple(false);
        Expr condition = null;
        if (peek().isName("if")) {
            next();
            condition = expression(true);
        }
        if (peek().isName("recursive")) {
            throw JinjaError.syntax("recursive for loops are not supported", line);
        }
        endTag();
        loops++;
        List<Stmt> body = body(Set.of("else", "endfor"));
        loops--;
        List<Stmt> otherwise = List.of();
        expect(Type.BLOCK_BEGIN, "'{%'");
        if (next().text().equals("else")) {
            endTag();
            otherwise = body(Set.of("endfor"));
            closeTag("endfor");
        } else {
            endTag();
        }
        return new Node.For(targets, iterable, condition, body, otherwise, line);
    }

    private List<String> targets() {
        List<String> names = new ArrayList<>();
        boolean paren = peek().isOp("(");
        if (paren) {
            next();
        }
        do {
            names.add(name());
        } while (peek().isOp(",") && next() != null && peek().type() == Type.NAME);
        if (paren) {
            expectOp(")");
        }
        return names;
    }

    private Stmt setStmt(int line) {
        String first = name();
        if (peek().isOp(".")) {
            next();
            String attr = name();
            expectOp("=");
            Expr value = tuple(true);
            endTag();
            return new Node.Set(List.of(first), attr, value, line);
        }
        List<String> targets = new ArrayList<>(List.of(first));
        while (peek().isOp(",")) {
            next();
            targets.add(name());
        }
        if (peek().isOp("=")) {
            next();
            Expr value = tuple(true);
            endTag();
            return new Node.Set(targets, null, value, line);
        }
        if (targets.size() > 1) {
            throw JinjaError.syntax("a block set takes one name", line);
        }
        List<Node.Filter> filters = filterChain();
        endTag();
        List<Stmt> body = body(Set.of("endset"));
        closeTag("endset");
        return new Node.SetBlock(first, filters, body, line);
    }

    private Stmt macro(int line) {
        String name = name();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expectOp("(");
        while (!peek().isOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            params.add(name());
            if (peek().isOp("=")) {
                next();
                defaults.add(expression(true));
            } else {
                if (!defaults.isEmpty()) {
                    throw JinjaError.syntax("a macro parameter without a default follows one with a default", line);
                }
            }
        }
        next();
        endTag();
        int savedLoops = loops;
        loops = 0;
        List<Stmt> body = body(Set.of("endmacro"));
        loops = savedLoops;
        expect(Type.BLOCK_BEGIN, "'{%'");
        next();
        if (peek().type() == Type.NAME) {
            next();
        }
        endTag();
        return new Node.Macro(name, params, defaults, body, line);
    }

    private Stmt filterBlock(int line) {
        List<Node.Filter> filters = new ArrayList<>();
        filters.add(filter(null));
        filters.addAll(filterChain());
        endTag();
        List<Stmt> body = body(Set.of("endfilter"));
        closeTag("endfilter");
        return new Node.FilterBlock(filters, body, line);
    }

    private Stmt with(int line) {
        List<String> names = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (peek().type() != Type.BLOCK_END) {
            if (!names.isEmpty()) {
                expectOp(",");
            }
            names.add(name());
            expectOp("=");
            values.add(expression(true));
        }
        endTag();
        List<Stmt> body = body(Set.of("endwith"));
        closeTag("endwith");
        return new Node.With(names, values, body, line);
    }

    private List<Node.Filter> filterChain() {
        List<Node.Filter> filters = new ArrayList<>();
        while (peek().isOp("|")) {
            next();
            filters.add(filter(null));
        }
        return filters;
    }

    // ---- expressions ---------------------------------------------------------------------------------------

    /** An expression, or several separated by commas (a tuple, here a list). */
    private Expr tuple(boolean withCondition) {
        int line = peek().line();
        Expr first = expression(withCondition);
        if (!peek().isOp(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().isOp(",")) {
            next();
            if (endsTuple(peek())) {
                break;
            }
            items.add(expression(withCondition));
        }
        return new Node.ListLit(items, true, line);
    }

    private static boolean endsTuple(Token t) {
        return t.type() == Type.VAR_END || t.type() == Type.BLOCK_END || t.isOp(")") || t.isOp("]")
                || t.isOp("=") || t.isName("if") || t.isName("in");
    }

    private Expr expression(boolean withCondition) {
        enter();
        Expr e = withCondition ? condition() : or();
        exit();
        return e;
    }

    private Expr condition() {
        Expr e = or();
        while (peek().isName("if")) {
            int line = next().line();
            Expr test = or();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                enter();                                    // "a if b else c if d else ..." recurses
                otherwise = condition();
                exit();
            }
            e = new Node.Cond(test, e, otherwise, line);
        }
        return e;
    }

    private Expr or() {
        Expr left = and();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Node.Binary("or", left, and(), line);
        }
        return left;
    }

    private Expr and() {
        Expr left = not();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Node.Binary("and", left, not(), line);
        }
        return left;
    }

    private Expr not() {
        if (peek().isName("not")) {
            int line = next().line();
            enter();
            Expr operand = not();
            exit();
            return new Node.Unary("not", operand, line);
        }
        return compare();
    }

    private Expr compare() {
        int line = peek().line();
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.type() == Type.OP && COMPARE_OPS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && tokens.get(pos + 1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Node.Compare(first, ops, rest, line);
    }

    private Expr math1() {
        Expr left = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            left = new Node.Binary(op.text(), left, concat(), op.line());
        }
        return left;
    }

    private Expr concat() {
        Expr left = math2();
        while (peek().isOp("~")) {
            Token op = next();
            left = new Node.Binary("~", left, math2(), op.line());
        }
        return left;
    }

    private Expr math2() {
        Expr left = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            left = new Node.Binary(op.text(), left, pow(), op.line());
        }
        return left;
    }

    private Expr pow() {
        Expr left = unary(true);
        while (peek().isOp("**")) {
            Token op = next();
            left = new Node.Binary("**", left, unary(true), op.line());
        }
        return left;
    }

    private Expr unary(boolean withFilter) {
        Token t = peek();
        Expr node;
        if (t.isOp("-") || t.isOp("+")) {
            next();
            enter();
            node = new Node.Unary(t.text(), unary(false), t.line());
            exit();
        } else {
            node = postfix(primary());
        }
        return withFilter ? filterExpr(node) : node;
    }

    private Expr primary() {
        Token t = next();
        switch (t.type()) {
            case NAME:
                switch (t.text()) {
                    case "true": case "True": return new Node.Const(Boolean.TRUE, t.line());
                    case "false": case "False": return new Node.Const(Boolean.FALSE, t.line());
                    case "none": case "None": return new Node.Const(null, t.line());
                    default: return new Node.Name(t.text(), t.line());
                }
            case STRING: {
                StringBuilder sb = new StringBuilder((String) t.value());
                while (peek().type() == Type.STRING) {
                    sb.append((String) next().value());
                }
                return new Node.Const(sb.toString(), t.line());
            }
            case INT:
            case FLOAT:
                return new Node.Const(t.value(), t.line());
            case OP:
                if (t.isOp("(")) {
                    enter();
                    if (peek().isOp(")")) {
                        next();
                        exit();
                        return new Node.ListLit(List.of(), true, t.line());
                    }
                    Expr e = tuple(true);
                    expectOp(")");
                    exit();
                    return e;
                }
                if (t.isOp("[")) {
                    enter();
                    List<Expr> items = new ArrayList<>();
                    while (!peek().isOp("]")) {
                        if (!items.isEmpty()) {
                            expectOp(",");
                            if (peek().isOp("]")) {
                                break;
                            }
                        }
                        items.add(expression(true));
                    }
                    next();
                    exit();
                    return new Node.ListLit(items, false, t.line());
                }
                if (t.isOp("{")) {
                    enter();
                    List<Expr> keys = new ArrayList<>();
                    List<Expr> values = new ArrayList<>();
                    while (!peek().isOp("}")) {
                        if (!keys.isEmpty()) {
                            expectOp(",");
                            if (peek().isOp("}")) {
                                break;
                            }
                        }
                        keys.add(expression(true));
                        expectOp(":");
                        values.add(expression(true));
                    }
                    next();
                    exit();
                    return new Node.DictLit(keys, values, t.line());
                }
                break;
            default:
                break;
        }
        throw JinjaError.syntax("unexpected " + t, t.line());
    }

    private Expr postfix(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                next();
                Token n = next();
                if (n.type() == Type.NAME) {
                    node = new Node.Attr(node, n.text(), n.line());
                } else if (n.type() == Type.INT) {
                    node = new Node.Item(node, new Node.Const(n.value(), n.line()), n.line());
                } else {
                    throw JinjaError.syntax("expected a name after '.'", n.line());
                }
            } else if (t.isOp("[")) {
                next();
                node = subscript(node, t.line());
            } else if (t.isOp("(")) {
                node = new Node.Call(node, args(), t.line());
            } else {
                return node;
            }
        }
    }

    private Expr subscript(Expr target, int line) {
        enter();
        Expr[] parts = new Expr[3];
        int part = 0;
        boolean slice = false;
        while (!peek().isOp("]")) {
            if (peek().isOp(":")) {
                next();
                slice = true;
                part++;
                if (part > 2) {
                    throw JinjaError.syntax("a slice takes at most three parts", line);
                }
                continue;
            }
            if (parts[part] != null) {
                throw JinjaError.syntax("expected ']'", line);
            }
            parts[part] = slice ? expression(true) : tuple(true);
        }
        next();
        exit();
        if (!slice) {
            if (parts[0] == null) {
                throw JinjaError.syntax("empty subscript", line);
            }
            return new Node.Item(target, parts[0], line);
        }
        return new Node.Slice(target, parts[0], parts[1], parts[2], line);
    }

    private Args args() {
        expectOp("(");
        enter();
        List<Expr> positional = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        boolean first = true;
        while (!peek().isOp(")")) {
            if (!first) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            first = false;
            if (peek().isOp("*") || peek().isOp("**")) {
                throw JinjaError.syntax("*args and **kwargs are not supported", peek().line());
            }
            if (peek().type() == Type.NAME && tokens.get(pos + 1).isOp("=")) {
                names.add(next().text());
                next();
                named.add(expression(true));
            } else {
                if (!names.isEmpty()) {
                    throw JinjaError.syntax("a positional argument follows a keyword argument", peek().line());
                }
                positional.add(expression(true));
            }
        }
        next();
        exit();
        return new Args(positional, names, named);
    }

    private Expr filterExpr(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                next();
                node = filter(node);
            } else if (t.isName("is")) {
                next();
                node = test(node, t.line());
            } else if (t.isOp("(")) {
                node = new Node.Call(node, args(), t.line());
            } else {
                return node;
            }
        }
    }

    private Node.Filter filter(Expr value) {
        Token n = peek();
        StringBuilder name = new StringBuilder(name());
        while (peek().isOp(".")) {
            next();
            name.append('.').append(name());
        }
        if (!Filters.exists(name.toString())) {
            throw JinjaError.syntax("no filter named '" + name + "'", n.line());
        }
        Args args = peek().isOp("(") ? args() : Args.NONE;
        return new Node.Filter(value, name.toString(), args, n.line());
    }

    private Expr test(Expr value, int line) {
        boolean negated = false;
        if (peek().isName("not")) {
            next();
            negated = true;
        }
        Token n = peek();
        String name = name();
        while (peek().isOp(".")) {
            next();
            name = name + "." + name();
        }
        if (!Tests.exists(name)) {
            throw JinjaError.syntax("no test named '" + name + "'", n.line());
        }
        Args args = Args.NONE;
        Token t = peek();
        if (t.isOp("(")) {
            args = args();
        } else if ((t.type() == Type.NAME || t.type() == Type.STRING || t.type() == Type.INT
                || t.type() == Type.FLOAT || t.isOp("[") || t.isOp("{"))
                && !t.isName("else") && !t.isName("or") && !t.isName("and")) {
            if (t.isName("is")) {
                throw JinjaError.syntax("tests cannot be chained with 'is'", t.line());
            }
            args = new Args(List.of(postfix(primary())), List.of(), List.of());
        }
        return new Node.Test(value, name, args, negated, line);
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private void enter() {
        if (++nesting > maxNesting) {
            throw JinjaError.limit("blocks and expressions nested more than " + maxNesting + " deep (line "
                    + peek().line() + ")");
        }
    }

    private void exit() {
        nesting--;
    }

    private Token peek() {
        return tokens.get(pos);
    }

    private Token next() {
        Token t = tokens.get(pos);
        if (t.type() != Type.EOF) {
            pos++;
        }
        return t;
    }

    private String name() {
        Token t = next();
        if (t.type() != Type.NAME) {
            throw JinjaError.syntax("expected a name, got " + t, t.line());
        }
        return t.text();
    }

    private void expect(Type type, String what) {
        Token t = next();
        if (t.type() != type) {
            throw JinjaError.syntax("expected " + what + ", got " + t, t.line());
        }
    }

    private void expectOp(String op) {
        Token t = next();
        if (!t.isOp(op)) {
            throw JinjaError.syntax("expected '" + op + "', got " + t, t.line());
        }
    }

    private void endTag() {
        expect(Type.BLOCK_END, "'%}'");
    }

    private void closeTag(String name) {
        expect(Type.BLOCK_BEGIN, "'{%'");
        Token t = next();
        if (!t.isName(name)) {
            throw JinjaError.syntax("expected '" + name + "', got " + t, t.line());
        }
        endTag();
    }
}
