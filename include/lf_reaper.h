/*
 * lf_reaper.h - retention of idempotency keys: one worker per generation
 * periodically deletes stored outcomes past their expiry (payments
 * themselves are kept forever, with their own unique key).
 */
#ifndef LF_REAPER_H
#define LF_REAPER_H

struct lf_app;
struct lf_reaper;

struct lf_reaper *lf_reaper_start(struct lf_app *app);
void lf_reaper_stop(struct lf_reaper *reaper);

#endif
