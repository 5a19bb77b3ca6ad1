/*
 * include/careline/loop.h: the one event loop (epoll). It owns every file
 * descriptor's readiness, one timerfd armed at the earliest deadline any part
 * asked for, and a signalfd for SIGINT/SIGTERM (stop) and SIGHUP. A pass is:
 * wait, dispatch ready callbacks, then run the pass-end hooks in order (the
 * group commit, then flushing HTTP and MQTT output). With nothing to do it
 * sleeps in epoll_wait: no polling. Only core/loop.c touches epoll.
 */
#ifndef CARELINE_LOOP_H
#define CARELINE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/err.h"

struct cl_loop;
struct cl_loop_watch;

typedef void (*cl_loop_fd_fn)(void *ctx, uint32_t events);
typedef void (*cl_loop_hook_fn)(void *ctx);
/* Realtime ms of the caller's next deadline, or 0 for none. */
typedef int64_t (*cl_loop_deadline_fn)(void *ctx);

enum cl_err cl_loop_new(struct cl_loop **out);
void cl_loop_free(struct cl_loop *loop);

/* Watch fd for events (EPOLLIN/EPOLLOUT...); fn is called with what is ready.
 * The watch belongs to the loop; remove it with cl_loop_del before closing fd. */
enum cl_err cl_loop_add(struct cl_loop *loop, int fd, uint32_t events, cl_loop_fd_fn fn, void *ctx,
                        struct cl_loop_watch **out);
enum cl_err cl_loop_mod(struct cl_loop *loop, struct cl_loop_watch *w, uint32_t events);
void cl_loop_del(struct cl_loop *loop, struct cl_loop_watch *w);

/* Run fn at the end of every pass, in the order added (max 16). */
enum cl_err cl_loop_add_hook(struct cl_loop *loop, cl_loop_hook_fn fn, void *ctx);
/* Ask fn for its next deadline before every wait (max 16). */
enum cl_err cl_loop_add_deadline(struct cl_loop *loop, cl_loop_deadline_fn fn, void *ctx);
/* Called on SIGHUP. */
void cl_loop_on_reload(struct cl_loop *loop, cl_loop_hook_fn fn, void *ctx);

/* Run until cl_loop_stop or SIGINT/SIGTERM. */
enum cl_err cl_loop_run(struct cl_loop *loop);
void cl_loop_stop(struct cl_loop *loop);
/* Passes run so far (tests, metrics). */
uint64_t cl_loop_passes(const struct cl_loop *loop);

#endif
