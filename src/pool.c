/*
 * pool.c - the fork-join pool of crypto threads (see pool.h).
 *
 * A batch is published under the mutex (function, argument, item count) with a new
 * generation number; items are claimed with one compare-and-swap on a word that holds the
 * generation and the next item, so a thread that still runs a finished batch can never take
 * an item of the next one. The caller returns when the count of finished items reaches the
 * batch size, which also means that no thread touches the batch any more. Threads without
 * work sleep on the condition variable at once: spinning for the next batch cost throughput
 * on a machine whose cores are all busy (both tunnel ends and iperf3 on two CPUs: threads = 2
 * moved 0.7-0.96x of one thread's rate with a spin of 400 pauses, 0.9-1.1x without).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pool.h"

#define POOL_WAIT_SPIN 2000 /* checks for the last items before the caller yields */

struct lane {
	struct pool *pl;
	int lane;
	pthread_t th;
	bool started;
};

struct pool {
	int lanes;
	struct lane lane[POOL_LANES_MAX];
	pthread_mutex_t mu;
	pthread_cond_t wake;
	/* the batch: written under mu, with gen */
	pool_fn *fn;
	void *arg;
	int items;
	uint32_t gen;
	int sleepers;
	bool stop;
	_Atomic uint64_t claim;         /* gen << 32 | next item */
	_Atomic int done;               /* items of this batch finished */
	_Atomic uint64_t count[POOL_LANES_MAX];
	_Atomic uint64_t shared;
};

static inline void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Claim and run items of batch gen until none is left. */
static void
drain(struct pool *pl, uint32_t gen, pool_fn *fn, void *arg, int items, int lane)
{
	uint64_t v = atomic_load_explicit(&pl->claim, memory_order_acquire);
	uint64_t ran = 0;

	for (;;) {
		if ((uint32_t)(v >> 32) != gen || (uint32_t)v >= (uint32_t)items)
			break;
		if (!atomic_compare_exchange_weak_explicit(&pl->claim, &v, v + 1,
		    memory_order_acq_rel, memory_order_acquire))
			continue;
		fn(arg, (int)(uint32_t)v, lane);
		ran++;
		atomic_fetch_add_explicit(&pl->done, 1, memory_order_release);
		v = atomic_load_explicit(&pl->claim, memory_order_acquire);
	}
	if (ran > 0)
		atomic_fetch_add_explicit(&pl->count[lane], ran, memory_order_relaxed);
}

static void *
worker(void *v)
{
	struct lane *ln = v;
	struct pool *pl = ln->pl;
	uint32_t seen = 0;

	for (;;) {
		pool_fn *fn;
		void *arg;
		int items;

		pthread_mutex_lock(&pl->mu);
		while (pl->gen == seen && !pl->stop) {
			pl->sleepers++;
			pthread_cond_wait(&pl->wake, &pl->mu);
			pl->sleepers--;
		}
		if (pl->stop) {
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		seen = pl->gen;
		fn = pl->fn;
		arg = pl->arg;
		items = pl->items;
		pthread_mutex_unlock(&pl->mu);
		drain(pl, seen, fn, arg, items, ln->lane);
	}
}

struct pool *
pool_new(int lanes)
{
	struct pool *pl;
	sigset_t all, old;
	int err = 0;

	if (lanes < 1 || lanes > POOL_LANES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return NULL;
	pl->lanes = lanes;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->wake, NULL);
	/* Signals belong to the engine's thread (its loop handles them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 1; i < lanes && err == 0; i++) {
		pl->lane[i].pl = pl;
		pl->lane[i].lane = i;
		err = pthread_create(&pl->lane[i].th, NULL, worker, &pl->lane[i]);
		pl->lane[i].started = err == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		pool_free(pl);
		errno = err;
		return NULL;
	}
	return pl;
}

void
pool_free(struct pool *pl)
{
	if (pl == NULL)
		return;
	pthread_mutex_lock(&pl->mu);
	pl->stop = true;
	pthread_cond_broadcast(&pl->wake);
	pthread_mutex_unlock(&pl->mu);
	for (int i = 1; i < pl->lanes; i++)
		if (pl->lane[i].started)
			pthread_join(pl->lane[i].th, NULL);
	pthread_cond_destroy(&pl->wake);
	pthread_mutex_destroy(&pl->mu);
	free(pl);
}

int
pool_lanes(const struct pool *pl)
{
	return pl->lanes;
}

void
pool_run(struct pool *pl, pool_fn *fn, void *arg, int items)
{
	uint32_t gen;
	int spins = 0;

	if (items <= 0)
		return;
	if (pl->lanes == 1 || items == 1) {
		for (int i = 0; i < items; i++)
			fn(arg, i, 0);
		atomic_fetch_add_explicit(&pl->count[0], (uint64_t)items, memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	pl->fn = fn;
	pl->arg = arg;
	pl->items = items;
	gen = ++pl->gen;
	atomic_store_explicit(&pl->done, 0, memory_order_relaxed);
	atomic_store_explicit(&pl->claim, (uint64_t)gen << 32, memory_order_release);
	if (pl->sleepers > 0)
		pthread_cond_broadcast(&pl->wake);
	pthread_mutex_unlock(&pl->mu);
	atomic_fetch_add_explicit(&pl->shared, 1, memory_order_relaxed);

	drain(pl, gen, fn, arg, items, 0);
	/* The rest are running on other lanes; one of them may have been preempted. */
	while (atomic_load_explicit(&pl->done, memory_order_acquire) < items) {
		if (++spins < POOL_WAIT_SPIN)
			relax();
		else
			sched_yield();
	}
}

void
pool_stats(const struct pool *pl, struct pool_stats *st)
{
	struct pool *p = (struct pool *)pl;

	st->shared = atomic_load_explicit(&p->shared, memory_order_relaxed);
	for (int i = 0; i < POOL_LANES_MAX; i++)
		st->items[i] = atomic_load_explicit(&p->count[i], memory_order_relaxed);
}
