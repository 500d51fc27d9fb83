package dev.expertmesh.coordinator.access;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which Authorization values the keys admit: a bearer of one of them exactly, nothing else. */
class ApiKeysTest {
    private final ApiKeys keys = ApiKeys.of(List.of("key-one", "key-two"));

    @Test
    void admitsABearerOfAnyKey() {
        assertThat(keys.admits("Bearer key-one", "test")).isTrue();
        assertThat(keys.admits("Bearer key-two", "test")).isTrue();
        assertThat(keys.admits("bearer key-one ", "test")).as("the scheme is case-insensitive (RFC 7235)").isTrue();
    }

    @Test
    void refusesAnythingElse() {
        for (String authorization : new String[]{null, "", "Bearer", "Bearer ", "key-one", "Basic key-one", "Bearer key-on",
                "Bearer key-one2", "Bearer Key-One", "Bearer key-one,key-two"}) {
            assertThat(keys.admits(authorization, "test")).as("%s", authorization).isFalse();
        }
    }

    @Test
    void needsAKey() {
        assertThatThrownBy(() -> ApiKeys.of(List.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no API key");
    }
}
