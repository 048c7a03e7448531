// Posthorn Mail: the web UI. Everything goes through the JMAP API
// (jmap.js); message HTML is shown only in the sandboxed viewer frame.
import { Client, AuthError } from './jmap.js';
import { Reader } from './reader.js';
import { Composer } from './compose.js';
import { el, formatAddrs } from './dom.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const LIST_PROPS = ['threadId', 'mailboxIds', 'keywords', 'from', 'to', 'subject', 'receivedAt', 'preview', 'hasAttachment'];

function shortDate(iso) {
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
}

class App {
  constructor() {
    this.jmap = new Client();
    this.mailboxes = [];      // Mailbox objects
    this.byRole = {};         // role -> Mailbox
    this.current = null;      // the mailbox shown, or null while searching
    this.search = '';
    this.position = 0;
    this.total = 0;
    this.emails = [];         // the page shown
    this.selected = -1;
    this.state = '';          // the Email state of the list shown
    this.reader = new Reader(this);
    this.composer = new Composer(this);
  }

  async start() {
    try {
      await this.jmap.connect();
    } catch (e) {
      if (e instanceof AuthError) return this.showLogin();
      throw e;
    }
    this.jmap.onAuthLost = () => location.assign('/');
    $('login').hidden = true;
    $('app').hidden = false;
    $('user').textContent = this.jmap.session.username;
    this.bind();
    await this.loadMailboxes();
    await this.openMailbox(this.byRole.inbox);
    this.jmap.watch((changed) => this.onPush(changed));
  }

  showLogin() {
    $('app').hidden = true;
    $('login').hidden = false;
    const why = new URLSearchParams(location.search).get('login');
    $('login-msg').textContent = {
      failed: 'Wrong address or password.',
      throttled: 'Too many failed attempts. Please wait a while.',
      insecure: 'Log in over HTTPS.',
    }[why] || '';
    $('login-user').focus();
  }

  status(msg) {
    $('status').textContent = msg;
    clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => { $('status').textContent = ''; }, 4000);
  }

  bind() {
    $('logout-btn').addEventListener('click', async () => { await this.jmap.logout(); location.href = '/'; });
    $('compose-btn').addEventListener('click', () => this.composer.open({}));
    $('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.runSearch($('search').value.trim()); });
    $('older').addEventListener('click', () => this.page(PAGE));
    $('newer').addEventListener('click', () => this.page(-PAGE));
    $('menu-btn').addEventListener('click', () => document.body.classList.toggle('show-folders'));
    document.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  // --- folders ---

  async loadMailboxes() {
    const seq = this.mailboxSeq = (this.mailboxSeq || 0) + 1;
    const r = await this.jmap.request([['Mailbox/get', {
      ids: null, properties: ['name', 'parentId', 'role', 'sortOrder', 'totalEmails', 'unreadEmails'],
    }, 'm']]);
    if (seq !== this.mailboxSeq) return;
    this.mailboxes = r.m.list;
    this.byRole = {};
    for (const m of this.mailboxes) if (m.role) this.byRole[m.role] = m;
    this.renderFolders();
    this.reader.fillMoveMenu();
  }

  // tree orders mailboxes depth first, each level by sortOrder then name.
  tree() {
    const kids = {};
    for (const m of this.mailboxes) (kids[m.parentId || ''] ||= []).push(m);
    const out = [];
    const walk = (pid, depth) => {
      (kids[pid] || []).sort((a, b) => a.sortOrder - b.sortOrder || a.name.localeCompare(b.name))
        .forEach((m) => { out.push([m, depth]); walk(m.id, depth + 1); });
    };
    walk('', 0);
    return out;
  }

  renderFolders() {
    const ul = $('folder-list');
    const old = [...ul.children];
    const list = this.tree();
    const same = old.length === list.length && list.every(([m], i) => old[i].dataset.id === m.id);
    const items = list.map(([m, depth], i) => {
      const sig = JSON.stringify([m.name, m.unreadEmails, depth, !!(this.current && this.current.id === m.id)]);
      // Keep unchanged entries: focus and a pointer on them stay put.
      if (same && old[i].dataset.sig === sig) return old[i];
      const li = el('li', {}, this.folderButton(m, depth));
      li.dataset.id = m.id;
      li.dataset.sig = sig;
      return li;
    });
    if (same) items.forEach((li, i) => { if (li !== old[i]) old[i].replaceWith(li); });
    else ul.replaceChildren(...items);
  }

  folderButton(m, depth) {
    const count = m.unreadEmails ? el('span', { class: 'count', 'aria-label': `${m.unreadEmails} unread` }, String(m.unreadEmails)) : null;
    const btn = el('button', { class: 'folder', 'data-id': m.id, onclick: () => this.openMailbox(m) },
      el('span', { class: 'name' }, m.name), count);
    btn.classList.add(`depth-${Math.min(depth, 4)}`);
    if (this.current && this.current.id === m.id) btn.setAttribute('aria-current', 'true');
    // Drop target: drag a message here to move it.
    btn.addEventListener('dragover', (ev) => { ev.preventDefault(); btn.classList.add('drop'); });
    btn.addEventListener('dragleave', () => btn.classList.remove('drop'));
    btn.addEventListener('drop', (ev) => {
      ev.preventDefault();
      btn.classList.remove('drop');
      const id = ev.dataTransfer.getData('text/x-posthorn-email');
      if (id) this.moveEmail(id, m.id);
    });
    return btn;
  }

  mailboxName(id) {
    const m = this.mailboxes.find((x) => x.id === id);
    return m ? m.name : '';
  }

  // --- the message list ---

  async openMailbox(m) {
    this.current = m;
    this.search = '';
    $('search').value = '';
    this.position = 0;
    this.selected = -1;
    document.body.classList.remove('show-folders');
    this.reader.close();
    await this.loadList();
    this.renderFolders();
  }

  async runSearch(q) {
    if (!q) return this.openMailbox(this.current || this.byRole.inbox);
    this.search = q;
    this.current = null;
    this.position = 0;
    this.selected = -1;
    this.reader.close();
    await this.loadList();
    this.renderFolders();
  }

  filter() {
    return this.search ? { text: this.search } : { inMailbox: this.current.id };
  }

  async loadList() {
    // Only the latest request may draw: an older one (a refresh of the
    // folder the user just left) must not overwrite it.
    const seq = this.listSeq = (this.listSeq || 0) + 1;
    const r = await this.jmap.request([
      ['Email/query', { filter: this.filter(), sort: [{ property: 'receivedAt', isAscending: false }],
        position: this.position, limit: PAGE, calculateTotal: true }, 'q'],
      ['Email/get', { '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPS }, 'g'],
    ]);
    if (seq !== this.listSeq) return;
    this.total = r.q.total;
    this.state = r.g.state;
    const byId = Object.fromEntries(r.g.list.map((e) => [e.id, e]));
    this.emails = r.q.ids.map((id) => byId[id]).filter(Boolean);
    this.selected = Math.min(this.selected, this.emails.length - 1);
    this.renderList();
  }

  page(delta) {
    const next = this.position + delta;
    if (next < 0 || next >= this.total) return;
    this.position = next;
    this.selected = -1;
    this.loadList();
  }

  renderList() {
    $('list-title').textContent = this.search ? `Search: ${this.search}` : this.current.name;
    const end = Math.min(this.position + this.emails.length, this.total);
    $('list-range').textContent = this.total ? `${this.position + 1}–${end} of ${this.total}` : 'No messages';
    $('newer').disabled = this.position === 0;
    $('older').disabled = end >= this.total;
    const ul = $('messages');
    const old = [...ul.children];
    const sameOrder = old.length === this.emails.length && this.emails.every((e, i) => old[i].dataset.id === e.id);
    const items = this.emails.map((e, i) => {
      const sig = JSON.stringify([e.keywords, e.subject, e.mailboxIds, i === this.selected]);
      // Keep rows that did not change, so focus and selection stay put.
      if (sameOrder && old[i].dataset.sig === sig) return old[i];
      const li = el('li', {}, this.row(e, i));
      li.dataset.id = e.id;
      li.dataset.sig = sig;
      return li;
    });
    if (sameOrder) {
      items.forEach((li, i) => { if (li !== old[i]) old[i].replaceWith(li); });
    } else {
      ul.replaceChildren(...items);
    }
  }

  row(e, i) {
    const unread = !e.keywords.$seen;
    const who = this.current && this.current.role === 'sent' ? formatAddrs(e.to) : formatAddrs(e.from);
    const where = this.search ? el('span', { class: 'where' }, this.mailboxName(Object.keys(e.mailboxIds)[0])) : null;
    const row = el('button', {
      class: 'row' + (unread ? ' unread' : '') + (i === this.selected ? ' selected' : ''),
      draggable: 'true', 'data-id': e.id, onclick: () => this.select(i, true),
    },
    el('span', { class: 'flag', 'aria-label': e.keywords.$flagged ? 'flagged' : '' }, e.keywords.$flagged ? '★' : ''),
    el('span', { class: 'from' }, who || '(nobody)'),
    el('span', { class: 'subject' }, e.subject || '(no subject)'),
    el('span', { class: 'preview' }, e.preview || ''),
    where,
    el('span', { class: 'date' }, e.hasAttachment ? '📎 ' : '', shortDate(e.receivedAt)));
    row.addEventListener('dragstart', (ev) => ev.dataTransfer.setData('text/x-posthorn-email', e.id));
    return row;
  }

  // focusList puts the keyboard focus back on the selected message, or on
  // the list, after a dialog closes.
  focusList() {
    const rows = $('messages').querySelectorAll('.row');
    (rows[this.selected] || $('messages')).focus();
  }

  select(i, open) {
    if (i < 0 || i >= this.emails.length) return;
    this.selected = i;
    const rows = $('messages').querySelectorAll('.row');
    rows.forEach((r, j) => r.classList.toggle('selected', j === i));
    rows[i].focus();
    if (open) this.reader.open(this.emails[i].id);
  }

  // --- changes ---

  // setEmail changes emails. Changes go to the server one after another,
  // in the order the user made them (a quick "mark unread" must not be
  // overtaken by the "mark read" of opening the message).
  setEmail(update, destroy) {
    const args = {};
    if (update) args.update = update;
    if (destroy) args.destroy = destroy;
    this.writes = (this.writes || Promise.resolve()).then(async () => {
      const r = await this.jmap.request([['Email/set', args, 's']]);
      const bad = { ...(r.s.notUpdated || {}), ...(r.s.notDestroyed || {}) };
      if (Object.keys(bad).length) this.status('Could not change: ' + Object.values(bad).map((e) => e.type).join(', '));
    }).catch((e) => this.status(`Error: ${e.message}`));
    return this.writes.then(() => this.refresh());
  }

  moveEmail(id, mailboxId) {
    this.status(`Moved to ${this.mailboxName(mailboxId)}`);
    if (this.reader.email && this.reader.email.id === id) this.reader.close();
    return this.setEmail({ [id]: { mailboxIds: { [mailboxId]: true } } });
  }

  async refresh() {
    await Promise.all([this.loadMailboxes(), this.loadList()]);
  }

  // onPush reloads what a state change may have changed: new mail appears
  // without a reload.
  onPush(changed) {
    if (changed.Email && changed.Email !== this.state) this.refresh();
    else if (changed.Mailbox) this.loadMailboxes();
  }

  // --- keyboard ---

  onKey(ev) {
    const t = ev.target;
    // Focus can linger in a dialog that just closed; keys there are ours.
    const dlg = t.closest('dialog');
    const typing = (t.closest('input, textarea, select') && !(dlg && !dlg.open)) || (dlg && dlg.open);
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) {
      if (ev.key === 'Escape' && t.id === 'search') { t.value = ''; t.blur(); }
      return;
    }
    const actions = {
      j: () => this.select(this.selected + 1, false),
      ArrowDown: () => this.select(this.selected + 1, false),
      k: () => this.select(this.selected - 1, false),
      ArrowUp: () => this.select(this.selected - 1, false),
      o: () => this.select(this.selected, true),
      '/': () => $('search').focus(),
      c: () => this.composer.open({}),
      r: () => this.reader.reply(false),
      a: () => this.reader.reply(true),
      f: () => this.reader.forward(),
      '#': () => this.reader.remove(),
      Delete: () => this.reader.remove(),
      u: () => this.reader.toggleSeen(),
      s: () => this.reader.toggleFlag(),
      Escape: () => this.reader.close(),
      n: () => this.page(PAGE),
      p: () => this.page(-PAGE),
    };
    const fn = actions[ev.key];
    if (fn) { ev.preventDefault(); fn(); }
  }
}

const app = new App();
app.start().catch((e) => { app.status(`Error: ${e.message}`); console.error(e); });
