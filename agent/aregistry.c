/*
 * aregistry.c: the household checks its own registry entry in the
 * exchange's log (see agentd_int.h, docs/agent.md "Registry entry").
 *
 * The exchange judges every order and reading of this household by its
 * latest REGISTRY entry in the log (key, id, name, meter serial, zone,
 * capacities, revoked; docs/audit.md).  After each new checkpoint the agent
 * asks for that entry (QUERY REGISTRY, kind 7, at the checkpoint's tree
 * size); when it is new or changed, it checks that the entry is signed by
 * the pinned exchange key (xlink), names this household's key, and states
 * the meter serial and capacities this agent is configured with, then asks
 * for its inclusion proof (QUERY REGISTRY_PROOF, kind 8) and verifies it
 * against the checkpoint it holds, from the exact bytes it received.  A
 * difference, a revoked entry or a failed proof is a problem
 * (registry_mismatch) and a loud log line.  Called by aexch.c (queries and
 * answers), astatus.c (the problem) and adash.c (/api/state).
 */
#include <stdio.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "peerwatt/fmt.h"
#include "peerwatt/merkle.h"

int
aregistry_next_query(struct agentd *a, const struct pw_checkpoint *cp, uint8_t *kind, uint64_t *qa,
                     uint64_t *qb)
{
	struct aregistry *r = &a->reg;

	if (cp->tree_size > r->asked_size) {
		*kind = PW_QUERY_REGISTRY;
		*qa = 0;
		*qb = cp->tree_size;
		return 1;
	}
	if (r->have && r->want_proof) {
		*kind = PW_QUERY_REGISTRY_PROOF;
		*qa = 0;
		*qb = r->asked_size;
		return 1;
	}
	return 0;
}

/* What differs between the entry and this agent's configuration. */
static void
compare(struct agentd *a)
{
	struct aregistry *r = &a->reg;
	char serial[PW_SERIAL_LEN + 1];
	const char *mine = a->cfg.serial[0] != '\0' ? a->cfg.serial : a->dev_serial;
	size_t n = 0;

	r->mismatch[0] = '\0';
	pw_wire_text(serial, sizeof(serial), r->e.serial, PW_SERIAL_LEN);
	if (mine[0] != '\0' && strcmp(mine, serial) != 0)
		n += (size_t)snprintf(
		    r->mismatch + n, sizeof(r->mismatch) - n,
		    "meter serial \"%s\" in the log, \"%s\" here (%s)", serial, mine,
		    a->cfg.serial[0] != '\0' ? "[household] serial" : "read from the meter");
	char zone[PW_TOKEN_LEN + 1];
	pw_wire_text(zone, sizeof(zone), r->e.zone, PW_TOKEN_LEN);
	if (a->cfg.zone[0] != '\0' && strcmp(a->cfg.zone, zone) != 0 && n < sizeof(r->mismatch))
		n += (size_t)snprintf(r->mismatch + n, sizeof(r->mismatch) - n,
		                      "%szone %s in the log, %s here ([household] zone)",
		                      n ? "; " : "", zone, a->cfg.zone);
	if (a->cfg.max_export_w > 0 && (int64_t)r->e.max_export_w != a->cfg.max_export_w &&
	    n < sizeof(r->mismatch))
		n += (size_t)snprintf(r->mismatch + n, sizeof(r->mismatch) - n,
		                      "%sexport capacity %u W in the log, %lld W here",
		                      n ? "; " : "", r->e.max_export_w,
		                      (long long)a->cfg.max_export_w);
	if (a->cfg.max_import_w > 0 && (int64_t)r->e.max_import_w != a->cfg.max_import_w &&
	    n < sizeof(r->mismatch))
		(void)snprintf(r->mismatch + n, sizeof(r->mismatch) - n,
		               "%simport capacity %u W in the log, %lld W here", n ? "; " : "",
		               r->e.max_import_w, (long long)a->cfg.max_import_w);
}

void
aregistry_on_entry(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	struct aregistry *r = &a->reg;
	char id[PW_TOKEN_LEN + 1], name[PW_TOKEN_LEN + 1], zone[PW_TOKEN_LEN + 1];

	if (!a->q.active || a->q.kind != PW_QUERY_REGISTRY)
		return; /* not asked for */
	a->q.active = 0;
	r->asked_size = a->q.b;
	r->unregistered = 0;
	if (memcmp(m->u.registry.household, a->kp.pk, PW_PK_LEN) != 0) {
		log_error("REGISTRY MISMATCH: the exchange answered with the registry entry of"
		          " another key: ignored");
		return;
	}
	if (len > sizeof(r->frame))
		return;
	if (r->have && len == r->len && memcmp(frame, r->frame, len) == 0) {
		compare(a); /* the device's serial may be known by now */
		return;     /* unchanged: proven (or being proven) already */
	}
	memcpy(r->frame, frame, len);
	r->len = len;
	r->e = m->u.registry;
	r->have = 1;
	r->want_proof = 1;
	r->proven_size = 0;
	r->proof_failed = 0;
	compare(a);
	pw_wire_text(id, sizeof(id), r->e.id, PW_TOKEN_LEN);
	pw_wire_text(name, sizeof(name), r->e.name, PW_TOKEN_LEN);
	pw_wire_text(zone, sizeof(zone), r->e.zone, PW_TOKEN_LEN);
	if (r->e.revoked)
		log_error("REGISTRY: this household (%s (%s)) is REVOKED in the exchange's log: the"
		          " exchange refuses its orders and readings",
		          name, id);
	else if (r->mismatch[0] != '\0')
		log_error("REGISTRY MISMATCH: the exchange's log registers this household as %s"
		          " (%s) with %s",
		          name, id, r->mismatch);
	else
		log_info("registry: registered as %s (%s) in zone %s, export %u W, import %u W",
		         name, id, zone, r->e.max_export_w, r->e.max_import_w);
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_STATE);
}

void
aregistry_on_proof(struct agentd *a, const struct pw_proof *p)
{
	struct aregistry *r = &a->reg;
	uint8_t root[PW_HASH_LEN], leaf[PW_HASH_LEN];

	if (!r->have || p->kind != PW_PROOF_INCLUSION || p->a >= p->b)
		return;
	r->want_proof = 0;
	if (aledger_root(a->led, p->b, root) != PW_OK)
		return;
	/* the exact bytes we hold, not the exchange's word for them */
	merkle_leaf_hash(r->frame, r->len, leaf);
	if (merkle_verify_inclusion(p->a, p->b, leaf, (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
	                            p->n_hashes, root) == PW_OK) {
		a->proofs_ok++;
		r->index = p->a;
		r->proven_size = p->b;
		r->proof_failed = 0;
		log_debug("inclusion of our registry entry at %llu verified",
		          (unsigned long long)p->a);
	} else {
		a->proofs_failed++;
		r->proof_failed = 1;
		r->index = p->a;
		log_error("INCLUSION PROOF FAILED: our registry entry at log index %llu is not in"
		          " the checkpointed tree of size %llu",
		          (unsigned long long)p->a, (unsigned long long)p->b);
	}
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_STATE);
}

void
aregistry_refused(struct agentd *a, uint8_t kind, uint64_t b, uint16_t reason)
{
	struct aregistry *r = &a->reg;

	if (kind == PW_QUERY_REGISTRY) {
		r->asked_size = b; /* asked again at the next checkpoint */
		r->unregistered = reason == PW_REASON_BAD_QUERY;
	} else {
		r->want_proof = 0;
		r->proof_failed = 1;
		log_error("REGISTRY: the exchange refused the inclusion proof of our registry"
		          " entry: %s",
		          pw_reason_name(reason));
	}
}

void
aregistry_problems(struct agentd *a, unsigned *active)
{
	const struct aregistry *r = &a->reg;
	char *msg = a->st_msg[ASTATUS_REGISTRY_MISMATCH],
	     *act = a->st_action[ASTATUS_REGISTRY_MISMATCH];
	size_t cap = sizeof(a->st_msg[0]);

	if (!r->have)
		return;
	if (r->e.revoked)
		snprintf(msg, cap,
		         "The exchange's log says this household is revoked (removed from the"
		         " registry): its bids, offers and readings are refused.");
	else if (r->proof_failed)
		snprintf(
		    msg, cap,
		    "The exchange's registry entry for this household could not be proven to be"
		    " in its log (the inclusion proof against the checkpoint failed).");
	else if (r->mismatch[0] != '\0')
		snprintf(msg, cap,
		         "The exchange's log registers this household with other values than this"
		         " agent's configuration: %s.",
		         r->mismatch);
	else
		return;
	*active |= 1u << ASTATUS_REGISTRY_MISMATCH;
	snprintf(act, sizeof(a->st_action[0]),
	         "Compare %s with the operator's registry and ask the operator to correct the"
	         " entry (or correct this configuration); keep this agent's database as"
	         " evidence for an audit.",
	         a->cfg.path);
}

json_t *
aregistry_json(const struct agentd *a)
{
	const struct aregistry *r = &a->reg;
	char id[PW_TOKEN_LEN + 1], name[PW_TOKEN_LEN + 1], zone[PW_TOKEN_LEN + 1];
	char serial[PW_SERIAL_LEN + 1], line[512], exp_w[PW_FMT_LEN], imp_w[PW_FMT_LEN];

	if (!r->have)
		return json_null();
	pw_wire_text(id, sizeof(id), r->e.id, PW_TOKEN_LEN);
	pw_wire_text(name, sizeof(name), r->e.name, PW_TOKEN_LEN);
	pw_wire_text(zone, sizeof(zone), r->e.zone, PW_TOKEN_LEN);
	pw_wire_text(serial, sizeof(serial), r->e.serial, PW_SERIAL_LEN);
	pw_fmt_power(r->e.max_export_w, exp_w, sizeof(exp_w));
	pw_fmt_power(r->e.max_import_w, imp_w, sizeof(imp_w));
	if (r->proven_size > 0)
		snprintf(line, sizeof(line),
		         "Registered as %s (%s) in zone %s, meter %s, export up to %s, import up "
		         "to %s%s;"
		         " in the log at index %llu, proven",
		         name, id, zone, serial, exp_w, imp_w, r->e.revoked ? ", REVOKED" : "",
		         (unsigned long long)r->index);
	else
		snprintf(line, sizeof(line),
		         "Registered as %s (%s) in zone %s, meter %s, export up to %s, import up "
		         "to %s%s;"
		         " %s",
		         name, id, zone, serial, exp_w, imp_w, r->e.revoked ? ", REVOKED" : "",
		         r->proof_failed ? "its inclusion in the log could NOT be proven"
		                         : "inclusion in the log not proven yet");
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:o, s:b, s:o, s:o, s:s}", "id", id, "name", name,
	    "zone", zone, "serial", serial, "max_export_w", (json_int_t)r->e.max_export_w,
	    "max_import_w", (json_int_t)r->e.max_import_w, "revoked", r->e.revoked != 0,
	    "log_index",
	    r->proven_size > 0 || r->proof_failed ? json_integer((json_int_t)r->index)
	                                          : json_null(),
	    "proven", r->proven_size > 0, "tree_size",
	    r->proven_size > 0 ? json_integer((json_int_t)r->proven_size) : json_null(), "mismatch",
	    r->mismatch[0] ? json_string(r->mismatch) : json_null(), "text", line);
}
