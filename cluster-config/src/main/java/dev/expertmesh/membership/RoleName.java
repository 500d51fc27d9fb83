package dev.expertmesh.membership;

import dev.expertmesh.proto.Role;

import java.util.Locale;

/** A role as users write it, on the command line and in logs, metrics and status: {@code expert-worker}. */
public final class RoleName {
    private RoleName() {
    }

    public static String of(Role role) {
        return role.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
