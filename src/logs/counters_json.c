/*
 * counters_json: see counters_json.h.
 */
#include "logs/counters_json.h"
#include "core/utf8.h"

json_t *mm_cfile_to_json(const struct mm_cfile *cf, struct mm_err *err)
{
	json_t *chans = json_array();
	uint32_t n = mm_cfile_ngroups(cf);
	for (uint32_t i = 0; i < n; i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0) {
			json_decref(chans);
			mm_err_set(err, "%s: channel %u stayed busy; try again",
				   cf->path ? cf->path : "counters", i);
			return NULL;
		}
		json_t *c = json_object(), *mins = json_object();
		json_object_set_new(c, "name", mm_json_text(s.name));
		for (int f = 0; f < MM_CG__COUNT; f++) {
			json_object_set_new(c, mm_cg_field_names[f], json_integer(s.v[f]));
			json_object_set_new(mins, mm_cg_field_names[f], json_integer(s.min[f]));
		}
		json_object_set_new(c, "minimums", mins);
		json_object_set_new(c, "last_reject", mm_json_text(s.last_reject));
		json_object_set_new(c, "last_connect_failure", mm_json_text(s.last_connfail));
		json_array_append_new(chans, c);
	}
	const struct mm_cf_header *h = cf->hdr;
	json_t *pipe = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "lines",
				 (json_int_t)atomic_load(&h->lines), "unparsed",
				 (json_int_t)atomic_load(&h->unparsed), "inflight",
				 (json_int_t)atomic_load(&h->inflight), "evicted_full",
				 (json_int_t)atomic_load(&h->evicted_full), "evicted_age",
				 (json_int_t)atomic_load(&h->evicted_age), "recipients_not_kept",
				 (json_int_t)atomic_load(&h->rcpts_dropped), "texts_truncated",
				 (json_int_t)atomic_load(&h->truncated));
	return json_pack("{s:o, s:i, s:I, s:I, s:I, s:i, s:i, s:o, s:o}", "file",
			 mm_json_text(cf->path ? cf->path : ""), "version", (int)h->version, "generation",
			 (json_int_t)atomic_load(&h->generation), "created_ms",
			 (json_int_t)h->created_ms, "cleared_ms",
			 (json_int_t)atomic_load(&h->cleared_ms), "writer_pid",
			 (int)atomic_load(&h->writer_pid), "max_channels", (int)h->max_groups,
			 "pipeline", pipe, "channels", chans);
}
