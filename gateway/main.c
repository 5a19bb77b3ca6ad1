/*
 * gateway/main.c: the careline daemon. Loads the configuration (a file or the
 * embedded default), opens the key, the database and the service, starts the
 * HTTP API, the admin socket and the MQTT client in one loop, and runs until
 * SIGINT/SIGTERM. On the way out it commits and answers whatever is queued.
 * Under systemd (Type=notify) it says READY=1 once the database, HTTP and MQTT
 * are up and pings the watchdog from the loop; without NOTIFY_SOCKET and
 * WATCHDOG_USEC those calls do nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "careline/crypto.h"
#include "careline/embedded.h"
#include "careline/log.h"
#include "careline/store.h"
#include "gateway.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: careline [--config FILE] [--check-config]\n"
	           "  --config FILE    INI configuration (default: the embedded demo config)\n"
	           "  --check-config   load and validate the configuration, then exit\n"
	           "  --print-default-config  print the embedded configuration\n");
}

/* mkdir -p of path's parent directory (var/ on a fresh checkout). */
static int make_parent_dir(const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	char *dir = dirname(buf);
	if (strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
		return 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void flush_hook(void *svc)
{
	cl_service_flush(svc);
}

static int64_t deadline_hook(void *svc)
{
	return cl_service_next_deadline(svc);
}

/* systemd: readiness and the watchdog. */
struct notify {
	const struct gw_ctx *ctx;
	bool ready;
	int64_t interval_ms; /* ping the watchdog this often (half its timeout); 0: none */
	int64_t last_ping;   /* monotonic */
};

static void notify_hook(void *arg)
{
	struct notify *n = arg;
	if (!n->ready && gw_mqtt_connected(n->ctx->mqtt)) {
		n->ready = true;
		sd_notify(0, "READY=1\nSTATUS=serving");
		cl_info("careline.ready", "%s", "");
	}
	int64_t now = cl_monotonic_ms();
	if (n->interval_ms && now - n->last_ping >= n->interval_ms) {
		sd_notify(0, "WATCHDOG=1");
		n->last_ping = now;
	}
}

/* An idle loop still wakes to ping the watchdog. */
static int64_t notify_deadline(void *arg)
{
	const struct notify *n = arg;
	if (!n->interval_ms)
		return 0;
	int64_t left = n->last_ping + n->interval_ms - cl_monotonic_ms();
	return cl_clock_now(&cl_clock_system) + (left > 0 ? left : 0);
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool check_only = false;
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"print-default-config", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'p':
			fputs(cl_embedded_get("careline.ini"), stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	char err[512];
	struct cl_config *cfg;
	if (cl_config_load(config_path, &cfg, err, sizeof(err)) != CL_OK) {
		cl_error("config.invalid", "file=%s msg=\"%s\"",
		         config_path ? config_path : "embedded", err);
		return 1;
	}
	enum cl_log_level level;
	if (cl_log_level_parse(cfg->log_level, &level) == 0)
		cl_log_set_level(level);
	if (check_only) {
		printf("configuration ok: %zu areas, %zu teams, %zu people, %zu devices\n",
		       cfg->n_areas, cfg->n_teams, cfg->n_persons, cfg->n_devices);
		cl_config_free(cfg);
		return 0;
	}

	int rc = 1;
	struct cl_crypto *crypto = NULL;
	struct cl_store *store = NULL;
	struct cl_service *svc = NULL;
	struct gw_ctx ctx = {.cfg = cfg};
	struct notify notify = {.ctx = &ctx};
	uint64_t watchdog_usec = 0;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		notify.interval_ms = (int64_t)(watchdog_usec / 2000);
	if (make_parent_dir(cfg->database) < 0 || make_parent_dir(cfg->key_file) < 0 ||
	    (cfg->admin_socket[0] && make_parent_dir(cfg->admin_socket) < 0)) {
		cl_error("startup.mkdir_failed", "errno=%d", errno);
		goto out;
	}
	if (cl_crypto_open(cfg->key_file, &crypto) != CL_OK)
		goto out;
	if (cl_store_open(cfg->database, &store) != CL_OK)
		goto out;
	if (cl_service_new(cfg, store, crypto, &cl_clock_system, &svc) != CL_OK)
		goto out;
	ctx.svc = svc;
	ctx.crypto = crypto;
	if (cl_loop_new(&ctx.loop) != CL_OK)
		goto out;
	/* Order matters: commit first, then send what the commit released. */
	if (cl_loop_add_hook(ctx.loop, flush_hook, svc) != CL_OK ||
	    cl_loop_add_deadline(ctx.loop, deadline_hook, svc) != CL_OK)
		goto out;
	if (gw_http_start(&ctx, NULL, &ctx.http) != CL_OK)
		goto out;
	if (cfg->admin_socket[0] && gw_http_start(&ctx, cfg->admin_socket, &ctx.admin) != CL_OK)
		goto out;
	if (gw_mqtt_start(&ctx, &ctx.mqtt) != CL_OK)
		goto out;
	if (gw_sms_start(&ctx, &ctx.sms) != CL_OK)
		goto out;
	if (gw_ivr_start(&ctx, &ctx.ivr) != CL_OK)
		goto out;
	/* Last: READY=1 once the hooks before it have run a pass connected. */
	notify.last_ping = cl_monotonic_ms();
	if (cl_loop_add_hook(ctx.loop, notify_hook, &notify) != CL_OK ||
	    cl_loop_add_deadline(ctx.loop, notify_deadline, &notify) != CL_OK)
		goto out;
	sd_notify(0, "STATUS=waiting for the MQTT broker");
	cl_info("careline.started", "config=%s db=%s http_port=%d mqtt=%s:%d",
	        config_path ? config_path : "embedded", cfg->database, gw_http_port(ctx.http),
	        cfg->mqtt_host, cfg->mqtt_port);

	rc = cl_loop_run(ctx.loop) == CL_OK ? 0 : 1;
	/* Answer whatever was accepted but not yet committed, then let the
	 * HTTP and MQTT answers go out. */
	sd_notify(0, "STOPPING=1");
	cl_service_flush(svc);
	cl_info("careline.stopping", "%s", "");
out:
	gw_ivr_stop(ctx.ivr);
	gw_sms_stop(ctx.sms);
	gw_mqtt_stop(ctx.mqtt);
	gw_http_stop(ctx.admin);
	gw_http_stop(ctx.http);
	cl_loop_free(ctx.loop);
	cl_service_free(svc);
	cl_store_close(store);
	cl_crypto_free(crypto);
	cl_config_free(cfg);
	if (rc == 0)
		cl_info("careline.stopped", "%s", "");
	return rc;
}
