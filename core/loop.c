/*
 * core/loop.c owns epoll, the deadline timerfd and the signalfd (see loop.h).
 * It knows nothing of HTTP, MQTT or SQLite: parts register file descriptors,
 * pass-end hooks and deadline sources. The timerfd runs on CLOCK_REALTIME
 * with an absolute expiry, because deadlines are wall-clock instants stored
 * in the database.
 */
#include "careline/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "careline/log.h"

#define MAX_HOOKS  16
#define MAX_EVENTS 64

struct cl_loop_watch {
	int fd;
	cl_loop_fd_fn fn;
	void *ctx;
	bool dead;
	struct cl_loop_watch *next_dead;
};

struct hook {
	cl_loop_hook_fn fn;
	void *ctx;
};

struct deadline_src {
	cl_loop_deadline_fn fn;
	void *ctx;
};

struct cl_loop {
	int epfd;
	int timerfd;
	int sigfd;
	bool stop;
	uint64_t passes;
	int64_t armed_ms; /* what the timerfd is set to; 0 = disarmed */
	struct hook hooks[MAX_HOOKS];
	size_t n_hooks;
	struct deadline_src deadlines[MAX_HOOKS];
	size_t n_deadlines;
	struct hook reload;
	struct cl_loop_watch timer_watch, signal_watch;
	struct cl_loop_watch *dead; /* freed after the pass that removed them */
};

static void on_timer(void *ctx, uint32_t events)
{
	struct cl_loop *loop = ctx;
	uint64_t expirations;
	ssize_t n = read(loop->timerfd, &expirations, sizeof(expirations));
	(void)n; /* EAGAIN when the timer was re-armed meanwhile: fine */
	loop->armed_ms = 0;
}

static void on_signal(void *ctx, uint32_t events)
{
	struct cl_loop *loop = ctx;
	struct signalfd_siginfo si;
	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			cl_info("loop.sighup", "%s", "");
			if (loop->reload.fn)
				loop->reload.fn(loop->reload.ctx);
		} else {
			cl_info("loop.signal", "signal=%u", si.ssi_signo);
			loop->stop = true;
		}
	}
}

static enum cl_err watch_internal(struct cl_loop *loop, struct cl_loop_watch *w, int fd,
                                  cl_loop_fd_fn fn)
{
	w->fd = fd;
	w->fn = fn;
	w->ctx = loop;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cl_error("loop.epoll_ctl", "errno=%d", errno);
		return CL_ERR_IO;
	}
	return CL_OK;
}

enum cl_err cl_loop_new(struct cl_loop **out)
{
	*out = NULL;
	struct cl_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return CL_ERR_NOMEM;
	loop->timerfd = loop->sigfd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto err;
	loop->timerfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->timerfd < 0)
		goto err;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		goto err;
	signal(SIGPIPE, SIG_IGN);
	loop->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		goto err;
	if (watch_internal(loop, &loop->timer_watch, loop->timerfd, on_timer) != CL_OK ||
	    watch_internal(loop, &loop->signal_watch, loop->sigfd, on_signal) != CL_OK)
		goto err;
	*out = loop;
	return CL_OK;
err:
	cl_error("loop.init_failed", "errno=%d", errno);
	cl_loop_free(loop);
	return CL_ERR_IO;
}

static void free_dead(struct cl_loop *loop)
{
	while (loop->dead) {
		struct cl_loop_watch *w = loop->dead;
		loop->dead = w->next_dead;
		free(w);
	}
}

void cl_loop_free(struct cl_loop *loop)
{
	if (!loop)
		return;
	free_dead(loop);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->timerfd >= 0)
		close(loop->timerfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop);
}

enum cl_err cl_loop_add(struct cl_loop *loop, int fd, uint32_t events, cl_loop_fd_fn fn, void *ctx,
                        struct cl_loop_watch **out)
{
	struct cl_loop_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return CL_ERR_NOMEM;
	w->fd = fd;
	w->fn = fn;
	w->ctx = ctx;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cl_error("loop.add_failed", "fd=%d errno=%d", fd, errno);
		free(w);
		return CL_ERR_IO;
	}
	if (out)
		*out = w;
	return CL_OK;
}

enum cl_err cl_loop_mod(struct cl_loop *loop, struct cl_loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0) {
		cl_error("loop.mod_failed", "fd=%d errno=%d", w->fd, errno);
		return CL_ERR_IO;
	}
	return CL_OK;
}

void cl_loop_del(struct cl_loop *loop, struct cl_loop_watch *w)
{
	if (!w || w->dead)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* Events for w may still be in this pass's batch: free it afterwards. */
	w->dead = true;
	w->next_dead = loop->dead;
	loop->dead = w;
}

enum cl_err cl_loop_add_hook(struct cl_loop *loop, cl_loop_hook_fn fn, void *ctx)
{
	if (loop->n_hooks == MAX_HOOKS)
		return CL_ERR_INVALID;
	loop->hooks[loop->n_hooks++] = (struct hook){fn, ctx};
	return CL_OK;
}

enum cl_err cl_loop_add_deadline(struct cl_loop *loop, cl_loop_deadline_fn fn, void *ctx)
{
	if (loop->n_deadlines == MAX_HOOKS)
		return CL_ERR_INVALID;
	loop->deadlines[loop->n_deadlines++] = (struct deadline_src){fn, ctx};
	return CL_OK;
}

void cl_loop_on_reload(struct cl_loop *loop, cl_loop_hook_fn fn, void *ctx)
{
	loop->reload = (struct hook){fn, ctx};
}

static int64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arm the timerfd at the earliest deadline; returns the epoll timeout: 0
 * when something is already due, -1 otherwise (the timerfd wakes us). */
static int arm_timer(struct cl_loop *loop)
{
	int64_t next = 0;
	for (size_t i = 0; i < loop->n_deadlines; i++) {
		int64_t d = loop->deadlines[i].fn(loop->deadlines[i].ctx);
		if (d > 0 && (next == 0 || d < next))
			next = d;
	}
	if (next && next <= realtime_ms())
		return 0;
	if (next == loop->armed_ms)
		return -1;
	struct itimerspec its = {{0, 0}, {0, 0}};
	if (next) {
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		cl_error("loop.timer_failed", "errno=%d", errno);
		return 100;
	}
	loop->armed_ms = next;
	return -1;
}

enum cl_err cl_loop_run(struct cl_loop *loop)
{
	struct epoll_event events[MAX_EVENTS];
	loop->stop = false;
	while (!loop->stop) {
		int timeout = arm_timer(loop);
		int n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cl_error("loop.epoll_wait", "errno=%d", errno);
			return CL_ERR_IO;
		}
		for (int i = 0; i < n; i++) {
			struct cl_loop_watch *w = events[i].data.ptr;
			if (!w->dead)
				w->fn(w->ctx, events[i].events);
		}
		for (size_t i = 0; i < loop->n_hooks; i++)
			loop->hooks[i].fn(loop->hooks[i].ctx);
		free_dead(loop);
		loop->passes++;
	}
	return CL_OK;
}

void cl_loop_stop(struct cl_loop *loop)
{
	loop->stop = true;
}

uint64_t cl_loop_passes(const struct cl_loop *loop)
{
	return loop->passes;
}
