/*
 * parent.h - the root parent: reads the configuration, binds the sockets, opens and configures
 * the devices and runs their hooks, forks the engine (which drops every privilege before it
 * reads a byte from the network), hands it the peers over the channel (privchan.h), and on
 * SIGHUP or a reload request re-reads the configuration and applies the difference. When the
 * engine ends, it takes every device it created down for good.
 */
#ifndef VT_PARENT_H
#define VT_PARENT_H

#include <stdbool.h>

struct parent_opts {
	const char *config;          /* configuration file */
	bool server;                 /* -s: every peer; else client_peer */
	const char *client_peer;
	const char *client_override; /* client: HOST[:PORT] from the command line, or NULL */
	bool foreground;             /* -n */
	bool check;                  /* -t: check and exit */
	int verbose;
};

/* Run the daemon as the options say (or with check, only check the configuration, for a role
 * or none); returns the exit status (0, 1 error, 2 usage). */
int parent_run(const struct parent_opts *o);

#endif
