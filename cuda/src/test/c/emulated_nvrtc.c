/* A stand-in libnvrtc for emulated_cuda.c: "compiles" any source into a placeholder image. */
#include <stddef.h>
#include <string.h>

int nvrtcVersion(int *major, int *minor) { *major = 0; *minor = 0; return 0; }
int nvrtcCreateProgram(void **program, const char *src, const char *name, int n, const char **h, const char **i) {
    *program = (void *) 1;
    return 0;
}
int nvrtcCompileProgram(void *program, int n, const char **options) { return 0; }
int nvrtcGetCUBINSize(void *program, size_t *size) { *size = 9; return 0; }
int nvrtcGetCUBIN(void *program, char *image) { memcpy(image, "emulated", 9); return 0; }
int nvrtcDestroyProgram(void **program) { return 0; }
const char *nvrtcGetErrorString(int result) { return "NVRTC_ERROR"; }
