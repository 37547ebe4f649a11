/*
 * Service SP: a small command protocol on the first payload register.
 *
 *   PING: out[0] = SERVICE_PING_MAGIC, out[1] = direct requests served so
 *         far (this one included)
 *   SUM:  out[0] = in[1] + in[2] + in[3] + in[4] (wrapping at the width)
 *   else: out[0] = SERVICE_ERR_UNKNOWN_CMD (an SP-level error; the answer
 *         is still a DIRECT_RESP)
 *
 *   MEM_CHECKSUM / MEM_FILL / MEM_RETRIEVE / MEM_RELINQUISH: memory
 *         sharing, in sp_service_mem.c (which documents them)
 *   NOTIF_BIND / NOTIF_SET / NOTIF_GET: notifications, in
 *         sp_service_notif.c (which documents them)
 *   MSG_READ: the indirect message in the SP's RX buffer, in
 *         sp_service_mem.c (which documents it)
 *   WORK: [cmd, n, mode]: n steps of work (1 to SERVICE_MAX_STEPS), each a
 *         busy loop of SERVICE_STEP_SPINS iterations.  Mode 0: one step each
 *         time the SP runs, yielding after every step but the last; mode 1:
 *         all steps in one run, unless a normal-world interrupt is pending
 *         after a step, which preempts the SP (FFA_INTERRUPT).  The caller
 *         resumes it with FFA_RUN; out[0] = the steps done
 *   VMS:  out[0] = VMs the hypervisor announced (VM_CREATED) and has not
 *         withdrawn (VM_DESTROYED), out[1] = 1 if the requester is one
 *
 * It subscribes to VM availability messages: a VM announced twice, or
 * withdrawn without being announced, is INVALID_PARAMETERS (an illegal
 * change of state, as Hafnium's test partitions answer); a VM withdrawn has
 * the memory the SP holds for it relinquished, a few handles a message
 * (RETRY while more remain), so that the hypervisor's reclaim, which
 * follows, succeeds.
 *
 * A new command is one function and one table row.
 */
#include "spmc.h"

struct service_cmd {
	uint64_t id;
	void (*run)(struct sp_call *call);
};

#define SERVICE_MAX_VMS 16U
#define SERVICE_MAX_STEPS 1000U
#define SERVICE_STEP_SPINS 2000U

static uint64_t served;
static uint16_t live_vms[SERVICE_MAX_VMS];
static uint32_t live_count;

static int32_t live_index(uint16_t vm)
{
	for (uint32_t i = 0; i < live_count; i++) {
		if (live_vms[i] == vm)
			return (int32_t)i;
	}
	return -1;
}

int32_t sp_service_vm_message(uint32_t type, uint16_t vm)
{
	int32_t i = live_index(vm);

	if (type == FFA_DIRECT_MSG_VM_CREATED) {
		if (i >= 0 || live_count == SERVICE_MAX_VMS)
			return FFA_RET_INVALID_PARAMETERS;
		live_vms[live_count++] = vm;
		return 0;
	}
	if (i < 0)
		return FFA_RET_INVALID_PARAMETERS;
	if (!sp_service_forget_vm(vm))
		return FFA_RET_RETRY; /* still letting go of the VM's memory: ask again */
	live_vms[i] = live_vms[--live_count];
	return 0;
}

static struct {
	uint64_t steps;
	uint64_t done;
	bool interruptible;
} work;

static void work_run(struct sp_call *call)
{
	for (;;) {
		for (volatile uint32_t spin = 0; spin < SERVICE_STEP_SPINS; spin++)
			;
		work.done++;
		if (work.done == work.steps) {
			sp_ret(call, 0, work.done);
			return;
		}
		if (!work.interruptible) {
			call->stopped = FFA_YIELD;
			return;
		}
		if (ns_interrupt_pending()) {
			call->stopped = FFA_INTERRUPT;
			return;
		}
	}
}

static void cmd_work(struct sp_call *call)
{
	uint64_t steps = sp_arg(call, 1);

	work.steps = steps == 0 ? 1 : steps > SERVICE_MAX_STEPS ? SERVICE_MAX_STEPS : steps;
	work.done = 0;
	work.interruptible = sp_arg(call, 2) == 1;
	work_run(call);
}

void sp_service_resume(struct sp_call *call)
{
	work_run(call);
}

static void cmd_vms(struct sp_call *call)
{
	sp_ret(call, 0, live_count);
	sp_ret(call, 1, live_index(call->sender) >= 0);
}

static void cmd_ping(struct sp_call *call)
{
	sp_ret(call, 0, SERVICE_PING_MAGIC);
	sp_ret(call, 1, served);
}

static void cmd_sum(struct sp_call *call)
{
	sp_ret(call, 0, sp_arg(call, 1) + sp_arg(call, 2) + sp_arg(call, 3) + sp_arg(call, 4));
}

static const struct service_cmd service_cmds[] = {
	{ SERVICE_CMD_PING, cmd_ping },
	{ SERVICE_CMD_SUM, cmd_sum },
	{ SERVICE_CMD_MEM_CHECKSUM, service_cmd_mem_checksum },
	{ SERVICE_CMD_MEM_FILL, service_cmd_mem_fill },
	{ SERVICE_CMD_MEM_RETRIEVE, service_cmd_mem_retrieve },
	{ SERVICE_CMD_MEM_RELINQUISH, service_cmd_mem_relinquish },
	{ SERVICE_CMD_NOTIF_BIND, service_cmd_notif_bind },
	{ SERVICE_CMD_NOTIF_SET, service_cmd_notif_set },
	{ SERVICE_CMD_NOTIF_GET, service_cmd_notif_get },
	{ SERVICE_CMD_VMS, cmd_vms },
	{ SERVICE_CMD_WORK, cmd_work },
	{ SERVICE_CMD_MSG_READ, service_cmd_msg_read },
};

void sp_service_handle(struct sp_call *call)
{
	uint64_t cmd = sp_arg(call, 0);

	served++;
	for (uint32_t i = 0; i < sizeof(service_cmds) / sizeof(service_cmds[0]); i++) {
		if (service_cmds[i].id == cmd) {
			service_cmds[i].run(call);
			return;
		}
	}
	sp_ret(call, 0, SERVICE_ERR_UNKNOWN_CMD);
}
