/*
 * The write tracker's state (writetrack.c), shared with the TLB fill hook
 * (tlbfill.c), which records a page on its first store instead of a write
 * hook.
 */
#ifndef WT_WRITETRACK_H
#define WT_WRITETRACK_H

#include <stdint.h>

#define WT_PAGE_SHIFT 12
#define WT_PAGES 4096

struct wt_state {
    uint64_t last_page;  /* page number recorded last, UINT64_MAX once the reader took the pages */
    uint32_t count;      /* entries in pages[] */
    uint32_t overflow;   /* more pages were written than pages[] holds */
    uint64_t pages[WT_PAGES];
};

/* Record page number ``page`` unless it is the page recorded last. */
void wt_record(struct wt_state *s, uint64_t page);

#endif
