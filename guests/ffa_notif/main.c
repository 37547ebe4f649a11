/*
 * ffa_notif: FF-A notifications between this VM and the service SP, whatever
 * the mediator makes of them.  Each step prints one "notif: key=value" line
 * (the test compares them with what each mediator's source does):
 *
 *   npi, sri        FFA_FEATURES(1) and (2): the interrupt IDs, or the error
 *   bitmap_create   FFA_NOTIFICATION_BITMAP_CREATE(own ID, 1 vCPU), only if
 *                   FFA_FEATURES says it exists (as Linux's arm_ffa driver)
 *   bind            BIND(sender = service SP, receiver = self, bits 3 and 40)
 *   bind_other      the same naming receiver self + 1 (not the caller)
 *   sp_set          the SP sets bits 3 and 40 for us (direct request
 *                   NOTIF_SET): its status
 *   irq             the interrupt taken after that request, or none
 *   info_get        FFA_NOTIFICATION_INFO_GET_64: SUCCESS's first list, or
 *                   the error
 *   get             GET(self, from SPs and the SPM): the SP bitmap, or the error
 *   get_again       the same again: what is left
 *   sp_set_unbound  the SP sets bit 0, which nobody bound
 *   sp_bind         the SP binds us as the sender of bit 5 (NOTIF_BIND)
 *   set_to_sp       SET(sender = self, receiver = service SP, bit 5)
 *   set_spoofed     the same naming sender self + 1
 *   sp_get          the SP's NOTIF_GET: its bitmap from VMs
 *   unbind          UNBIND(service SP -> self, bits 3 and 40)
 *
 * The IRQ handler acknowledges whatever comes (the notification pending
 * interrupt under Xen and the spec, the SPMC's schedule receiver interrupt
 * under pKVM) and ends it.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa.h"
#include "gic.h"

#define BIT(n) (UINT64_C(1) << (n))
#define OUR_BITS (BIT(3) | BIT(40))
#define SP_BITS BIT(5)
#define GET_FROM_SP_AND_SPM 0x5u

static uint16_t self;

void guest_irq(struct exception_frame *frame)
{
    (void)frame;
    gic_take();
}

static void report(const char *key, const struct smccc_regs *r)
{
    ffa_print_step("notif", key, r);
}

static const char *status_name(uint32_t status)
{
    return ffa_error_name((int32_t)status);
}

/* A service SP command over SMC32 DIRECT_REQ (the form every mediator passes): the SP's answer w3-w7. */
static struct smccc_regs service(uint32_t cmd, uint32_t a, uint32_t b, uint32_t c)
{
    return ffa_call(FFA_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, cmd, a, b, c, 0);
}

static int interrupt_id(uint32_t feature, const char *key)
{
    struct smccc_regs r = ffa_features(feature);

    if (!ffa_ok(&r)) {
        report(key, &r);
        return -1;
    }
    printf("notif: %s=%u\n", key, ffa_w(&r, 2));
    return (int)ffa_w(&r, 2);
}

static void notifications_to_us(void)
{
    struct smccc_regs r;

    r = ffa_call(FFA_NOTIFICATION_BIND, FFA_ENDPOINTS(SERVICE_SP_ID, self), 0, (uint32_t)OUR_BITS,
                 OUR_BITS >> 32, 0, 0, 0);
    report("bind", &r);
    r = ffa_call(FFA_NOTIFICATION_BIND, FFA_ENDPOINTS(SERVICE_SP_ID, self + 1), 0, (uint32_t)OUR_BITS,
                 OUR_BITS >> 32, 0, 0, 0);
    report("bind_other", &r);

    gic_taken = GIC_SPURIOUS;
    irq_unmask();
    r = service(SERVICE_CMD_NOTIF_SET, (uint32_t)OUR_BITS, OUR_BITS >> 32, 0);
    irq_mask();
    printf("notif: sp_set=%s\n", ffa_w(&r, 0) == FFA_MSG_SEND_DIRECT_RESP ? status_name(ffa_w(&r, 3)) : "no answer");
    if (gic_taken == GIC_SPURIOUS)
        printf("notif: irq=none\n");
    else
        printf("notif: irq=%u\n", gic_taken);

    r = ffa_call(FFA_FN64_NOTIFICATION_INFO_GET, 0, 0, 0, 0, 0, 0, 0);
    if (ffa_ok(&r))
        printf("notif: info_get=lists:%u first:0x%x\n", (ffa_w(&r, 2) >> 7) & 0x1f, (uint16_t)r.x[3]);
    else
        report("info_get", &r);

    for (int again = 0; again < 2; again++) {
        r = ffa_call(FFA_NOTIFICATION_GET, self, GET_FROM_SP_AND_SPM, 0, 0, 0, 0, 0);
        if (ffa_ok(&r))
            printf("notif: %s=0x%llx\n", again ? "get_again" : "get",
                   (unsigned long long)((uint64_t)ffa_w(&r, 3) << 32 | ffa_w(&r, 2)));
        else
            report(again ? "get_again" : "get", &r);
    }

    r = service(SERVICE_CMD_NOTIF_SET, 1, 0, 0);
    printf("notif: sp_set_unbound=%s\n", status_name(ffa_w(&r, 3)));
}

static void notifications_to_the_sp(void)
{
    struct smccc_regs r = service(SERVICE_CMD_NOTIF_BIND, (uint32_t)SP_BITS, 0, 0);

    printf("notif: sp_bind=%s\n", status_name(ffa_w(&r, 3)));
    r = ffa_call(FFA_NOTIFICATION_SET, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, (uint32_t)SP_BITS, 0, 0, 0, 0);
    report("set_to_sp", &r);
    r = ffa_call(FFA_NOTIFICATION_SET, FFA_ENDPOINTS(self + 1, SERVICE_SP_ID), 0, (uint32_t)SP_BITS, 0, 0, 0,
                 0);
    report("set_spoofed", &r);
    r = service(SERVICE_CMD_NOTIF_GET, 0, 0, 0);
    if (ffa_w(&r, 3) == 0)
        printf("notif: sp_get=0x%llx\n", (unsigned long long)((uint64_t)ffa_w(&r, 5) << 32 | ffa_w(&r, 4)));
    else
        printf("notif: sp_get=%s\n", status_name(ffa_w(&r, 3)));
}

int main(void)
{
    struct smccc_regs r;
    int npi, sri, intid;

    install_vectors();
    irq_mask();
    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    self = (uint16_t)ffa_w(&r, 2);
    npi = interrupt_id(FFA_FEATURE_ID_NPI, "npi");
    sri = interrupt_id(FFA_FEATURE_ID_SRI, "sri");

    r = ffa_features(FFA_NOTIFICATION_BITMAP_CREATE);
    if (ffa_ok(&r)) {
        r = ffa_call(FFA_NOTIFICATION_BITMAP_CREATE, self, 1, 0, 0, 0, 0, 0);
        report("bitmap_create", &r);
    } else {
        printf("notif: bitmap_create=skipped\n");
    }

    gic_init();
    intid = npi >= 0 ? npi : sri;
    if (intid >= 0)
        gic_irq_setup((uint32_t)intid, 0x80);
    notifications_to_us();
    notifications_to_the_sp();

    r = ffa_call(FFA_NOTIFICATION_UNBIND, FFA_ENDPOINTS(SERVICE_SP_ID, self), 0, (uint32_t)OUR_BITS,
                 OUR_BITS >> 32, 0, 0, 0);
    report("unbind", &r);
    return 0;
}
