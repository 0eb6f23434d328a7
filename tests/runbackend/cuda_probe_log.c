/* cuda_probe_log.c: an LD_PRELOAD stand-in for the CUDA runtime's first call. Every
 * process that asks the CUDA runtime for its devices (the first thing zoo does before
 * it touches a GPU: zoo_backend_available, zoo_backend_describe, a CUDA graph's context)
 * appends "PID PPID" to $ZOO_CUDA_PROBE_LOG and is told there is no device. The sweep
 * tests read the log: the processes that asked must be the forked run processes, never
 * a rank that forks them (a CUDA context does not survive fork). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((visibility("default"))) int cudaGetDeviceCount(int *count);

int cudaGetDeviceCount(int *count)
{
    const char *log = getenv("ZOO_CUDA_PROBE_LOG");
    if (log && *log) {
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dprintf(fd, "%d %d\n", (int)getpid(), (int)getppid());
            close(fd);
        }
    }
    if (count)
        *count = 0;
    return 100; /* cudaErrorNoDevice */
}
