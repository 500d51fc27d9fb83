package dev.expertmesh.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** Typed reads of config.json fields, with errors that name the field. */
record ConfigJson(JsonNode node) {

    String string(String field, String fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw new InvalidConfigException(field + " must be a string, got " + v);
        }
        return v.asText();
    }

    int integer(String field, int fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidConfigException(field + " must be an integer, got " + v);
        }
        return v.intValue();
    }

    int positive(String field) {
        if (!node.hasNonNull(field)) {
            throw new InvalidConfigException("required field " + field + " is missing");
        }
        int v = integer(field, 0);
        if (v <= 0) {
            throw new InvalidConfigException(field + " must be positive, got " + v);
        }
        return v;
    }

    double number(String field, double fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new InvalidConfigException(field + " must be a number, got " + v);
        }
        return v.doubleValue();
    }

    boolean bool(String field, boolean fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw new InvalidConfigException(field + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    /** A field that is one integer or a list of them (eos_token_id is either). */
    List<Integer> integerList(String field) {
        JsonNode v = node.get(field);
        List<Integer> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        for (JsonNode item : v.isArray() ? v : List.of(v)) {
            if (!item.isIntegralNumber()) {
                throw new InvalidConfigException(field + " must be an integer or a list of integers, got " + v);
            }
            out.add(item.intValue());
        }
        return List.copyOf(out);
    }
}
