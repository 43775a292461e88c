// SPDX-License-Identifier: BSD-2-Clause
/* The sorted array with room at both ends (dtcp/gaptab.h), against a model:
 * a plain sorted array that moves everything. Random inserts and erases
 * (seed printed; GAPTAB_SEED replays one), then the property the room is
 * for: erasing from the front, or inserting there after an erase, moves no
 * element but the hole's neighbours (the first element's address moves by
 * one). Elements are 12-byte records, so the byte arithmetic is tested with
 * a size that is not a pointer's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gaptab.h"

#include "../check.h"

struct rec {
	uint32_t id, a, b;
};

struct tab {
	struct rec *p;
	size_t n, cap, front;
};

/* where id is or goes: a linear walk, not the users' binary search */
static size_t pos_of(const struct tab *t, uint32_t id)
{
	size_t i = 0;

	while (i < t->n && t->p[i].id < id)
		i++;
	return i;
}

static int add(struct tab *t, uint32_t id)
{
	size_t pos = pos_of(t, id);
	struct rec *r;

	if (pos < t->n && t->p[pos].id == id)
		return 1;
	if (!(r = gaptab_insert(t->p, sizeof(*r), t->n, &t->cap, &t->front, pos)))
		return -1;
	t->p = r;
	t->p[pos] = (struct rec){ id, id * 3u, ~id };
	t->n++;
	return 0;
}

static int del(struct tab *t, uint32_t id)
{
	size_t pos = pos_of(t, id);

	if (pos == t->n || t->p[pos].id != id)
		return 1;
	t->p = gaptab_erase(t->p, sizeof(*t->p), t->n, &t->front, pos);
	t->n--;
	return 0;
}

/* the model: a sorted array of ids, no room anywhere */
static uint32_t model[4096];
static size_t nmodel;

static int model_add(uint32_t id)
{
	size_t i = 0;

	while (i < nmodel && model[i] < id)
		i++;
	if (i < nmodel && model[i] == id)
		return 1;
	memmove(model + i + 1, model + i, (nmodel - i) * sizeof(model[0]));
	model[i] = id;
	nmodel++;
	return 0;
}

static int model_del(uint32_t id)
{
	for (size_t i = 0; i < nmodel; i++)
		if (model[i] == id) {
			memmove(model + i, model + i + 1, (nmodel - i - 1) * sizeof(model[0]));
			nmodel--;
			return 0;
		}
	return 1;
}

static int same(const struct tab *t)
{
	if (t->n != nmodel || t->front + t->n > t->cap)
		return 0;
	for (size_t i = 0; i < nmodel; i++)
		if (t->p[i].id != model[i] || t->p[i].a != model[i] * 3u || t->p[i].b != ~model[i])
			return 0;
	return 1;
}

static void test_random(unsigned seed)
{
	struct tab t = { 0 };
	int bad = -1;

	nmodel = 0;
	srandom(seed);
	for (int step = 0; step < 20000 && bad < 0; step++) {
		/* ids from a small range, so that erases find something; more
		 * inserts than erases until 3000, then the other way */
		uint32_t id = (uint32_t)(random() % 4000);
		int ins = (random() % 100) < (step < 10000 ? 60 : 35);
		int got = ins ? add(&t, id) : del(&t, id);
		int want = ins ? model_add(id) : model_del(id);

		if (got != want || !same(&t))
			bad = step;
	}
	CHECK(bad < 0, "random inserts and erases agree with the model (seed %u, first difference at step %d)", seed,
	      bad);
	gaptab_free(t.p, sizeof(*t.p), t.front);
}

static void test_ends(void)
{
	struct tab t = { 0 };
	int ok = 1;

	for (uint32_t id = 1; id <= 1000; id++)
		ok &= add(&t, id) == 0;
	CHECK(ok && t.n == 1000 && t.front == 0 && t.cap == 1024, "1000 in order: cap 1024, no front room");
	struct rec *first = t.p;
	for (uint32_t id = 1; id <= 400; id++)
		del(&t, id);
	CHECK(t.n == 600 && t.front == 400 && t.p == first + 400 && t.p[0].id == 401,
	      "erasing the oldest 400: the start moves, nothing else (front %zu)", t.front);
	add(&t, 5);
	CHECK(t.n == 601 && t.front == 399 && t.p == first + 399 && t.p[0].id == 5 && t.p[1].id == 401,
	      "an insert before the first element takes a front slot");
	del(&t, 1000);
	CHECK(t.n == 600 && t.front == 399 && t.p[599].id == 999, "erasing the last: the front stays");
	/* fill the back: inserts near the back then use the front room too */
	for (uint32_t id = 1001; id <= 1024 + 23; id++)
		add(&t, id);
	CHECK(t.front + t.n <= t.cap && t.cap == 1024 && t.p[t.n - 1].id == 1047,
	      "the back full: front room used before a reallocation (cap %zu, front %zu)", t.cap, t.front);
	for (uint32_t id = 2000; id < 2400; id++)
		add(&t, id);
	CHECK(t.cap == 2048 && t.front == 0 && t.n == 1047 - 400 + 400, "both ends full: grown, front 0 (n %zu)", t.n);
	gaptab_free(t.p, sizeof(*t.p), t.front);
	gaptab_free(NULL, sizeof(*t.p), 0);
}

int main(void)
{
	const char *s = getenv("GAPTAB_SEED");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);

	printf("seed %u (GAPTAB_SEED=%u replays it)\n", seed, seed);
	test_random(seed);
	test_random(seed + 1);
	test_ends();
	return check_summary("test_gaptab");
}
