/* commands.h: the `zoo` subcommands, one file each. Each returns the process exit
 * code: 0 success, 1 run failure, 2 bad input (usage, config, files), others as
 * documented by the command (the sweep's graceful stop). */
#ifndef ZOO_DRIVERS_COMMANDS_H
#define ZOO_DRIVERS_COMMANDS_H

int zoo_cmd_train(int argc, char **argv);
int zoo_cmd_eval(int argc, char **argv);
int zoo_cmd_data(int argc, char **argv);
int zoo_cmd_plugins(int argc, char **argv);
int zoo_cmd_info(int argc, char **argv);
int zoo_cmd_sweep(int argc, char **argv);
int zoo_cmd_merge(int argc, char **argv);

/* Print the thread's last zoo error as "zoo <cmd>: message" on stderr. */
void zoo_cli_report(const char *cmd);

#endif
