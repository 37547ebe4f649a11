/*
 * Pages written in one physical range, as a UC_HOOK_MEM_WRITE callback in
 * C.  Unicorn calls a write hook before the store happens, so the first
 * write to a page since the last pj_commit() can save the page as it was
 * (when the journal keeps old contents); pj_commit() forgets the pages,
 * pj_rollback() copies the saved ones back.  The SPMD keeps the secure
 * RAM's old contents (an SPMC call is all or nothing); the invariant
 * checker only lists the normal-world pages the SPMC wrote.
 *
 * A store the hook sees costs Unicorn far more than the hook itself (it
 * finds the store's guest PC again first), so a keeping journal can make a
 * page "eager": pj_begin() saves it whole before each call and the caller
 * stops hooking it (journal.py chooses the pages and the hook ranges).
 *
 * emu/cpu/journal.py holds the identical pure-Python fallback.
 */
#include <stdlib.h>
#include <string.h>

#include "journal.h"

void pj_destroy(struct pj_state *s)
{
    if (s) {
        free(s->saved);
        free(s->dirty);
        free(s->list);
        free(s->eager);
        free(s);
    }
}

struct pj_state *pj_create(uint64_t lo, uint64_t pages, uint8_t *host, int keep)
{
    struct pj_state *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->lo = lo;
    s->pages = pages;
    s->host = host;
    s->dirty = calloc(pages, 1);
    s->list = malloc(pages * sizeof(*s->list));
    s->eager = malloc(pages * sizeof(*s->eager));
    s->saved = keep ? malloc(pages * PJ_PAGE) : NULL; /* untouched pages cost no host memory */
    if (!s->dirty || !s->list || !s->eager || (keep && !s->saved)) {
        pj_destroy(s);
        return NULL;
    }
    return s;
}

void pj_touch(struct pj_state *s, uint64_t page)
{
    if (page >= s->pages || s->dirty[page])
        return;
    if (s->saved)
        memcpy(s->saved + page * PJ_PAGE, s->host + page * PJ_PAGE, PJ_PAGE);
    s->dirty[page] = PJ_WRITTEN;
    s->list[s->count++] = (uint32_t)page;
}

void pj_hook(void *uc, int type, uint64_t addr, int size, int64_t value, struct pj_state *s)
{
    (void)uc;
    (void)type;
    (void)value;
    if (addr < s->lo || size <= 0)
        return;
    uint64_t first = (addr - s->lo) / PJ_PAGE;
    uint64_t last = (addr - s->lo + (uint64_t)size - 1) / PJ_PAGE; /* a store may straddle two pages */
    pj_touch(s, first);
    if (last != first)
        pj_touch(s, last);
}

void pj_commit(struct pj_state *s)
{
    for (uint64_t i = 0; i < s->count; i++)
        s->dirty[s->list[i]] = PJ_CLEAN;
    s->count = 0;
}

/* Make a clean page eager (a keeping journal's, between commit and pj_begin): 0 when it cannot be. */
int pj_promote(struct pj_state *s, uint64_t page)
{
    if (!s->saved || page >= s->pages || s->dirty[page] != PJ_CLEAN)
        return 0;
    s->dirty[page] = PJ_EAGER;
    s->eager[s->eager_count++] = (uint32_t)page;
    memcpy(s->saved + page * PJ_PAGE, s->host + page * PJ_PAGE, PJ_PAGE); /* for a rollback without pj_begin */
    return 1;
}

/* Before a call: save the eager pages as they are (the pages written stores save themselves). */
void pj_begin(struct pj_state *s)
{
    for (uint64_t i = 0; i < s->eager_count; i++) {
        uint64_t page = s->eager[i];
        memcpy(s->saved + page * PJ_PAGE, s->host + page * PJ_PAGE, PJ_PAGE);
    }
}

void pj_rollback(struct pj_state *s)
{
    for (uint64_t i = 0; i < s->count; i++) {
        uint64_t page = s->list[i];
        if (s->saved)
            memcpy(s->host + page * PJ_PAGE, s->saved + page * PJ_PAGE, PJ_PAGE);
        s->dirty[page] = PJ_CLEAN;
    }
    s->count = 0;
    for (uint64_t i = 0; i < s->eager_count; i++) {
        uint64_t page = s->eager[i];
        memcpy(s->host + page * PJ_PAGE, s->saved + page * PJ_PAGE, PJ_PAGE);
    }
}
