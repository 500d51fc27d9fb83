package dev.expertmesh.coordinator.http;

/** Ends a request with {@code error}, from wherever in its handling the fault is found. */
final class ApiException extends RuntimeException {
    private final ApiError error;

    ApiException(ApiError error) {
        super(error.message());
        this.error = error;
    }

    ApiError error() {
        return error;
    }
}
