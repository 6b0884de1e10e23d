package org.mixtralspark.engine.sampling;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.math.BigDecimal;
import java.math.BigInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A table of bad values (as text, as the numbers a cell or JSON holds) and what the message must say. */
class NumberParamTest {

    @ParameterizedTest(name = "{0} = {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "int  | 1e12                | max_new_tokens = 1e12: out of range: must be a whole number in [1, 2147483647]",
        "int  | 10000000000         | max_new_tokens = 10000000000: out of range: must be a whole number in [1, 2147483647]",
        "int  | -3e9                | max_new_tokens = -3e9: out of range: must be a whole number in [1, 2147483647]",
        "int  | 2.5                 | max_new_tokens = 2.5: must be a whole number",
        "int  | 1e-3                | max_new_tokens = 1e-3: must be a whole number",
        "int  | many                | max_new_tokens = \"many\": not a number",
        "int  | NaN                 | max_new_tokens = NaN: not a finite number",
        "int  | -Infinity           | max_new_tokens = -Infinity: not a finite number",
        "long | 1e30                | max_new_tokens = 1e30: out of range: must be a whole number in [-9223372036854775808, 9223372036854775807]",
        "long | 0x10                | max_new_tokens = \"0x10\": not a number",
        "float| 1e39                | max_new_tokens = 1e39: out of range: must be a number in [-3.4028235E38, 3.4028235E38]",
        "float| inf                 | max_new_tokens = inf: not a finite number",
    })
    void badTextSaysWhatIsWrong(String type, String text, String expected) {
        Class<?> c = switch (type.trim()) {
            case "int" -> int.class;
            case "long" -> Long.class;
            default -> double.class;
        };
        assertEquals(expected, NumberParam.whyNot("max_new_tokens", text, c, 1));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"7", "1E3", "4.000", "-2147483648", "2147483647", "+12"})
    void wholeNumbersThatFitAreReturned(String text) {
        assertNull(NumberParam.whyNot("top_k", text, Integer.class, 0));
        assertEquals(new BigDecimal(text).intValueExact(), NumberParam.wholeInt("top_k", text, 0));
    }

    @org.junit.jupiter.api.Test
    void numbersAsCellsAndJsonHoldThem() {
        assertEquals("top_k = 1.0E12: out of range: must be a whole number in [0, 2147483647]",
                message(() -> NumberParam.wholeInt("top_k", 1e12, 0)));
        assertEquals("top_k = 3000000000: out of range: must be a whole number in [0, 2147483647]",
                message(() -> NumberParam.wholeInt("top_k", 3_000_000_000L, 0)));
        assertEquals("seed = 99999999999999999999: out of range: must be a whole number in [-9223372036854775808, "
                + "9223372036854775807]", message(() -> NumberParam.wholeLong("seed", new BigInteger("99999999999999999999"))));
        assertEquals("seed = 0.5: must be a whole number", message(() -> NumberParam.wholeLong("seed", 0.5f)));
        assertEquals("temperature = NaN: not a finite number", message(() -> NumberParam.finiteFloat("temperature",
                Double.NaN)));
        assertEquals(-5, NumberParam.wholeInt("top_k", -5.0, 0), "a whole value below the least is the rule's to refuse");
        assertEquals(123L, NumberParam.wholeLong("seed", new BigDecimal("123.000")));
        assertEquals(0.25, NumberParam.finiteFloat("top_p", "0.25"));
    }

    private static String message(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }
}
