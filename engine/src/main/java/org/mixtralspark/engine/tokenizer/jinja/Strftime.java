package org.mixtralspark.engine.tokenizer.jinja;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * transformers' {@code strftime_now(format)} global: the local time now, formatted by Python's {@code strftime}
 * directives in the C locale. Llama 3.1-style templates put today's date in the system prompt with it.
 */
final class Strftime {

    private Strftime() {
    }

    static String format(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'a': sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
                case 'A': sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
                case 'b': sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
                case 'B': sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
                case 'd': sb.append(two(t.getDayOfMonth())); break;
                case 'm': sb.append(two(t.getMonthValue())); break;
                case 'y': sb.append(two(t.getYear() % 100)); break;
                case 'Y': sb.append(t.getYear()); break;
                case 'H': sb.append(two(t.getHour())); break;
                case 'I': sb.append(two(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12)); break;
                case 'p': sb.append(t.getHour() < 12 ? "AM" : "PM"); break;
                case 'M': sb.append(two(t.getMinute())); break;
                case 'S': sb.append(two(t.getSecond())); break;
                case 'j': sb.append(String.format(Locale.ROOT, "%03d", t.getDayOfYear())); break;
                case '%': sb.append('%'); break;
                default: throw JinjaError.render("strftime_now: unsupported directive %" + d);
            }
        }
        return sb.toString();
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : String.valueOf(v);
    }
}
