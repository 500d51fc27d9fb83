package dev.expertmesh.cuda.runtime;

/** Device memory: its address and size. Element offsets are in bytes, as the driver counts. */
public record DeviceBuffer(long address, long bytes) {

    /** The address {@code byteOffset} bytes in. */
    public long at(long byteOffset) {
        if (byteOffset < 0 || byteOffset > bytes) {
            throw new IndexOutOfBoundsException("offset " + byteOffset + " outside a buffer of " + bytes + " bytes");
        }
        return address + byteOffset;
    }
}
