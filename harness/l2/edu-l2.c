// SPDX-License-Identifier: GPL-2.0
/*
 * edu-l2: the whole guest of a small virtual machine that has QEMU's edu
 * PCI device (1234:11e8) assigned to it through VFIO.  QEMU's multiboot
 * loader starts it (-kernel edu-l2.elf -append MODE).  It finds edu with
 * port-I/O configuration cycles, has it copy a fresh pattern from RAM into
 * its own buffer and back into a second RAM buffer, and compares.  There
 * is no vIOMMU: the DMA addresses are guest-physical addresses, which the
 * VMM mapped for the device.
 *
 * MODE "ok": the round trip.  MODE "outside": the round trip, then a DMA
 * from edu to a guest-physical address outside the guest's RAM, which the
 * IOMMU must block: the guest's RAM must not change.  MODE "p2p": two edu
 * devices; the round trip on the first, then the first writes 4 bytes into
 * the second's BAR0 (peer to peer, the VMM having mapped that BAR for DMA)
 * at its register 0x04, which must then read their complement.  MODE
 * "mdev": the round trip, with a mediated device (the kernel's sample
 * mtty, 4348:3253) assigned beside edu, which must be on the bus too.
 *
 * The results go to COM1.  Then it prints "L2: waiting", waits for one
 * byte on COM1, so that whoever runs the VMM can look at the live VM, and
 * leaves through isa-debug-exit (port 0xf4): QEMU exits with status 33
 * when every check passed, 35 otherwise.
 */

#define COM1		0x3f8
#define COM1_LSR	(COM1 + 5)
#define LSR_DR		0x01	/* a received byte is waiting */
#define LSR_THRE	0x20	/* the transmitter takes a byte */
#define DEBUG_EXIT	0xf4
#define EXIT_PASS	0x10	/* QEMU exits with (0x10 << 1) | 1 = 33 */
#define EXIT_FAIL	0x11	/* 35 */
#define RTC_INDEX	0x70
#define RTC_DATA	0x71

#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc
#define PCI_ENABLE	0x80000000
#define PCI_COMMAND	0x04
#define PCI_BAR0	0x10
#define PCI_CMD_MEMORY	0x2
#define PCI_CMD_MASTER	0x4
#define EDU_IDS		0x11e81234	/* device << 16 | vendor */
#define MTTY_IDS	0x32534348

#define EDU_ID		0x00
#define EDU_ID_VALUE	0x010000ed
#define EDU_LIVE	0x04		/* reads the complement of what was written */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUFFER	0x40000		/* edu's own buffer, a device address */

#define LEN		2048
#define PAGE		4096
#define OUTSIDE		0x08000000	/* above the RAM, below edu's 28-bit mask */
#define HOLE_START	0xa0000		/* legacy VGA and ROM, not RAM */
#define HOLE_END	0x100000

#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_MEM	0x1
#define MB_INFO_CMDLINE	0x4

struct mb_info {
	unsigned int flags;
	unsigned int mem_lower;		/* KiB below 1 MiB */
	unsigned int mem_upper;		/* KiB above 1 MiB */
	unsigned int boot_device;
	unsigned int cmdline;
};

static unsigned char src[LEN];
static unsigned char dst[LEN];

static inline void out8(unsigned short port, unsigned char v)
{
	asm volatile("outb %0, %1" : : "a" (v), "Nd" (port));
}

static inline unsigned char in8(unsigned short port)
{
	unsigned char v;

	asm volatile("inb %1, %0" : "=a" (v) : "Nd" (port));
	return v;
}

static inline void out32(unsigned short port, unsigned int v)
{
	asm volatile("outl %0, %1" : : "a" (v), "Nd" (port));
}

static inline unsigned int in32(unsigned short port)
{
	unsigned int v;

	asm volatile("inl %1, %0" : "=a" (v) : "Nd" (port));
	return v;
}

/* Paging is off: a physical address is the pointer. */
static inline unsigned int rd32(unsigned long addr)
{
	unsigned int v;

	asm volatile("movl (%1), %0" : "=r" (v) : "r" (addr) : "memory");
	return v;
}

static inline void wr32(unsigned long addr, unsigned int v)
{
	asm volatile("movl %0, (%1)" : : "r" (v), "r" (addr) : "memory");
}

static void put(char c)
{
	while (!(in8(COM1_LSR) & LSR_THRE))
		;
	out8(COM1, c);
}

static void print(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			put('\r');
		put(*s);
	}
}

static void print_hex(unsigned int v, int digits)
{
	while (digits--)
		put("0123456789abcdef"[(v >> (4 * digits)) & 0xf]);
}

static void print_dec(unsigned int v)
{
	char buf[12];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	print(buf + i);
}

/* Timeouts count the seconds of the RTC as a wait loop polls. */
struct clock {
	unsigned char last;
	unsigned int seconds;
};

static unsigned char rtc_seconds(void)
{
	out8(RTC_INDEX, 0);
	return in8(RTC_DATA);
}

static void clock_start(struct clock *c)
{
	c->last = rtc_seconds();
	c->seconds = 0;
}

static int clock_passed(struct clock *c, unsigned int seconds)
{
	unsigned char now = rtc_seconds();

	if (now != c->last) {
		c->last = now;
		c->seconds++;
	}
	return c->seconds >= seconds;
}

/* The pattern: xorshift32 from a seed taken from the TSC, new each run. */
static unsigned int next(unsigned int *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static unsigned int pattern_seed(void)
{
	unsigned int lo, hi;

	asm volatile("rdtsc" : "=a" (lo), "=d" (hi));
	return (lo ^ hi * 0x9e3779b9) | 1;
}

static unsigned int pci_read(unsigned int devfn, unsigned int reg)
{
	out32(PCI_ADDR, PCI_ENABLE | devfn << 8 | reg);
	return in32(PCI_DATA);
}

static void pci_write(unsigned int devfn, unsigned int reg, unsigned int v)
{
	out32(PCI_ADDR, PCI_ENABLE | devfn << 8 | reg);
	out32(PCI_DATA, v);
}

static int edu_dma_count(unsigned long bar, unsigned long from,
			 unsigned long to, unsigned int cmd, unsigned int count)
{
	struct clock c;

	wr32(bar + EDU_DMA_SRC, from);
	wr32(bar + EDU_DMA_DST, to);
	wr32(bar + EDU_DMA_COUNT, count);
	wr32(bar + EDU_DMA_CMD, cmd | EDU_CMD_START);
	clock_start(&c);
	while (rd32(bar + EDU_DMA_CMD) & EDU_CMD_START) {
		if (clock_passed(&c, 10)) {
			print("L2: FAIL: the edu DMA did not complete in 10 s\n");
			return -1;
		}
	}
	return 0;
}

static int edu_dma(unsigned long bar, unsigned long from, unsigned long to,
		   unsigned int cmd)
{
	return edu_dma_count(bar, from, to, cmd, LEN);
}

/* src holds the pattern of seed, dst its complement? */
static int buffers_hold(unsigned int seed)
{
	unsigned int i, x = seed;

	for (i = 0; i < LEN; i++) {
		unsigned char want = next(&x);

		if (src[i] != want || dst[i] != (unsigned char)~want) {
			print("L2: FAIL: RAM buffer byte ");
			print_dec(i);
			print(src[i] != want ? " of the source" : " of the target");
			print(" changed\n");
			return -1;
		}
	}
	return 0;
}

static int round_trip(unsigned long bar, unsigned int seed)
{
	unsigned int i, x = seed;

	for (i = 0; i < LEN; i++) {
		src[i] = next(&x);
		dst[i] = ~src[i];
	}
	if (edu_dma(bar, (unsigned long)src, EDU_BUFFER, 0) ||
	    edu_dma(bar, EDU_BUFFER, (unsigned long)dst, EDU_CMD_TO_RAM))
		return -1;
	for (i = 0; i < LEN; i++) {
		if (dst[i] != src[i]) {
			print("L2: FAIL: edu DMA round trip: byte ");
			print_dec(i);
			print(" differs\n");
			return -1;
		}
	}
	print("L2: edu DMA round trip ok (2048 bytes)\n");
	return 0;
}

/*
 * edu writes its buffer (the pattern) outside the RAM.  Were that DMA to
 * land in the RAM, a page would start with the pattern; the target buffer
 * must still hold the complement of it.
 */
static int dma_outside(unsigned long bar, unsigned int seed, unsigned long ram_end)
{
	unsigned long page, s = (unsigned long)src, d = (unsigned long)dst;
	unsigned int i;

	if (ram_end > OUTSIDE) {
		print("L2: FAIL: the RAM reaches the outside address\n");
		return -1;
	}
	for (i = 0; i < LEN; i++)
		dst[i] = ~src[i];
	if (edu_dma(bar, EDU_BUFFER, OUTSIDE, EDU_CMD_TO_RAM) ||
	    buffers_hold(seed))
		return -1;
	for (page = 0; page < ram_end; page += PAGE) {
		if (page >= HOLE_START && page < HOLE_END)
			continue;
		if (page == s || page == d)
			continue;
		for (i = 0; i < 16; i += 4)
			if (rd32(page + i) != rd32(s + i))
				break;
		if (i == 16) {
			print("L2: FAIL: the DMA outside the RAM reached page ");
			print("0x");
			print_hex(page, 8);
			print("\n");
			return -1;
		}
	}
	print("L2: edu DMA to 0x");
	print_hex(OUTSIDE, 8);
	print(" (outside the RAM) left the RAM untouched\n");
	return 0;
}

/*
 * The first edu writes 4 bytes of the pattern, through its buffer, into
 * the second edu's register 0x04: a DMA whose target is the other device's
 * BAR, which the VMM mapped for DMA as it maps the guest's RAM.
 */
static int peer_to_peer(unsigned long bar, unsigned long peer_bar,
			unsigned int seed)
{
	unsigned int val = seed ^ 0x5a5a5a5a, got;

	wr32((unsigned long)src, val);
	if (edu_dma_count(bar, (unsigned long)src, EDU_BUFFER, 0, 4) ||
	    edu_dma_count(bar, EDU_BUFFER, peer_bar + EDU_LIVE, EDU_CMD_TO_RAM,
			  4))
		return -1;
	got = rd32(peer_bar + EDU_LIVE);
	if (got != ~val) {
		print("L2: FAIL: peer to peer: the other edu's register reads 0x");
		print_hex(got, 8);
		print(", not 0x");
		print_hex(~val, 8);
		print("\n");
		return -1;
	}
	print("L2: edu peer-to-peer DMA into the other edu's BAR0 at 0x");
	print_hex(peer_bar, 8);
	print(" ok\n");
	return 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* QEMU passes "KERNEL_PATH APPEND": the mode is the last word. */
static const char *last_word(const char *s)
{
	const char *w = s;

	for (; *s; s++)
		if (*s == ' ' && s[1] && s[1] != ' ')
			w = s + 1;
	return w;
}

/*
 * The BAR0 of the first edu on bus 0 from @from on, memory and bus master
 * enabled, its devfn in edu_devfn; 0 if there is none.
 */
static unsigned int edu_devfn;

static unsigned long edu_find(unsigned int from)
{
	unsigned int devfn, cmd;
	unsigned long bar;

	for (devfn = from; devfn < 256; devfn++)
		if (pci_read(devfn, 0) == EDU_IDS)
			break;
	if (devfn == 256) {
		print("L2: FAIL: no edu device on bus 0\n");
		return 0;
	}
	edu_devfn = devfn;
	cmd = pci_read(devfn, PCI_COMMAND) & 0xffff;
	pci_write(devfn, PCI_COMMAND, cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER);
	cmd = pci_read(devfn, PCI_COMMAND) & 0xffff;
	bar = pci_read(devfn, PCI_BAR0);
	print("L2: edu at 00:");
	print_hex(devfn >> 3, 2);
	print(".");
	print_dec(devfn & 7);
	print(", BAR0 0x");
	print_hex(bar, 8);
	print(", command 0x");
	print_hex(cmd, 4);
	print("\n");
	if ((cmd & (PCI_CMD_MEMORY | PCI_CMD_MASTER)) !=
	    (PCI_CMD_MEMORY | PCI_CMD_MASTER)) {
		print("L2: FAIL: memory and bus master enable did not stick\n");
		return 0;
	}
	if (bar & 1 || !(bar & ~0xfUL)) {
		print("L2: FAIL: BAR0 is not an assigned memory BAR\n");
		return 0;
	}
	bar &= ~0xfUL;
	if (rd32(bar + EDU_ID) != EDU_ID_VALUE) {
		print("L2: FAIL: edu id register reads 0x");
		print_hex(rd32(bar + EDU_ID), 8);
		print("\n");
		return 0;
	}
	return bar;
}

/* The mediated device beside edu: present, with its ids. */
static int mtty_find(void)
{
	unsigned int devfn;

	for (devfn = 0; devfn < 256; devfn += 8) {
		if (pci_read(devfn, 0) != MTTY_IDS)
			continue;
		print("L2: mtty at 00:");
		print_hex(devfn >> 3, 2);
		print(".0\n");
		return 0;
	}
	print("L2: FAIL: no mtty device on bus 0\n");
	return -1;
}

static int run(const struct mb_info *mbi)
{
	unsigned long bar, peer_bar, ram_end;
	const char *mode = "";
	unsigned int seed;

	if (mbi->flags & MB_INFO_CMDLINE)
		mode = last_word((const char *)mbi->cmdline);
	if (!streq(mode, "ok") && !streq(mode, "outside") &&
	    !streq(mode, "p2p") && !streq(mode, "mdev")) {
		print("L2: FAIL: the command line names no mode (ok, outside, p2p, mdev)\n");
		return -1;
	}
	if (!(mbi->flags & MB_INFO_MEM)) {
		print("L2: FAIL: the loader gave no memory size\n");
		return -1;
	}
	/* The loader counts the RAM the BIOS left free: round up to all. */
	ram_end = HOLE_END + mbi->mem_upper * 1024UL;
	ram_end = (ram_end + 0xfffff) & ~0xfffffUL;
	print("L2: mode ");
	print(mode);
	print(", RAM ");
	print_dec(ram_end >> 20);
	print(" MiB\n");

	bar = edu_find(0);
	if (!bar)
		return -1;
	seed = pattern_seed();
	if (round_trip(bar, seed))
		return -1;
	if (streq(mode, "outside"))
		return dma_outside(bar, seed, ram_end);
	if (streq(mode, "p2p")) {
		peer_bar = edu_find(edu_devfn + 1);
		return peer_bar ? peer_to_peer(bar, peer_bar, seed) : -1;
	}
	if (streq(mode, "mdev"))
		return mtty_find();
	return 0;
}

/* An IDT gate: a 32-bit interrupt gate, present, ring 0; no padding. */
struct idt_gate {
	unsigned short offset_low;
	unsigned short selector;
	unsigned short type;
	unsigned short offset_high;
};

static struct idt_gate idt[256];
/* entry.S: 256 stubs of 16 bytes, one per vector. */
void trap_stubs(void);

static void load_idt(void)
{
	unsigned int base = (unsigned int)idt, i, stub;
	/* The IDTR: a 16-bit limit, then the 32-bit base. */
	unsigned short idtr[3] = { sizeof(idt) - 1, base & 0xffff, base >> 16 };
	unsigned short cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	for (i = 0; i < 256; i++) {
		stub = (unsigned int)trap_stubs + 16 * i;
		idt[i] = (struct idt_gate){ stub & 0xffff, cs, 0x8e00, stub >> 16 };
	}
	asm volatile("lidt %0" : : "m"(idtr));
}

void l2_trap(const unsigned int *frame);

/*
 * An event the guest never asked for: say which, and where it struck
 * (the words the CPU pushed: an error code for some exceptions, then
 * EIP, CS and EFLAGS), and fail.
 */
void l2_trap(const unsigned int *frame)
{
	int i;

	print("L2: FAIL: unexpected event, vector ");
	print_dec(frame[0]);
	print(", stack");
	for (i = 1; i <= 4; i++) {
		print(" 0x");
		print_hex(frame[i], 8);
	}
	print("\n");
	out8(DEBUG_EXIT, EXIT_FAIL);
}

void l2_main(unsigned int magic, const struct mb_info *mbi);

void l2_main(unsigned int magic, const struct mb_info *mbi)
{
	int result = -1;
	struct clock c;
	int i;

	load_idt();
	print("L2: edu-l2 started\n");
	if (magic == MB_BOOT_MAGIC)
		result = run(mbi);
	else
		print("L2: FAIL: not started by a multiboot loader\n");
	print(result ? "L2: result fail\n" : "L2: result pass\n");

	print("L2: waiting for a byte on COM1\n");
	clock_start(&c);
	while (!(in8(COM1_LSR) & LSR_DR)) {
		if (clock_passed(&c, 60)) {
			print("L2: FAIL: no byte on COM1 in 60 s\n");
			result = -1;
			break;
		}
		for (i = 0; i < 1000; i++)
			asm volatile("pause");
	}
	in8(COM1);
	print("L2: exit\n");
	out8(DEBUG_EXIT, result ? EXIT_FAIL : EXIT_PASS);
}
