/*
 * A stand-in libcuda, built against the real cuda.h, whose device memory is host memory: checks
 * that the Java side fills CUDA_MEMCPY2D as the header lays it out.
 */
#include <cuda.h>
#include <string.h>

CUresult cuInit(unsigned int flags) { return CUDA_SUCCESS; }

CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *copy, CUstream stream) {
    if (copy->srcMemoryType != CU_MEMORYTYPE_DEVICE || copy->dstMemoryType != CU_MEMORYTYPE_DEVICE
            || copy->srcXInBytes != 0 || copy->srcY != 0 || copy->dstXInBytes != 0 || copy->dstY != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    for (size_t row = 0; row < copy->Height; row++) {
        memcpy((char *) (size_t) copy->dstDevice + row * copy->dstPitch, (const char *) (size_t) copy->srcDevice + row * copy->srcPitch,
               copy->WidthInBytes);
    }
    return CUDA_SUCCESS;
}
