// A small JMAP client (RFC 8620, RFC 8621) for the web UI. It talks to the
// server with the session cookie; every state-changing request carries the
// CSRF token from the posthorn_csrf cookie in X-CSRF-Token.

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];

export class AuthError extends Error {}

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'posthorn_csrf') return decodeURIComponent(v || '');
  }
  return '';
}

export class Client {
  constructor() {
    this.session = null;
    this.accountId = '';
    // Called when the server no longer knows the session (logged out
    // elsewhere, expired, or the server restarted).
    this.onAuthLost = () => {};
  }

  // connect loads the session resource; it throws AuthError when the user
  // is not logged in.
  async connect() {
    const r = await fetch('/.well-known/jmap', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) throw new AuthError('not logged in');
    if (!r.ok) throw new Error(`session: HTTP ${r.status}`);
    this.session = await r.json();
    this.accountId = this.session.primaryAccounts['urn:ietf:params:jmap:mail'];
    return this.session;
  }

  // request sends method calls ([name, args, id] triples; accountId is
  // filled in) and returns the responses by call id. A method error
  // throws unless the call id is listed in allowErrors.
  async request(calls, allowErrors = []) {
    const body = {
      using: USING,
      methodCalls: calls.map(([name, args, id]) => [name, { accountId: this.accountId, ...args }, id]),
    };
    const r = await fetch(this.session.apiUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
      body: JSON.stringify(body),
    });
    if (r.status === 401) { this.onAuthLost(); throw new AuthError('session expired'); }
    if (!r.ok) throw new Error(`API: HTTP ${r.status}`);
    const out = await r.json();
    const byId = {};
    for (const [name, args, id] of out.methodResponses) {
      if (name === 'error' && !allowErrors.includes(id)) {
        throw new Error(`${id}: ${args.type}${args.description ? ': ' + args.description : ''}`);
      }
      if (!byId[id]) byId[id] = [];
      byId[id].push({ name, args });
    }
    const result = {};
    for (const id of Object.keys(byId)) result[id] = byId[id][0].args;
    result.all = byId;
    return result;
  }

  async upload(file) {
    const url = this.session.uploadUrl.replace('{accountId}', encodeURIComponent(this.accountId));
    const r = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': file.type || 'application/octet-stream', 'X-CSRF-Token': csrfToken() },
      body: file,
    });
    if (!r.ok) throw new Error(`upload: HTTP ${r.status}`);
    return r.json();
  }

  downloadUrl(blobId, name, type) {
    return this.session.downloadUrl
      .replace('{accountId}', encodeURIComponent(this.accountId))
      .replace('{blobId}', encodeURIComponent(blobId))
      .replace('{name}', encodeURIComponent(name || 'download'))
      .replace('{type}', encodeURIComponent(type || 'application/octet-stream'));
  }

  // watch opens the event source and calls onChange with the changed
  // states of the account.
  watch(onChange) {
    const url = this.session.eventSourceUrl
      .replace('{types}', '*').replace('{closeafter}', 'no').replace('{ping}', '60');
    const es = new EventSource(url, { withCredentials: true });
    es.addEventListener('error', async () => {
      // The browser reconnects by itself, unless the session is gone.
      const r = await fetch('/.well-known/jmap', { credentials: 'same-origin', cache: 'no-store' }).catch(() => null);
      if (r && r.status === 401) { es.close(); this.onAuthLost(); }
    });
    es.addEventListener('state', (ev) => {
      const data = JSON.parse(ev.data);
      const changed = data.changed && data.changed[this.accountId];
      if (changed) onChange(changed);
    });
    return es;
  }

  async logout() {
    await fetch('/jmap/logout', {
      method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken() },
    });
  }
}
