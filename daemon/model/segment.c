/* segment.c: who an announcement goes to, as operators write it: "all", "branch:CODE",
 * "rep:CODE", "not_referred", "referred", "tag:TAG". Names only; what each means in
 * rows is store_announce.c's, and whether a branch or rep exists is the config's. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

static const struct {
	const char	*name;
	int		 has_arg;
} kinds[SEG_KIND_COUNT] = {
	[SEG_ALL] = { "all", 0 },
	[SEG_BRANCH] = { "branch", 1 },
	[SEG_REP] = { "rep", 1 },
	[SEG_NOT_REFERRED] = { "not_referred", 0 },
	[SEG_REFERRED] = { "referred", 0 },
	[SEG_TAG] = { "tag", 1 },
};

const char *
seg_kind_name(enum seg_kind k)
{
	return k < SEG_KIND_COUNT ? kinds[k].name : "?";
}

int
seg_kind_parse(const char *name, size_t len, enum seg_kind *out)
{
	for (int k = 0; k < SEG_KIND_COUNT; k++)
		if (strlen(kinds[k].name) == len && memcmp(kinds[k].name, name, len) == 0) {
			*out = (enum seg_kind)k;
			return 0;
		}
	return -1;
}

/* Branch and rep codes and tags are ids: what a CSV or the YAML can hold safely. */
int
seg_arg_valid(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return n > 0 && n <= SEG_ARG_MAX;
}

int
seg_parse(const char *text, struct segment *out, char *why, size_t whylen)
{
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);

	memset(out, 0, sizeof(*out));
	if (seg_kind_parse(text, len, &out->kind) == -1) {
		snprintf(why, whylen, "unknown segment '%.*s' (known: all, branch:CODE, "
		    "rep:CODE, not_referred, referred, tag:TAG)", (int)(len > 64 ? 64 : len), text);
		return -1;
	}
	if (kinds[out->kind].has_arg && colon == NULL) {
		snprintf(why, whylen, "segment %s needs its %s: %s:%s", kinds[out->kind].name,
		    out->kind == SEG_TAG ? "tag" : "code", kinds[out->kind].name,
		    out->kind == SEG_TAG ? "TAG" : "CODE");
		return -1;
	}
	if (!kinds[out->kind].has_arg && colon != NULL) {
		snprintf(why, whylen, "segment %s takes nothing after it", kinds[out->kind].name);
		return -1;
	}
	if (colon != NULL) {
		if (!seg_arg_valid(colon + 1)) {
			snprintf(why, whylen, "segment %s: '%.*s' is not 1-%d letters, digits, '-' "
			    "or '_'", kinds[out->kind].name, 64, colon + 1, SEG_ARG_MAX);
			return -1;
		}
		snprintf(out->arg, sizeof(out->arg), "%s", colon + 1);
	}
	return 0;
}

void
seg_format(const struct segment *sg, char *out, size_t outlen)
{
	if (sg->arg[0] != '\0')
		snprintf(out, outlen, "%s:%s", seg_kind_name(sg->kind), sg->arg);
	else
		snprintf(out, outlen, "%s", seg_kind_name(sg->kind));
}
