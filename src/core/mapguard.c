/*
 * mapguard: see mapguard.h.
 */
#include "core/mapguard.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_RANGES 16

static struct range {
	_Atomic(uintptr_t) start; /* 0: free slot */
	size_t len;
	atomic_int hit;
} ranges[MAX_RANGES];

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	for (size_t i = 0; i < MAX_RANGES; i++) {
		uintptr_t s = atomic_load(&ranges[i].start);
		if (s && a >= s && a < s + ranges[i].len) {
			long page = sysconf(_SC_PAGESIZE);
			uintptr_t p = a & ~(uintptr_t)(page - 1);
			/* The access is retried on a private zero page. */
			if (mmap((void *)p, (size_t)page, PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
				atomic_store(&ranges[i].hit, 1);
				return;
			}
			break;
		}
	}
	/* Not ours (or no page to put there): the default action, a core. */
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

int mm_mapguard_add(void *addr, size_t len)
{
	/* Installed at each add: a library (or a test harness) may have
	 * replaced the handler since. */
	struct sigaction cur;
	if (sigaction(SIGBUS, NULL, &cur) == 0 &&
	    (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sigbus)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
	}
	for (size_t i = 0; i < MAX_RANGES; i++)
		if (!atomic_load(&ranges[i].start)) {
			ranges[i].len = len;
			atomic_store(&ranges[i].hit, 0);
			atomic_store(&ranges[i].start, (uintptr_t)addr);
			return 0;
		}
	return -1;
}

bool mm_mapguard_hit(const void *addr)
{
	for (size_t i = 0; i < MAX_RANGES; i++)
		if (atomic_load(&ranges[i].start) == (uintptr_t)addr)
			return atomic_load(&ranges[i].hit) != 0;
	return false;
}

void mm_mapguard_remove(const void *addr)
{
	for (size_t i = 0; i < MAX_RANGES; i++)
		if (atomic_load(&ranges[i].start) == (uintptr_t)addr)
			atomic_store(&ranges[i].start, 0);
}
