package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.coordinator.serving.InvalidRequestException;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** A JSON request body's fields, typed; a field of the wrong type is an {@link InvalidRequestException} naming it. A null field counts as absent. */
record RequestFields(JsonNode body) {

    JsonNode get(String name) {
        JsonNode node = body.get(name);
        return node == null || node.isNull() ? null : node;
    }

    Optional<String> string(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return Optional.empty();
        }
        if (!node.isTextual()) {
            throw wrongType(name, "a string");
        }
        return Optional.of(node.asText());
    }

    OptionalInt integer(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw wrongType(name, "an integer");
        }
        return OptionalInt.of(node.asInt());
    }

    OptionalLong longInteger(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return OptionalLong.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw wrongType(name, "an integer");
        }
        return OptionalLong.of(node.asLong());
    }

    OptionalDouble number(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return OptionalDouble.empty();
        }
        if (!node.isNumber()) {
            throw wrongType(name, "a number");
        }
        return OptionalDouble.of(node.asDouble());
    }

    boolean bool(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return false;
        }
        if (!node.isBoolean()) {
            throw wrongType(name, "true or false");
        }
        return node.asBoolean();
    }

    /** A string or a list of strings, as OpenAI's {@code stop} takes. */
    List<String> strings(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return List.of();
        }
        if (node.isTextual()) {
            return List.of(node.asText());
        }
        List<String> out = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode item : node) {
                if (!item.isTextual()) {
                    throw wrongType(name, "a string or a list of strings");
                }
                out.add(item.asText());
            }
            return out;
        }
        throw wrongType(name, "a string or a list of strings");
    }

    List<Integer> integers(String name) {
        JsonNode node = get(name);
        if (node == null) {
            return List.of();
        }
        if (!node.isArray()) {
            throw wrongType(name, "a list of integers");
        }
        return integers(name, node);
    }

    /** A JSON array of integers. */
    static List<Integer> integers(String name, JsonNode array) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode item : array) {
            if (!item.isIntegralNumber() || !item.canConvertToInt()) {
                throw wrongType(name, "a list of integers");
            }
            out.add(item.asInt());
        }
        return out;
    }

    static InvalidRequestException wrongType(String name, String expected) {
        return new InvalidRequestException(name, name + " must be " + expected);
    }
}
