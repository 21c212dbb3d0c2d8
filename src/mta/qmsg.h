/*
 * qmsg: building and freeing one struct mm_qmsg (mta.h) as a single
 * allocation, shared by every backend.
 *
 * mm_qmsg_new(tmpl) copies tmpl, its recipient array, id, sender and every
 * address into one block. Reason strings are not copied: backends pass
 * strings from their struct mm_strpool and mm_qmsg_free() returns them.
 */
#ifndef MAILMON_MTA_QMSG_H
#define MAILMON_MTA_QMSG_H

#include "core/strpool.h"
#include "mta/mta.h"

struct mm_qmsg *mm_qmsg_new(const struct mm_qmsg *tmpl);
/* Puts every reason back into pool (when not NULL) and frees msg. */
void mm_qmsg_free(struct mm_qmsg *msg, struct mm_strpool *pool);

#endif
