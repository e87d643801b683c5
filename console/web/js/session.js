// session.js: who is logged in and what the role may do. The server enforces all of
// this; the console only hides what would be refused.
export const session = { user: null, meta: null };

export function role() { return session.user ? session.user.role : null; }

// act: move referrals, approve/void rewards, decide held claims (admin, manager)
// admin: coupons upload, outbox retry, audit, accounts, 運用
export function can(what) {
  const r = role();
  if (what === 'act') return r === 'admin' || r === 'manager';
  if (what === 'admin') return r === 'admin';
  return false;
}

// A manager of exactly one branch has nothing to choose, so the branch selector hides.
export function showBranchSelector() {
  const u = session.user;
  if (!u) return false;
  if (u.role === 'manager' && (u.branches || []).length <= 1) return false;
  return (session.meta && session.meta.branches.length > 1) || u.role !== 'manager';
}

// A campaign's name from the config (its id when the config no longer has it).
export function campaignName(id) {
  const c = session.meta && session.meta.campaigns.find((x) => x.id === id);
  return c ? c.name : id;
}
