/*
 * fuzz_event_check: the invariants every log-grammar fuzz target checks
 * on the event a parser made of one input (header-only helper for
 * tests/fuzz/fuzz_*_parser.c and fuzz_syslog_header.c).
 *
 *   - the type is in range;
 *   - every text view lies inside the input (or is absent), except the
 *     msgsrv program name and the Exim grammar's static names;
 *   - the event renders (mm_ev_format reads every view, so ASan sees any
 *     view that points outside the input).
 */
#ifndef MAILMON_FUZZ_EVENT_CHECK_H
#define MAILMON_FUZZ_EVENT_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/event_fmt.h"
#include "parsers/exim.h"
#include "parsers/logevent.h"

static void fuzz_check_sv(struct mm_sv v, const uint8_t *data, size_t size, int allow_static)
{
	if (v.p == NULL) {
		if (v.len != 0)
			abort();
		return;
	}
	const char *b = (const char *)data;
	if (v.p >= b && v.p + v.len <= b + size)
		return;
	if (allow_static && v.len == 6 && memcmp(v.p, "msgsrv", 6) == 0)
		return;
	if (mm_exim_is_static(v.p) && mm_exim_is_static(v.p + v.len - 1))
		return;
	abort();
}

static void fuzz_check_event(const struct mm_log_event *ev, const uint8_t *data, size_t size)
{
	if ((unsigned)ev->type >= MM_EV__COUNT)
		abort();
	const struct mm_sv *svs[] = {
		&ev->host,	 &ev->instance, &ev->service,	  &ev->queue_id, &ev->channel,
		&ev->addr,	 &ev->orig_to,	&ev->client_name, &ev->client_ip, &ev->relay,
		&ev->dsn,	 &ev->reason,	&ev->message_id,  &ev->new_queue_id, &ev->sender,
		&ev->src_channel, &ev->code,
	};
	for (size_t i = 0; i < sizeof svs / sizeof svs[0]; i++)
		fuzz_check_sv(*svs[i], data, size, 0);
	fuzz_check_sv(ev->program, data, size, 1);
	static char out[1 << 16];
	(void)mm_ev_format(ev, out, sizeof out);
}

#endif
