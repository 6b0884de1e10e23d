package org.mixtralspark.job;

import java.security.SecureRandom;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/** Run ids: {@code 20261207T231500Z-1a2b3c4d}, in time order when sorted, unique by their random tail. */
final class RunIds {

    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
    private static final SecureRandom RANDOM = new SecureRandom();

    private RunIds() {
    }

    static String next() {
        return UTC.format(ZonedDateTime.now(ZoneOffset.UTC)) + "-" + String.format("%08x", RANDOM.nextInt());
    }
}
