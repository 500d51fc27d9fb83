/* A stand-in for libcuda with one device whose calls fail as a real driver reports failures. */
#include <stddef.h>

int cuInit(unsigned int flags) { return 0; }
int cuDeviceGetCount(int *count) { *count = 1; return 0; }
int cuDeviceGet(int *device, int ordinal) { return ordinal == 0 ? (*device = 0, 0) : 101; }
int cuMemAlloc_v2(unsigned long long *pointer, size_t bytes) { return 2; }
int cuCtxSetCurrent(void *context) { return 999; }

int cuGetErrorName(int error, const char **name) {
    switch (error) {
        case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
        case 101: *name = "CUDA_ERROR_INVALID_DEVICE"; return 0;
        default: return 1;
    }
}

int cuGetErrorString(int error, const char **text) {
    switch (error) {
        case 2: *text = "out of memory"; return 0;
        case 101: *text = "invalid device ordinal"; return 0;
        default: return 1;
    }
}
