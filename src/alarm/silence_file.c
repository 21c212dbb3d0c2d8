/*
 * silence_file: read and write STATE/alarm-silences (see silence_file.h).
 * The file has the alarm state's "sil" records under its own header, and
 * is decoded by the same parser (alarm_state.c) into a scratch engine.
 */
#include "alarm/silence_file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alarm/alarm_state.h"
#include "core/atomicfile.h"
#include "core/strbuf.h"

#define MAX_FILE ((size_t)4 << 20)

static int read_into(const char *path, struct mm_alarm_engine *e, struct mm_err *err)
{
	size_t len;
	int eno = 0;
	struct mm_err rerr = {{0}};
	char *text = mm_file_read_capped(path, MAX_FILE, &len, &eno, &rerr);
	if (!text)
		return eno == ENOENT ? 0 : mm_err_set(err, "%s", rerr.msg);
	int rc = mm_alarm_state_parse(e, text, len, path, err);
	free(text);
	return rc;
}

int mm_silence_file_add(const char *path, const char *alarm, const char *instance,
			int64_t until, int64_t now, struct mm_err *err)
{
	struct mm_alarm_engine *e = mm_alarm_engine_new();
	int rc = read_into(path, e, err);
	if (rc == 0) {
		mm_alarm_silence(e, alarm, instance, until);
		size_t j = 0;
		for (size_t i = 0; i < e->nsil; i++)
			if (e->sil[i].until > now)
				e->sil[j++] = e->sil[i];
		e->nsil = j;
		e->ninst = 0;
		e->idx_valid = false;
		struct mm_strbuf b;
		mm_strbuf_init(&b, MAX_FILE);
		mm_alarm_state_format(e, &b);
		rc = mm_file_write_atomic(path, b.p, b.len, 0600, err);
		mm_strbuf_free(&b);
	}
	mm_alarm_engine_free(e);
	return rc;
}

int mm_silence_file_apply(const char *path, struct mm_alarm_engine *e, struct mm_err *err)
{
	struct mm_alarm_engine *tmp = mm_alarm_engine_new();
	int rc = read_into(path, tmp, err);
	if (rc == 0)
		for (size_t i = 0; i < tmp->nsil; i++)
			mm_alarm_silence(e, tmp->sil[i].alarm, tmp->sil[i].instance,
					 tmp->sil[i].until);
	mm_alarm_engine_free(tmp);
	return rc;
}
