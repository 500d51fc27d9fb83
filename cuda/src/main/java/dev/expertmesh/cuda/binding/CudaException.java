package dev.expertmesh.cuda.binding;

/**
 * A CUDA, NVRTC or cuBLAS call that failed, naming the call and the library's own name for the
 * error. An illegal state rather than a checked exception: the GPU cannot do what was asked.
 */
public class CudaException extends IllegalStateException {

    public CudaException(String message) {
        super(message);
    }

    /** "{@code call} failed: NAME (description)", the form every failed call is reported in. */
    public static CudaException failed(String call, int code, String name, String description) {
        String detail = description == null || description.isBlank() || description.equals(name) ? "" : " (" + description + ")";
        return new CudaException(call + " failed: " + (name != null ? name : "error " + code) + detail);
    }
}
