package dev.expertmesh.cuda.binding;

/** A CUDA library that is not on this machine, or too old: the message says which and how to fix it. */
public final class CudaUnavailableException extends CudaException {

    public CudaUnavailableException(String message) {
        super(message);
    }
}
