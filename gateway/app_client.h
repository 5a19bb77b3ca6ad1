/*
 * gateway/app_client.h: the reference app client (`carelinectl app`), the
 * device's side of docs/mqtt.md on libmosquitto. carelinectl parses its
 * options into struct gw_app_opts and calls gw_app_run; the daemon never
 * uses it. Borrowed strings only: the caller keeps them alive for the run.
 */
#ifndef CARELINE_GW_APP_CLIENT_H
#define CARELINE_GW_APP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define GW_APP_ONCE_MAX 32

struct gw_app_opts {
	const char *device;       /* MQTT client id and username (required to connect) */
	const char *password;     /* NULL: $CARELINE_APP_PASSWORD, else none */
	const char *host;         /* NULL: 127.0.0.1 */
	const char *port;         /* NULL: 1883 */
	const char *secret_key;   /* base64 X25519 key; NULL: $CARELINE_APP_SECRET_KEY */
	const char *careline_key; /* base64 careline public key; implies seal */
	bool seal;                /* seal what goes to careline */
	bool print_keypair;       /* print a new device keypair and exit */
	const char *once[GW_APP_ONCE_MAX];
	size_t n_once; /* may exceed GW_APP_ONCE_MAX: gw_app_run refuses it */
};

/* Run the client until quit, end of input, or (with once commands) their
 * answers or a timeout ($CARELINE_APP_TIMEOUT seconds, default 20). Returns
 * the exit code: 0 done, 1 an answer did not come, 2 usage, 3 the broker
 * could not be reached or refused the device. */
int gw_app_run(const struct gw_app_opts *o);

#endif
