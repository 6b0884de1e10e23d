package org.mixtralspark.engine.tokenizer.jinja;

/** One lexical token of a template: literal text, a tag delimiter, or a piece of an expression. */
record Token(Type type, String text, Object value, int line) {

    enum Type { DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    boolean is(Type t, String s) {
        return type == t && text.equals(s);
    }

    boolean isOp(String s) {
        return type == Type.OP && text.equals(s);
    }

    boolean isName(String s) {
        return type == Type.NAME && text.equals(s);
    }

    @Override
    public String toString() {
        return type == Type.EOF ? "end of template" : "'" + text + "'";
    }
}
