"""Per-block cycle accounting for one Unicorn engine.

Each executed basic block is charged the sum of its instructions' costs; a
block's costs are computed once, on first sight, by ``BlockClassifier``.
Costs are counted in fixed point (``FRAC_BITS`` fractional bits), since a
scheduled core model charges fractions of a cycle: whole cycles reach the
counters and the clock, the remainder carries to the engine's next block.  The
hot path runs in C (``native/blockcost.c``) when the helper library has been
built, else in an identical pure-Python hook: both give the same counts.

The counter also enforces a deadline on the machine clock (``stop_at``): once
the clock (every engine's instructions plus EL2/EL3 work) reaches it, the
next block stops the engine *before* running, uncharged.  That is how the
scheduler's quantum and ``--max-cycles`` stay deterministic.  With
``stop_when_unmasked`` it also stops before the first block that runs with
PSTATE.I clear: an IRQ waiting for the guest to unmask is taken there, with
no return to Python at every block in between.

Each cached block also keeps the words it was costed from, as they were just
after Unicorn translated them (hashed, in C).  At the guest's IC IALLU,
``revalidate`` tells the blocks whose words changed from the others, so that
only their translations go (``codecache.py``).  That needs every translation
Unicorn keeps to be a cached block: a block stopped before it ran is cached
all the same, and a forget that leaves translations behind makes the next
revalidation answer "cannot tell".
"""

from __future__ import annotations

import ctypes
from bisect import bisect_left, insort

from unicorn import UC_HOOK_BLOCK, Uc
from unicorn.arm64_const import UC_ARM64_REG_PSTATE
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.cpu.costmodel import BlockClassifier
from emu.cpu.exceptions import PSTATE_I
from emu.cpu.vmem import read_virtual, translate_virtual
from emu.cpu.wordclass import class_names

NATIVE_LIBRARY = nativelib.LIBRARY
UNLIMITED = (1 << 64) - 1
MAX_BLOCK_BYTES = 512 * 4  # a translated block holds at most QEMU's TCG_MAX_INSNS (512) instructions
FRAC_BITS = 12  # as BC_FRAC_BITS in native/blockcost.c
REVALIDATE_MAX = 4096  # more changed blocks than this at one IC IALLU: every translation goes instead
MAX_CACHED_BLOCKS = 3 << 17  # as native/blockcost.c's bound (3/4 of BC_MAX_SLOTS): then the cache starts again
ONE = 1 << FRAC_BITS


def fixed(costs: list[int] | list[float]) -> list[int]:
    """Per-instruction cycle costs in fixed point: what the counters add up."""
    return [round(cost * ONE) for cost in costs]


class Clock:
    """The machine-wide cycle clock, shared by every engine and the EL2/EL3 code."""

    def __init__(self) -> None:
        # The count itself: the native hooks advance it at its address, and the trap path reads
        # ``cell.value`` directly (a property's call costs as much again).
        self.cell = ctypes.c_uint64(0)

    @property
    def now(self) -> int:
        return self.cell.value

    def advance(self, cycles: int) -> int:
        self.cell.value += cycles
        return self.cell.value

    @property
    def address(self) -> int:
        return ctypes.addressof(self.cell)


LEDGERS_CACHED = 4096  # charge sequences whose breakdown CallLedger remembers (fragmented calls vary in length)


class Charges:
    """A fixed group of ``(cycles, kind)`` charges that always come together on the trap path (an EL2 entry, a
    world switch's legs, the mediator's per-call work), built once from the cost model.

    Precomputed: the group's ``total`` (what the clock and the account move by, in one addition), and its
    identity, which lets a ledger remember the breakdown of a call made only of such groups (see
    ``CallLedger``).  ``account`` is the account that charges it.
    """

    __slots__ = ("account", "pairs", "total")

    def __init__(self, account: Account, *pairs: tuple[int, str]) -> None:
        self.account = account
        self.pairs = pairs
        self.total = sum(cycles for cycles, _kind in pairs)


class CallLedger:
    """The groups a trapped call charges, in order, across every account its cycles are attributed to.

    ``open`` starts a call; ``close`` ends it and returns its sequence of groups, of which ``breakdown`` gives
    the cycles by kind (``"el2.handler"``, ``"el3.smc"``, ..., then ``"spmc"``: all else the call's span
    holds).  A forwarded call charges the same groups every time (EL2 entry, the mediator's work, the SPMD's
    entry and exit, EL2's return), so a sequence made only of fixed groups is worked out once; and as the
    trace needs a call's breakdown only when it makes the call's record, the trap path keeps the sequence and
    the breakdown is looked up then, if ever.
    """

    def __init__(self) -> None:
        self.accounts: list[Account] = []  # in the order a breakdown shows them
        self.groups: list[Charges] | None = None  # the open call's groups (None: no call open)
        self.ad_hoc = False  # whether the open call made a one-off charge (a sequence never seen again)
        # Sequences of fixed groups whose kinds are named -> their breakdown and its sum, once worked out (else None)
        self._known: dict[tuple[Charges, ...], tuple[dict[str, int], int] | None] = {}

    def attribute(self, account: Account) -> None:
        """Show ``account``'s charges in each call's breakdown, after those of the accounts before it."""
        self.accounts.append(account)
        account.ledger = self

    def open(self) -> None:
        self.groups = []
        self.ad_hoc = False

    def close(self) -> tuple[Charges, ...]:
        """The open call's groups, in order; each account names the kinds it sees first here (a breakdown
        lists an account's kinds in the order they were first charged)."""
        sequence = tuple(self.groups)
        self.groups = None
        if sequence not in self._known:
            for charges in sequence:
                charges.account.name_kinds(charges)
            if not self.ad_hoc and len(self._known) < LEDGERS_CACHED:
                self._known[sequence] = None
        return sequence

    def breakdown(self, sequence: tuple[Charges, ...], start: int, end: int) -> dict[str, int]:
        """Where the cycles of a call spanning ``start`` to ``end`` went, ``sequence`` being its groups."""
        found = self._known.get(sequence)
        if found is None:
            found = self._work_out(sequence)
            if sequence in self._known:  # fixed groups only: the same breakdown every time
                self._known[sequence] = found
        charged, total = found
        out = charged.copy()
        spmc = end - start - total
        if spmc:
            out["spmc"] = spmc
        return out

    def _work_out(self, sequence: tuple[Charges, ...]) -> tuple[dict[str, int], int]:
        out: dict[str, int] = {}
        for account in self.accounts:
            out.update(account.breakdown_of([charges for charges in sequence if charges.account is account]))
        return out, sum(out.values())


class Account:
    """Cycles spent outside any engine's instructions (EL2 and EL3 work), in total and by kind.

    While a call is open in its ledger (``CallLedger``), each group charged goes to the ledger, which makes
    the call's breakdown by kind.  An account charged outside any call names the kinds it sees at once.
    """

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.cycles = 0
        self.ledger = CallLedger()  # its own until a hypervisor attributes it to the calls' (attribute())
        # Every kind charged so far, in the order first charged, with its trace key ("el2.handler").
        self._keys: dict[str, str] = {}
        self._seen: set[Charges] = set()  # groups whose kinds are in _keys
        self._alone: dict[Charges, dict[str, int]] = {}  # charge_alone's breakdowns
        self._clock = clock

    def group(self, *pairs: tuple[int, str]) -> Charges:
        """A fixed group this account charges (``charge_all``)."""
        return Charges(self, *pairs)

    def charge(self, cycles: int, kind: str = "other") -> None:
        """Charge a one-off amount (a copy's size-dependent cost, ...): a group of its own, never looked up."""
        ledger = self.ledger
        if ledger.groups is not None:
            ledger.ad_hoc = True
        self.charge_all(Charges(self, (cycles, kind)))

    def charge_all(self, charges: Charges) -> None:
        """Charge a group (each of its pairs in turn, as ``charge`` would), the clock moved once."""
        total = charges.total
        self.cycles += total
        groups = self.ledger.groups
        if groups is not None:
            groups.append(charges)
        elif charges not in self._seen:
            self.name_kinds(charges)
        self._clock.cell.value += total

    def name_kinds(self, charges: Charges) -> None:
        """Give each new kind of ``charges`` its trace key (``"el2.handler"``), in the order kinds are first charged."""
        if charges in self._seen:
            return
        self._seen.add(charges)
        keys = self._keys
        for _cycles, kind in charges.pairs:
            if kind not in keys:
                keys[kind] = f"{self.name}.{kind}"

    def charge_alone(self, charges: Charges) -> dict[str, int]:
        """``charge_all`` for the whole of a call that no other account sees and that runs no instructions, with
        no call open: returns the breakdown the call's ledger would have given.

        That breakdown is the same every time once the charges' kinds have been seen (kinds charged
        later are ordered after them), so it is worked out once per ``charges``.
        """
        self.charge_all(charges)
        breakdown = self._alone.get(charges)
        if breakdown is None:
            breakdown = self._alone[charges] = self.breakdown_of([charges])
        return breakdown.copy()

    def breakdown_alone(self, charges: Charges) -> dict[str, int]:
        """What ``charge_alone(charges)`` returns, without charging (``charges`` were charged alone before)."""
        return self._alone[charges]

    def charged_natively(self, cycles: int) -> None:
        """``cycles`` of fixed groups charged before, which a native hook has put on the clock since."""
        self.cycles += cycles

    def breakdown_of(self, groups: list[Charges]) -> dict[str, int]:
        """The charges of ``groups`` (all named) summed by kind, keyed and ordered as a breakdown shows them
        (kinds that came to nothing left out)."""
        totals: dict[str, int] = {}
        for charges in groups:
            for cycles, kind in charges.pairs:
                totals[kind] = totals.get(kind, 0) + cycles
        return {key: totals[kind] for kind, key in self._keys.items() if totals.get(kind)}


class _State(ctypes.Structure):
    _fields_ = [
        ("cycles", ctypes.c_uint64),
        ("insns", ctypes.c_uint64),
        ("stop_at", ctypes.c_uint64),
        ("clock", ctypes.c_void_p),
        ("last_addr", ctypes.c_uint64),
        ("last_size", ctypes.c_uint32),
        ("stopped", ctypes.c_uint32),
        ("frac", ctypes.c_uint64),
        ("gate", ctypes.c_uint64),
        ("unmask", ctypes.c_uint32),
        ("pstate_reg", ctypes.c_int32),
        ("reg_read", ctypes.c_void_p),
        # the rest of the C struct is private to the library
    ]


_MISS = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_uint32,
                         ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32))
_LEARN = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))
_native_lib: ctypes.CDLL | None = None
MAX_BLOCK_INSNS = MAX_BLOCK_BYTES // 4  # as BC_MAX_INSNS in native/blockcost.c


def native_available() -> bool:
    return _load_native() is not None


def _load_native() -> ctypes.CDLL | None:
    global _native_lib
    if _native_lib is None:
        lib = nativelib.load()
        if lib is None:
            return None
        lib.bc_create.restype = ctypes.POINTER(_State)
        lib.bc_create.argtypes = [_MISS] + [ctypes.c_void_p] * 5
        lib.bc_destroy.argtypes = [ctypes.POINTER(_State)]
        lib.bc_clear.argtypes = [ctypes.POINTER(_State), ctypes.c_int]
        lib.bc_invalidate_range.argtypes = [ctypes.POINTER(_State), ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        lib.bc_invalidate_range.restype = ctypes.c_uint64
        lib.bc_revalidate.argtypes = [ctypes.POINTER(_State), ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
                                      ctypes.c_uint64]
        lib.bc_revalidate.restype = ctypes.c_int64
        lib.bc_block_costs.argtypes = [ctypes.POINTER(_State), ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint32)]
        lib.bc_block_costs.restype = ctypes.c_int64
        lib.bc_blocks.argtypes = [ctypes.POINTER(_State), ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint64]
        lib.bc_blocks.restype = ctypes.c_uint64
        lib.bc_set_class_costs.argtypes = [ctypes.POINTER(_State), ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint32]
        lib.bc_set_class_costs.restype = ctypes.c_int
        _native_lib = lib
    return _native_lib


class BlockCounter:
    """Charges an engine's executed blocks to its own counters and the shared clock."""

    def __init__(self, uc: Uc, classifier: BlockClassifier, clock: Clock, native: bool | None = None) -> None:
        self._uc = uc
        self._classifier = classifier
        self._clock = clock
        lib = _load_native() if native is not False else None
        if native and lib is None:
            raise RuntimeError(f"native block-cost helper not built ({NATIVE_LIBRARY})")
        self.native = lib is not None
        if self.native:
            self._lib = lib
            self._miss_cb = _MISS(self._on_miss)  # keep references: C holds the pointers
            self._learn_cb = _LEARN(self._on_learn)
            stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p)
            # The helper reads a block's words itself, to hash them and, when costs are per word, to cost them from
            # words seen before: of the words it has not seen, those whose class it cannot tell come here (_on_learn).
            read = ctypes.cast(uclib.uc_vmem_read, ctypes.c_void_p)
            translate = ctypes.cast(uclib.uc_vmem_translate, ctypes.c_void_p)
            learn = ctypes.cast(self._learn_cb, ctypes.c_void_p) if classifier.costs_per_word else None
            self._state = lib.bc_create(self._miss_cb, stop, clock.address, read, translate, learn)
            if not self._state:
                raise MemoryError("bc_create failed")
            if classifier.costs_per_word:
                names = class_names()
                costs = fixed([classifier.model.instruction[name] for name in names])
                if lib.bc_set_class_costs(self._state, (ctypes.c_uint32 * len(costs))(*costs), len(costs)):
                    raise RuntimeError(f"{NATIVE_LIBRARY}: bc_set_class_costs refused {len(costs)} classes")
            self._s = self._state.contents
            self._s.pstate_reg = UC_ARM64_REG_PSTATE
            self._s.reg_read = ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p)
            self._costs_buf = (ctypes.c_uint32 * MAX_BLOCK_INSNS)()
            self._changed_buf = (ctypes.c_uint64 * (2 * REVALIDATE_MAX))()
            handle = ctypes.c_size_t()
            hook = ctypes.cast(lib.bc_hook, ctypes.c_void_p)
            status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK, hook,
                                       ctypes.cast(self._state, ctypes.c_void_p), 1, 0)
            if status:
                raise RuntimeError(f"uc_hook_add(UC_HOOK_BLOCK) failed with status {status}")
        else:
            self._s = _State(stop_at=UNLIMITED, gate=UNLIMITED)
            self._costs: dict[int, list[int] | list[float]] = {}  # block address -> per-instruction cycles
            self._starts: list[int] = []  # the same addresses, sorted: the blocks a range may hold, by bisect
            self._table: dict[int, tuple[int, int, int]] = {}  # addr -> (size, fixed-point cost, insns)
            # addr -> (where it was, the code it was costed from and a longer translation's at addr), as in C
            self._words: dict[int, tuple[int | None, bytes]] = {}
            self._untracked = False  # translations may stay of blocks not cached: revalidate cannot tell
            uc.hook_add(UC_HOOK_BLOCK, self._py_hook)

    def __del__(self) -> None:
        if getattr(self, "native", False) and getattr(self, "_state", None):
            self._lib.bc_destroy(self._state)
            self._state = None

    # -- counters --------------------------------------------------------
    @property
    def cycles(self) -> int:
        return self._s.cycles

    @property
    def instructions(self) -> int:
        return self._s.insns

    @property
    def stop_at(self) -> int:
        return self._s.stop_at

    @stop_at.setter
    def stop_at(self, value: int) -> None:
        s = self._s
        stop_at = value if value < UNLIMITED else UNLIMITED  # min() costs a call: once per SPMC call
        s.stop_at = stop_at
        s.gate = 0 if s.unmask else stop_at
        s.stopped = 0

    @property
    def stop_when_unmasked(self) -> bool:
        """Whether the engine also stops before a block once PSTATE.I is clear (an IRQ is waiting for it)."""
        return bool(self._s.unmask)

    @stop_when_unmasked.setter
    def stop_when_unmasked(self, value: bool) -> None:
        s = self._s
        s.unmask = value
        s.gate = 0 if value else s.stop_at

    @property
    def last_block(self) -> tuple[int, int]:
        """(address, size in bytes) of the block most recently charged: at a trap, the trapping block."""
        return self._s.last_addr, self._s.last_size

    @property
    def budget_exhausted(self) -> bool:
        return bool(self._s.stopped)

    @property
    def block_costs(self) -> dict[int, list[float]]:
        """Every cached block's per-instruction costs in cycles, as charged (for inspection)."""
        if self.native:
            count = self._lib.bc_blocks(self._state, None, 0)
            addresses = (ctypes.c_uint64 * count)()
            self._lib.bc_blocks(self._state, addresses, count)
        else:
            addresses = list(self._costs)
        return {addr: [cost / ONE for cost in self._fixed_costs(addr)] for addr in addresses}

    def charge(self, cycles: int) -> None:
        """Charge non-instruction work (a trap, a world switch) to this engine."""
        self._s.cycles += cycles
        self._clock.advance(cycles)

    def cut_short(self, pc: int) -> None:
        """The last block stopped at ``pc`` (a fault): refund what did not run."""
        s = self._s
        start = s.last_addr
        if not start <= pc < start + s.last_size:
            return
        costs = self._fixed_costs(start)
        if costs is None:
            return
        skipped = costs[(pc - start) // 4:]
        cycles, s.frac = divmod(s.cycles * ONE + s.frac - sum(skipped), ONE)
        self._clock.advance(cycles - s.cycles)
        s.cycles = cycles
        s.insns -= len(skipped)
        s.last_size = pc - start

    def invalidate(self, translations_dropped: bool = False) -> None:
        """Forget cached block costs (after code was rewritten or remapped).

        ``translations_dropped``: Unicorn's translated blocks went too; else they stay, untracked.
        """
        if self.native:
            self._lib.bc_clear(self._state, translations_dropped)
            return
        self._untracked = not translations_dropped and (self._untracked or bool(self._table))
        self._costs.clear()
        self._starts.clear()
        self._table.clear()
        self._words.clear()

    def invalidate_range(self, start: int, end: int, translations_dropped: bool) -> None:
        """Forget the costs of blocks overlapping ``[start, end)`` (block addresses: the PE's own).

        ``translations_dropped`` as for ``invalidate``.  On the Python path every cached block is in ``_costs``,
        so the candidates are found by bisect.
        """
        if self.native:
            self._lib.bc_invalidate_range(self._state, start, end, translations_dropped)
            return
        lo, hi = bisect_left(self._starts, start - MAX_BLOCK_BYTES), bisect_left(self._starts, end)
        doomed = [a for a in self._starts[lo:hi] if a + 4 * len(self._costs[a]) > start]
        if doomed:
            self._forget(doomed)
            self._starts[lo:hi] = [a for a in self._starts[lo:hi] if a in self._costs]
            self._untracked |= not translations_dropped

    def revalidate(self) -> list[tuple[int, int]] | None:
        """The guest's IC IALLU: forget the blocks whose code changed since it was costed, and return their
        ``(address, size)`` for their translations to go; None, forgetting nothing, when that cannot be told
        (then every translation must go, and ``invalidate(translations_dropped=True)``)."""
        if self.native:
            count = self._lib.bc_revalidate(self._state, self._uc._uch, self._changed_buf, REVALIDATE_MAX)
            if count < 0:
                return None
            pairs = self._changed_buf[:2 * count]
            return list(zip(pairs[::2], pairs[1::2]))
        if self._untracked:
            return None
        changed = []
        for addr, (pa, words) in self._words.items():
            if pa is None or translate_virtual(self._uc, addr, execute=True) != pa:
                return None
            if read_virtual(self._uc, addr, len(words), execute=True) != words:
                changed.append((addr, max(self._table[addr][0], len(words))))
        if len(changed) > REVALIDATE_MAX:
            return None
        if changed:
            self._forget([addr for addr, _size in changed])
            self._starts = [a for a in self._starts if a in self._costs]
        return changed

    def _forget(self, addresses: list[int]) -> None:
        """Drop these blocks (``_starts`` is the caller's to mend)."""
        for addr in addresses:
            del self._costs[addr]
            del self._table[addr]
            del self._words[addr]

    # -- classification ----------------------------------------------------
    def _fixed_costs(self, addr: int) -> list[int] | None:
        """The per-instruction costs (fixed point) of the block cached at ``addr``; None if there is none."""
        if self.native:
            count = self._lib.bc_block_costs(self._state, addr, self._costs_buf)
            return None if count < 0 else self._costs_buf[:count]
        costs = self._costs.get(addr)
        return None if costs is None else fixed(costs)

    def _classify(self, addr: int, size: int) -> list[int] | list[float]:
        code = self._fetch(addr, size)
        return self._classifier.instruction_costs(addr, code)

    def _fetch(self, addr: int, size: int) -> bytes:
        code = read_virtual(self._uc, addr, size, execute=True)  # addr is virtual once the guest's MMU is on
        if code is None:
            raise RuntimeError(f"block at {addr:#x} ran but cannot be fetched")
        return code

    def _on_miss(self, addr: int, size: int, costs_out, insns_out) -> None:
        costs = fixed(self._classify(addr, size))
        for i, cost in enumerate(costs):
            costs_out[i] = cost
        insns_out[0] = len(costs)

    def _on_learn(self, words, count: int, costs_out) -> None:
        for i, cost in enumerate(fixed(self._classifier.word_costs(words[:count]))):
            costs_out[i] = cost

    def _py_hook(self, _uc: Uc, addr: int, size: int, _data: object) -> None:
        s = self._s
        entry = self._table.get(addr)
        if entry is None or entry[0] != size:
            entry = self._cache(addr, size)  # even if it stops: cached as just translated, charged when it runs
        if self._clock.now >= s.stop_at or s.unmask and not self._uc.reg_read(UC_ARM64_REG_PSTATE) & PSTATE_I:
            s.stopped = 1
            self._uc.emu_stop()
            return
        _size, cost, insns = entry
        whole, s.frac = divmod(s.frac + cost, ONE)
        s.cycles += whole
        s.insns += insns
        self._clock.advance(whole)
        s.last_addr = addr
        s.last_size = size

    def _cache(self, addr: int, size: int) -> tuple[int, int, int]:
        """Cost the block at ``addr``, seen for the first time or at a new size, as ``bc_miss`` does in C (a
        longer translation at ``addr`` whose code is unchanged stays covered by the words kept)."""
        if len(self._table) >= MAX_CACHED_BLOCKS and addr not in self._table:
            self.invalidate()  # a guest running ever new blocks: start again from an empty cache
        span = size
        if addr in self._table:
            pa, words = self._words[addr]
            if pa is not None and read_virtual(self._uc, addr, len(words), execute=True) == words:
                span = max(span, len(words))
            else:
                self._untracked = True
        code = self._fetch(addr, span)
        pa = translate_virtual(self._uc, addr, execute=True)
        self._untracked |= pa is None
        costs = self._classifier.instruction_costs(addr, code[:size])
        if addr not in self._costs:
            insort(self._starts, addr)
        self._costs[addr] = costs
        self._words[addr] = (pa, code)
        entry = (size, sum(fixed(costs)), len(costs))
        self._table[addr] = entry
        return entry
