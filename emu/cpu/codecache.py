"""An engine's cached code, kept true to memory that someone else rewrites.

Unicorn translates guest code into blocks and keeps them; the block-cost
table (``blockcost.py``) keeps each block's cycle cost, keyed by address and
size.  Unicorn notices the stores its own engine makes to code and
translates again, but not a write anyone else makes: the mediator filling a
VM's RX buffer, the secure world writing shared memory, the emulator
loading an image or serving semihosting.  Those writes come here, and the
blocks and costs of the written range are dropped (``uc.ctl_remove_cache``,
which takes the address code runs at, and ``BlockCounter.invalidate_range``).

A physical write is found in the engine's mappings (address -> PA).  With
the guest's MMU off the mapped address is the one code runs at, so only the
written range is dropped, one mapping (one Unicorn RAM block) at a time.
With the MMU on, the virtual addresses of a physical page are not known
here; the blocks and costs of code another agent rewrote then go when the
guest does the instruction cache maintenance below, which the architecture
asks of it before it runs such code.  (Dropping every block instead cost a
Linux boot some 8k blocks translated again, for an RX buffer it never runs.)

Self-modifying code: Unicorn notices the guest's own stores through the
address code runs at, but not always through an alias of that memory
(another virtual mapping once its TLB entry is dirty, see
``invalidhook.py``; another physical mapping never), and a block rewritten
at the same address and size would keep its old cost.  So the guest's
instruction cache maintenance, which the architecture asks of code that
rewrites code, is honoured (seen by a SYS instruction hook): ``ic ivau``
drops the blocks and costs of its cache line, ``ic iallu``/``ic ialluis``
the blocks and costs whose code changed since it was translated
(``BlockCounter.revalidate``), or every block and cost where that cannot be
told.  (Dropping every block cost a Linux boot some 7,500 blocks translated
again, at the IC IALLUIS after each patching of its alternatives: 7% of
its CPU time.)  ``ic ivau`` and ``ic ialluis`` are broadcast to the
inner shareable domain: the other vCPUs of the VM (``share_domain``), each
an engine of its own that never sees another's stores, drop them too;
``ic iallu`` is the calling PE's alone.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_right, insort

from unicorn import UC_HOOK_INSN, Uc
from unicorn.arm64_const import UC_ARM64_INS_SYS
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib, sysregs
from emu.cpu.blockcost import BlockCounter

PAGE = 4096
# SYS encodings (op0, op1, CRn, CRm, op2) of the instruction cache maintenance the guest does, and the number
# _on_ic is given for each (native/icache.c passes the same): IC IVAU, IC IALLU, IC IALLUIS
_IC_OPS = {(1, 3, 7, 5, 1): 0, (1, 0, 7, 5, 0): 1, (1, 0, 7, 1, 0): 2}
_IC_CB = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint64)  # (which, address), from native/icache.c


class CodeCache:
    """Drops the translated blocks and block costs of one engine where its memory was rewritten."""

    def __init__(self, uc: Uc, counter: BlockCounter) -> None:
        self._uc = uc
        self._counter = counter
        self._maps: list[tuple[int, int, int]] = []  # (pa, size, address in the engine), sorted by pa
        self._stopped_for_ic = False  # an IC IALLU stopped the engine: it starts again once the maintenance is done
        self._flush_pending = False  # ... and every block goes first
        self._peers: list[CodeCache] = []  # the other PEs of the inner shareable domain
        ctr = uc.cpr_read(*sysregs.CTR_EL0)
        self._line = 4 << (ctr & 0xF)  # CTR_EL0.IminLine: log2 of the words in the smallest I-cache line
        lib = nativelib.load() if counter.native else None
        if lib is not None:  # SYS instructions filtered in C (native/icache.c): most are not IC maintenance
            self._ic_cb = _IC_CB(self._on_ic)  # C holds the pointer: keep it alive
            handle = ctypes.c_size_t()
            status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_INSN,
                                       ctypes.cast(lib.ic_sys_hook, ctypes.c_void_p),
                                       ctypes.cast(self._ic_cb, ctypes.c_void_p),
                                       ctypes.c_uint64(1), ctypes.c_uint64(0), ctypes.c_int(UC_ARM64_INS_SYS))
            if status:
                raise RuntimeError(f"uc_hook_add(SYS) failed with status {status}")
        else:
            uc.hook_add(UC_HOOK_INSN, self._on_sys, None, 1, 0, UC_ARM64_INS_SYS)

    @staticmethod
    def share_domain(caches: list[CodeCache]) -> None:
        """The code caches of PEs in one inner shareable domain (a VM's vCPUs): broadcast maintenance reaches all."""
        for cache in caches:
            cache._peers = [other for other in caches if other is not cache]

    # -- what the engine maps --------------------------------------------------------------------
    def mapped(self, address: int, pa: int, size: int) -> None:
        """``[address, +size)`` now shows physical ``pa``: costs cached for what was there go."""
        insort(self._maps, (pa, size, address))
        self._drop_costs(address, address + size)

    def unmapped(self, address: int, size: int) -> None:
        end = address + size
        kept: list[tuple[int, int, int]] = []
        for pa, length, start in self._maps:
            stop = start + length
            if stop <= address or start >= end:
                kept.append((pa, length, start))
                continue
            if start < address:
                kept.append((pa, address - start, start))
            if stop > end:
                kept.append((pa + (end - start), stop - end, end))
        self._maps = sorted(kept)
        self._drop_costs(address, end)

    # -- writes the engine did not make ----------------------------------------------------------
    def physical_written(self, pa: int, size: int) -> None:
        """Physical memory ``[pa, pa + size)`` was written from outside this engine."""
        if self._mmu_on():
            return
        end = pa + size
        first = max(bisect_right(self._maps, (pa, 1 << 64)) - 1, 0)
        hits = []
        for map_pa, length, address in self._maps[first:]:
            if map_pa >= end:
                break
            if map_pa + length > pa:
                lo, hi = max(pa, map_pa), min(end, map_pa + length)
                hits.append((address + lo - map_pa, address + hi - map_pa))
        for lo, hi in hits:  # within one mapping: one Unicorn RAM block, contiguous behind the address
            self._uc.ctl_remove_cache(lo, hi)
            self._counter.invalidate_range(lo, hi, translations_dropped=True)

    def virtual_written(self, va: int, size: int) -> None:
        """``[va, va + size)`` was written through the engine's own translation, not by its code."""
        for page in range(va & ~(PAGE - 1), va + size, PAGE):  # each page may lie in another RAM block
            self._uc.ctl_remove_cache(page, page + PAGE)
        self._counter.invalidate_range(va, va + size, translations_dropped=True)

    def finish_ic_stop(self) -> bool:
        """Once the engine stopped: finish the IC IALLU it stopped for (drop every translated block if that must
        be); True if it stopped for one, and starts again."""
        if not self._stopped_for_ic:
            return False
        self._stopped_for_ic = False
        if self._flush_pending:
            self._flush_pending = False
            self._uc.ctl_flush_tb()
        return True

    # -- internals -------------------------------------------------------------------------------
    def _mmu_on(self) -> bool:
        return bool(self._uc.cpr_read(*sysregs.SCTLR_EL1) & 1)

    def _drop_costs(self, address: int, end: int) -> None:
        if self._mmu_on():
            self._counter.invalidate()  # costs are keyed by virtual address
        else:
            self._counter.invalidate_range(address, end, translations_dropped=False)

    def _on_sys(self, _uc: Uc, _reg: int, cp, _data: object) -> bool:
        op = (cp.op0, cp.op1, cp.crn, cp.crm, cp.op2)
        which = _IC_OPS.get(op)
        if which is not None:
            self._on_ic(which, cp.val)
        return False  # the instruction itself runs as usual

    def _on_ic(self, which: int, address: int) -> None:
        """IC IVAU (``which`` 0) drops the blocks and costs of its line, here and at the peers; IC IALLU (1)
        the blocks and costs whose code changed here, IC IALLUIS (2) here and at the peers.

        Blocks go at once (QEMU unlinks them from the running chain), but a flush of every block here waits
        until the engine stopped: the running block and the blocks chained to it would go on in the discarded
        code.  The engine stops at an IC IALLU either way, and starts again after it.  The peers are not running.
        """
        if which:
            self._stopped_for_ic = True
            self._uc.emu_stop()
            self._revalidate(running=True)
            if which == 2:
                for peer in self._peers:
                    peer._revalidate(running=False)
        else:
            line = address & ~(self._line - 1)
            for cache in (self, *self._peers):
                cache._uc.ctl_remove_cache(line, line + self._line)
                cache._counter.invalidate_range(line, line + self._line, translations_dropped=True)

    def _revalidate(self, running: bool) -> None:
        """Drop the translated blocks whose code changed, or every block when that cannot be told."""
        changed = self._counter.revalidate()
        if changed is None:
            self._counter.invalidate(translations_dropped=True)
            if running:
                self._flush_pending = True
            else:
                self._uc.ctl_flush_tb()
            return
        for address, size in changed:
            self._uc.ctl_remove_cache(address, address + size)
