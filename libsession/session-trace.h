/*
 * The trace fields a final delivery puts on top of a message, written the
 * same way by smtp-session and baremail-sendmail: Return-Path: (RFC 5321
 * 4.4), X-Original-To: naming every recipient (one copy of the message
 * serves them all), and the rule for Received:'s "for" clause.
 */
#ifndef SESSION_TRACE_H
#define SESSION_TRACE_H

#include <stddef.h>

#include "session-header.h"

#define TRACE_FOLD_AT 78 /* RFC 5322 2.1.1: lines SHOULD stay within 78 */

/*
 * Writes "Return-Path: <sender>" and "X-Original-To:" with each recipient
 * once, folded within TRACE_FOLD_AT columns; without recipients, no
 * X-Original-To:.  rcpts is rcpts_len bytes of NUL-terminated addresses,
 * one after another.  Returns 0, or -1 when emit failed.
 */
int trace_write(header_emit_fn emit, void *arg, const char *sender,
    const char *rcpts, size_t rcpts_len);

/*
 * The recipient Received: names in its "for" clause: the one recipient
 * when there is exactly one (RFC 5321 4.4: never a list) and it can stand
 * between < and >; NULL otherwise.
 */
const char *trace_for(const char *rcpts, size_t rcpts_len);

#endif
