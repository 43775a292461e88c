/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading context fields (xdp_md, __sk_buff) safely. */
#ifndef XTAP_BPF_CTX_H
#define XTAP_BPF_CTX_H

/* Load a 32-bit context field with its offset in the instruction. clang
 * otherwise may keep a field's address in a register when the same field
 * is read twice, and the verifier rejects any arithmetic on the ctx
 * pointer. The result is unsigned long: a u32 load zero-extends, and a
 * separate zero-extension would be arithmetic on a packet pointer. */
#define CTX_FIELD(ctx, type, field) \
	({ \
		unsigned long __v; \
		asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(__v) : "r"(ctx), "i"(__builtin_offsetof(type, field))); \
		__v; \
	})

/* Store a 32-bit context field (skb->mark) the same way, for the same reason. */
#define CTX_STORE(ctx, type, field, val) \
	asm volatile("*(u32 *)(%0 + %1) = %2" ::"r"(ctx), "i"(__builtin_offsetof(type, field)), "r"((__u32)(val)) \
		     : "memory")

/* uapi pkt_cls.h verdicts, which vmlinux.h does not carry */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#endif
