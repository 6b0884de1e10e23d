package org.mixtralspark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * A job configuration file: YAML ({@code .yaml}/{@code .yml}) or Java properties, with the command line's long flag
 * names as keys ({@code max-new-tokens: 64}; {@code max_new_tokens} works too). Lists ({@code stop}, {@code conf})
 * are YAML sequences, or comma-separated in a properties file. Values stay strings here; the options parse them.
 */
final class ConfigFile {

    private final Path path;
    private final Map<String, List<String>> values;

    private ConfigFile(Path path, Map<String, List<String>> values) {
        this.path = path;
        this.values = values;
    }

    static ConfigFile empty() {
        return new ConfigFile(null, Map.of());
    }

    static ConfigFile load(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("--config " + path + ": no such file");
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        try (InputStream in = Files.newInputStream(path)) {
            if (name.endsWith(".properties")) {
                Properties p = new Properties();
                p.load(in);
                for (String k : p.stringPropertyNames()) {
                    String v = p.getProperty(k).trim();
                    List<String> list = new ArrayList<>();
                    if (isList(key(k))) {
                        for (String s : v.split(",")) {
                            if (!s.isBlank()) {
                                list.add(s.trim());
                            }
                        }
                    } else {
                        list.add(v);
                    }
                    out.put(key(k), list);
                }
            } else {
                JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(in);
                if (root == null || root.isMissingNode() || root.isNull()) {
                    return new ConfigFile(path, out);
                }
                if (!root.isObject()) {
                    throw new IllegalArgumentException("--config " + path + ": expected a mapping of option: value");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    List<String> list = new ArrayList<>();
                    JsonNode v = e.getValue();
                    if (v.isArray()) {
                        v.forEach(x -> list.add(x.asText()));
                    } else if (v.isObject()) {
                        // conf: {spark.x: y} as a mapping
                        v.fields().forEachRemaining(c -> list.add(c.getKey() + "=" + c.getValue().asText()));
                    } else if (!v.isNull()) {
                        list.add(v.asText());
                    }
                    out.put(key(e.getKey()), list);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("--config " + path + ": " + e.getMessage(), e);
        }
        return new ConfigFile(path, out);
    }

    private static String key(String k) {
        return k.trim().replace('_', '-').toLowerCase(Locale.ROOT);
    }

    private static boolean isList(String key) {
        return key.equals("stop") || key.equals("conf");
    }

    Path path() {
        return path;
    }

    Map<String, List<String>> values() {
        return values;
    }

    /** The single value of {@code key}, or null. */
    String value(String key) {
        List<String> v = values.get(key);
        if (v == null || v.isEmpty()) {
            return null;
        }
        if (v.size() > 1) {
            throw new IllegalArgumentException("--config " + path + ": " + key + " takes one value, got " + v);
        }
        return v.get(0);
    }

    List<String> list(String key) {
        return values.get(key);
    }
}
