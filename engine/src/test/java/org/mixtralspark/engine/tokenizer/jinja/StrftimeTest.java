package org.mixtralspark.engine.tokenizer.jinja;

import org.junit.jupiter.api.Test;

import java.time.LocalDateTime;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** transformers' {@code strftime_now}, against Python's {@code datetime.strftime} on fixed times. */
class StrftimeTest {

    @Test
    void directivesFormatAsPythonsStrftime() {
        // python3 -c "from datetime import datetime; print(datetime(2024,7,26,9,5,3).strftime('%a %A ... %%'))"
        assertEquals("Fri Friday Jul July 26 07 24 2024 09 09 AM 05 03 208 %",
                Strftime.format("%a %A %b %B %d %m %y %Y %H %I %p %M %S %j %%", LocalDateTime.of(2024, 7, 26, 9, 5, 3)));
        assertEquals("02 Jan 2025, 11 PM", Strftime.format("%d %b %Y, %I %p", LocalDateTime.of(2025, 1, 2, 23, 59)));
    }

    @Test
    void templatesGetTodaysDateAndUnknownDirectivesFailClearly() {
        JinjaTemplate t = JinjaTemplate.parse("{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}"
                + "{% else %}26 Jul 2024{% endif %}", "llama-3.1-style", JinjaLimits.DEFAULT);
        String before = Strftime.format("%d %b %Y", LocalDateTime.now());
        String got = t.render(Map.of());
        String after = Strftime.format("%d %b %Y", LocalDateTime.now());
        assertTrue(got.equals(before) || got.equals(after), got);
        TemplateException e = assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{{ strftime_now('%Q') }}", "x", JinjaLimits.DEFAULT).render(Map.of()));
        assertEquals("chat template x, line 1 failed: strftime_now: unsupported directive %Q", e.getMessage());
    }
}
