/* The cost class of an A64 instruction word, decoded from its bits (wordclass.c). */
#ifndef WORDCLASS_H
#define WORDCLASS_H

#include <stdint.h>

#define WC_UNKNOWN (-1)

/* The class's index (see wc_class_name), or WC_UNKNOWN where only capstone's disassembly can tell. */
int wc_class(uint32_t word);
/* How many classes there are, and each one's name as emu/cpu/iclass.py spells it. */
int wc_class_count(void);
const char *wc_class_name(int cls);

#endif
