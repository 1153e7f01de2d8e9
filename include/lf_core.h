/*
 * lf_core.h - the return codes of every module boundary, in the spirit of
 * nginx's NGX_OK / NGX_ERROR / NGX_AGAIN / NGX_DECLINED. A function that
 * can fail for reasons of its own returns lf_rc; one that classifies a
 * client's input returns its module's verdict enum (lf_money_verdict, ...);
 * one that reports what a transaction decided returns a result enum
 * (lf_transfer_result). See HACKING.md, "House rules".
 */
#ifndef LF_CORE_H
#define LF_CORE_H

typedef enum lf_rc {
	LF_OK = 0,        /* done */
	LF_ERROR = -1,    /* failed; already logged where it happened */
	LF_AGAIN = -2,    /* transient (deadlock, lock wait): nothing done, safe to retry */
	LF_DECLINED = -3, /* nothing to act on: not found, a cache miss, refused */
	LF_LOST = -4,     /* the link broke: whether a write committed is unknown */
} lf_rc;

#endif
