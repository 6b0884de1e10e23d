package org.mixtralspark.engine.tokenizer.jinja;

import org.mixtralspark.engine.tokenizer.jinja.Node.Stmt;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An untrusted Jinja template, parsed once and rendered in a sandbox, the way transformers renders chat templates
 * (jinja2's ImmutableSandboxedEnvironment with {@code trim_blocks}, {@code lstrip_blocks} and the loop controls).
 *
 * <p>Why our own interpreter and not jinjava: a template here must reach no Java object at all, and must be bounded
 * in time, memory and stack before it runs, not caught after. jinjava evaluates expressions as Java EL over Java
 * objects (its sandbox is a deny-list, bypassed twice, CVE-2025-59340 and CVE-2026-25526), has no render deadline,
 * parses with unbounded recursion, and renders differently from jinja2 ({@code tojson}, whitespace control). The
 * language a chat template uses is small; here it is a tree of plain values with every limit of {@link JinjaLimits}
 * checked in advance, and rendered byte for byte as jinja2 does (tested against jinja2's own output).
 *
 * <p>Rendering runs on a render thread of its own with a fixed, generous stack ({@link #RENDER_STACK_BYTES}); the
 * interpreter's recursion is bounded by {@link JinjaLimits#maxDepth()} and {@link JinjaLimits#maxNesting()} far
 * below what that stack holds, whatever the caller's own stack. Thread-safe: a parsed template is immutable.
 */
public final class JinjaTemplate {

    /** Stack of a render thread: 8× what the deepest render the limits allow was measured to need. */
    static final long RENDER_STACK_BYTES = 4L << 20;

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ThreadFactory FACTORY = r -> {
        Thread t = new Thread(null, r, "chat-template-render-" + THREADS.incrementAndGet(), RENDER_STACK_BYTES);
        t.setDaemon(true);
        return t;
    };
    private static final ExecutorService RENDER_THREADS = Executors.newCachedThreadPool(FACTORY);

    private final String origin;
    private final JinjaLimits limits;
    private final List<Stmt> body;

    private JinjaTemplate(String origin, JinjaLimits limits, List<Stmt> body) {
        this.origin = origin;
        this.limits = limits;
        this.body = body;
    }

    /**
     * Parses a template.
     *
     * @param origin where it came from, for every error message (e.g. {@code /models/x/tokenizer_config.json})
     * @throws TemplateException ({@link TemplateException.Kind#SYNTAX} or {@link TemplateException.Kind#LIMIT})
     *                           when it does not parse or uses what a chat template may not
     */
    public static JinjaTemplate parse(String source, String origin, JinjaLimits limits) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(limits, "limits");
        List<Stmt> body = onRenderThread(() -> {
            try {
                return Parser.parse(source, limits);
            } catch (JinjaError e) {
                throw new TemplateException(e.kind, origin, e.line, e.getMessage());
            }
        }, origin, limits);
        return new JinjaTemplate(origin, limits, body);
    }

    public String origin() {
        return origin;
    }

    /**
     * Renders with these variables (copied: strings, numbers, booleans, null, lists and string-keyed maps).
     *
     * @throws TemplateException when the template raises, fails, or reaches a limit
     * @throws IllegalArgumentException when a variable holds something that is not a plain value
     */
    public String render(Map<String, ?> variables) {
        Map<String, Object> globals = new HashMap<>();
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            globals.put(e.getKey(), Values.copy(e.getValue(), e.getKey(), 0, limits));
        }
        return onRenderThread(() -> {
            Renderer renderer = new Renderer(limits, globals);
            try {
                return renderer.render(body);
            } catch (JinjaError e) {
                throw new TemplateException(e.kind, origin, e.line > 0 ? e.line : renderer.line, e.getMessage());
            }
        }, origin, limits);
    }

    private interface Work<T> {
        T run();
    }

    private static <T> T onRenderThread(Work<T> work, String origin, JinjaLimits limits) {
        Future<T> f = RENDER_THREADS.submit(work::run);
        try {
            // The renderer stops itself at its deadline; the extra second covers a thread slow to start.
            return f.get(limits.deadline().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new TemplateException(TemplateException.Kind.LIMIT, origin, 0,
                    "the render took longer than its deadline of " + limits.deadline().toMillis() + " ms");
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new TemplateException(TemplateException.Kind.LIMIT, origin, 0, "interrupted while rendering");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(cause);
        }
    }
}
