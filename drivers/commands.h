/* commands.h: the `zoo` subcommands, one file each. Each returns the process exit
 * code, one meaning per code for every command (README, Troubleshooting):
 *   0 done;
 *   1 the work ran and did not succeed (a run diverged or failed; merge: runs pending);
 *   2 refused before any work: bad input (usage, config, an unreadable or damaged input
 *     file, an output that would overwrite an input or a zoo file of another kind);
 *   3 the system failed: a file could not be written (disk full, ...), out of memory, MPI;
 *   75 zoo sweep stopped by a signal with runs left; 128+N zoo train stopped by signal N. */
#ifndef ZOO_DRIVERS_COMMANDS_H
#define ZOO_DRIVERS_COMMANDS_H

enum { ZOO_EXIT_OK = 0, ZOO_EXIT_FAILED = 1, ZOO_EXIT_INPUT = 2, ZOO_EXIT_SYSTEM = 3 };

int zoo_cmd_train(int argc, char **argv);
int zoo_cmd_eval(int argc, char **argv);
int zoo_cmd_data(int argc, char **argv);
int zoo_cmd_plugins(int argc, char **argv);
int zoo_cmd_info(int argc, char **argv);
int zoo_cmd_sweep(int argc, char **argv);
int zoo_cmd_merge(int argc, char **argv);
int zoo_cmd_status(int argc, char **argv);

/* The exit code for zoo error `code`: out of memory and MPI are 3, numeric and state
 * failures 1, refusals 2; I/O and HDF5 errors are 3 while `writing` an output, 2 while
 * reading the inputs. */
int zoo_cli_exit_for(int code, int writing);

/* Print the thread's last zoo error as "zoo <cmd>: message" on stderr. */
void zoo_cli_report(const char *cmd);

#endif
