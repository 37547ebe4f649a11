/*
 * The page journal's state (journal.c), shared with the TLB fill hook
 * (tlbfill.c), which journals a page on its first store instead of a write
 * hook.
 */
#ifndef PJ_JOURNAL_H
#define PJ_JOURNAL_H

#include <stdint.h>

#define PJ_PAGE 4096u

struct pj_state {
    uint64_t lo;        /* first physical address watched */
    uint64_t pages;     /* pages watched from lo */
    uint8_t *host;      /* host address backing lo */
    uint8_t *saved;     /* pages * PJ_PAGE old contents, by page index; NULL: list pages only */
    uint8_t *dirty;     /* a page's flag: PJ_CLEAN, PJ_WRITTEN (in list) or PJ_EAGER (in eager) */
    uint32_t *list;     /* indices of the written pages, in first-write order */
    uint64_t count;     /* entries in list */
    uint32_t *eager;    /* indices of the eager pages (saved by pj_begin, never in list) */
    uint64_t eager_count;
};

enum { PJ_CLEAN, PJ_WRITTEN, PJ_EAGER };

/* Journal page index ``page`` (save it when keeping) unless it is written or eager already. */
void pj_touch(struct pj_state *s, uint64_t page);

/* Before a call: save the eager pages as they are. */
void pj_begin(struct pj_state *s);

#endif
