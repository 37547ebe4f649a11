/*
 * The pages one engine writes in a physical range, as a UC_HOOK_MEM_WRITE
 * callback in C: the SPMC writing VM memory (a service partition filling a
 * shared page) must reach the VMs' code caches, which Unicorn keeps per
 * engine.  Unicorn calls the hook only for stores inside the range; each
 * records its page unless it is the page recorded last, so a partition
 * walking a share costs one entry per page.  Past WT_PAGES entries the
 * tracker only notes that it overflowed (the reader then takes the whole
 * range as written).
 *
 * emu/cpu/writetrack.py holds the identical pure-Python fallback.
 */
#include "writetrack.h"

void wt_record(struct wt_state *s, uint64_t page)
{
    if (page == s->last_page)
        return;
    s->last_page = page;
    if (s->count < WT_PAGES)
        s->pages[s->count++] = page;
    else
        s->overflow = 1;
}

void wt_hook(void *uc, int type, uint64_t addr, int size, int64_t value, struct wt_state *s)
{
    (void)uc;
    (void)type;
    (void)value;
    uint64_t last = (addr + (uint64_t)(size > 0 ? size : 1) - 1) >> WT_PAGE_SHIFT;
    for (uint64_t page = addr >> WT_PAGE_SHIFT; page <= last; page++)
        wt_record(s, page);
}
