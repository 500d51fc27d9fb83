package dev.expertmesh.coordinator.serving;

/** A request field is missing or out of range: the APIs answer INVALID_ARGUMENT or HTTP 400 naming {@code field}. */
public sealed class InvalidRequestException extends RuntimeException permits UnknownModelException {
    private final String field;

    public InvalidRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The request field at fault, as the APIs spell it (max_tokens, temperature, ...); null when none is. */
    public String field() {
        return field;
    }
}
