/* sweep_signal.c: what SIGTERM, SIGUSR1 (SLURM's warnings before a time limit or on
 * preemption) and SIGINT do to `zoo sweep`: they only set flags that the coordinator
 * polls. Nothing is done inside the handlers; deciding belongs to the coordinator. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "sweep.h"

static volatile sig_atomic_t stop_sig, signals;

static void on_signal(int sig)
{
    if (!stop_sig)
        stop_sig = sig;
    signals++;
}

void sweep_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int sweep_stop_requested(void) { return stop_sig; }

/* A second signal (Ctrl-C twice; or SLURM's SIGUSR1 warning, then SIGTERM at the time
 * limit): do not wait for the grace period any longer. */
int sweep_abandon_requested(void) { return signals >= 2; }
