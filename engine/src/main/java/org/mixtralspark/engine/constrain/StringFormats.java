package org.mixtralspark.engine.constrain;

import java.util.Map;

/**
 * JSON Schema {@code format}s that structured output can generate, each as an ECMA-262 pattern of values that are
 * valid for it. Subsets where the format is not regular or is loose in practice: a date's day is at most 28 in
 * February (so every generated date exists, leap year or not); times have no leap second and offsets below 18 hours
 * (java.time's limit, which JVM validators apply); e-mail addresses are lower-case ASCII {@code local@domain.tld}
 * with a few real top-level domains (validators check the TLD against IANA's list). Other formats are refused by
 * name.
 */
final class StringFormats {

    private static final String DATE = "\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])"
            + "|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))";
    private static final String TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?"
            + "(?:Z|[+-](?:0\\d|1[0-7]):[0-5]\\d)";
    private static final String OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

    static final Map<String, String> PATTERNS = Map.of(
            "date", DATE,
            "time", TIME,
            "date-time", DATE + "T" + TIME,
            "uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "email", "[a-z0-9]{1,20}(?:[._][a-z0-9]{1,20}){0,2}@[a-z0-9]{1,20}(?:\\.[a-z0-9]{1,20}){0,2}"
                    + "\\.(?:com|org|net|edu|io|de|fr|uk|jp)",
            "ipv4", "(?:" + OCTET + "\\.){3}" + OCTET);

    private StringFormats() {
    }
}
