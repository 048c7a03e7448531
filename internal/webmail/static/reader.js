// The reading pane: one message, its conversation across folders, and the
// actions on it. Message HTML goes only into the sandboxed viewer frame
// (/view/{id}, sanitized on the server under a strict CSP); everything
// else a message says is set as text, never as markup.
import { el, formatAddrs } from './dom.js';

const $ = (id) => document.getElementById(id);
const READ_PROPS = ['threadId', 'mailboxIds', 'keywords', 'from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'sentAt', 'receivedAt',
  'messageId', 'references', 'textBody', 'htmlBody', 'attachments', 'bodyValues'];

export class Reader {
  constructor(app) {
    this.app = app;
    this.email = null;
    this.text = '';
    $('back-btn').addEventListener('click', () => this.close());
    $('reply-btn').addEventListener('click', () => this.reply(false));
    $('replyall-btn').addEventListener('click', () => this.reply(true));
    $('forward-btn').addEventListener('click', () => this.forward());
    $('edit-btn').addEventListener('click', () => this.editDraft());
    $('delete-btn').addEventListener('click', () => this.remove());
    $('unread-btn').addEventListener('click', () => this.toggleSeen());
    $('flag-btn').addEventListener('click', () => this.toggleFlag());
    $('images-btn').addEventListener('click', () => this.showImages());
    $('move-select').addEventListener('change', (ev) => {
      if (this.email && ev.target.value) this.app.moveEmail(this.email.id, ev.target.value);
      ev.target.value = '';
    });
  }

  fillMoveMenu() {
    const sel = $('move-select');
    sel.replaceChildren(el('option', { value: '' }, 'Choose folder…'));
    for (const [m, depth] of this.app.tree()) {
      sel.append(el('option', { value: m.id }, '\u00a0\u00a0'.repeat(depth) + m.name));
    }
  }

  async open(id) {
    const r = await this.app.jmap.request([
      ['Email/get', { ids: [id], properties: READ_PROPS, fetchTextBodyValues: true, maxBodyValueBytes: 1 << 20 }, 'e'],
      ['Thread/get', { '#ids': { resultOf: 'e', name: 'Email/get', path: '/list/*/threadId' } }, 't'],
      ['Email/get', { '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds' },
        properties: ['mailboxIds', 'from', 'subject', 'receivedAt', 'keywords'] }, 'th'],
    ]);
    const e = r.e.list[0];
    if (!e) return;
    this.email = e;
    this.render(e, r.th.list);
    if (!e.keywords.$seen) {
      e.keywords.$seen = true;
      await this.app.setEmail({ [e.id]: { 'keywords/$seen': true } });
    }
  }

  render(e, thread) {
    document.body.classList.add('reading');
    $('reader').hidden = false;
    $('r-subject').textContent = e.subject || '(no subject)';
    const dl = $('r-headers');
    dl.replaceChildren();
    const row = (k, v) => { if (v) dl.append(el('dt', {}, k), el('dd', {}, v)); };
    row('From', formatAddrs(e.from));
    row('To', formatAddrs(e.to));
    row('Cc', formatAddrs(e.cc));
    row('Date', new Date(e.sentAt || e.receivedAt).toLocaleString());
    row('Folder', this.app.mailboxName(Object.keys(e.mailboxIds)[0]));
    $('edit-btn').hidden = !e.keywords.$draft;
    $('flag-btn').setAttribute('aria-pressed', String(!!e.keywords.$flagged));
    $('flag-btn').textContent = e.keywords.$flagged ? 'Unflag' : 'Flag';
    this.text = (e.textBody || []).map((p) => (e.bodyValues[p.partId] || {}).value || '').join('\n');
    const html = (e.htmlBody || []).some((p) => p.type === 'text/html');
    const frame = $('r-html');
    $('r-images').hidden = true;
    if (html) {
      $('r-text').hidden = true;
      frame.hidden = false;
      this.loadFrame(e.id, false);
    } else {
      frame.hidden = true;
      frame.removeAttribute('src');
      $('r-text').hidden = false;
      $('r-text').textContent = this.text;
    }
    this.renderAttachments(e);
    this.renderThread(e, thread);
    $('reader').focus();
  }

  async loadFrame(id, images) {
    const frame = $('r-html');
    const url = `/view/${encodeURIComponent(id)}` + (images ? '?images=1' : '');
    if (!images) {
      // Ask first whether the message has remote images to offer.
      const head = await fetch(url, { method: 'HEAD', credentials: 'same-origin' });
      // Another message may have been opened meanwhile.
      if (!this.email || this.email.id !== id) return;
      $('r-images').hidden = head.headers.get('X-Remote-Images') !== '1';
    }
    frame.src = url;
  }

  showImages() {
    if (!this.email) return;
    $('r-images').hidden = true;
    this.loadFrame(this.email.id, true);
  }

  renderAttachments(e) {
    const ul = $('r-attachments');
    ul.replaceChildren();
    for (const a of e.attachments || []) {
      const name = a.name || 'attachment';
      ul.append(el('li', {}, el('a', {
        href: this.app.jmap.downloadUrl(a.blobId, name, a.type), download: name, rel: 'noopener',
      }, `📎 ${name} (${Math.ceil((a.size || 0) / 1024)} KB)`)));
    }
  }

  // renderThread lists the conversation, across folders.
  renderThread(e, thread) {
    const ol = $('thread-list');
    ol.replaceChildren();
    $('r-thread').hidden = thread.length < 2;
    for (const t of thread) {
      const where = this.app.mailboxName(Object.keys(t.mailboxIds)[0]);
      const b = el('button', { class: 'thread-item' + (t.id === e.id ? ' current' : ''), onclick: () => this.open(t.id) },
        `${formatAddrs(t.from)} — ${t.subject || '(no subject)'} — ${new Date(t.receivedAt).toLocaleDateString()} (${where})`);
      ol.append(el('li', {}, b));
    }
  }

  close() {
    this.email = null;
    document.body.classList.remove('reading');
    $('reader').hidden = true;
    $('r-html').removeAttribute('src');
  }

  // --- actions ---

  reply(all) {
    const e = this.email;
    if (!e) return;
    const me = this.app.jmap.session.username.toLowerCase();
    let to = e.replyTo && e.replyTo.length ? e.replyTo : e.from || [];
    let cc = [];
    if (all) {
      const others = [...(e.to || []), ...(e.cc || [])];
      cc = others.filter((a) => a.email.toLowerCase() !== me && !to.some((t) => t.email.toLowerCase() === a.email.toLowerCase()));
    }
    to = to.filter((a) => a.email.toLowerCase() !== me || all === false);
    const subject = /^re:/i.test(e.subject || '') ? e.subject : `Re: ${e.subject || ''}`;
    const when = new Date(e.sentAt || e.receivedAt).toLocaleString();
    const quoted = this.text.split('\n').map((l) => '> ' + l).join('\n');
    this.app.composer.open({
      to, cc, subject,
      body: `\n\nOn ${when}, ${formatAddrs(e.from)} wrote:\n${quoted}\n`,
      inReplyTo: e.messageId, references: [...(e.references || []), ...(e.messageId || [])],
      answered: e.id,
    });
  }

  // editDraft reopens a draft in the composer; saving or sending it
  // replaces the draft.
  editDraft() {
    const e = this.email;
    if (!e || !e.keywords.$draft) return;
    this.app.composer.open({
      to: e.to, cc: e.cc, bcc: e.bcc, subject: e.subject, body: this.text, draftId: e.id,
      inReplyTo: null, references: e.references,
      attachments: (e.attachments || []).map((a) => ({ blobId: a.blobId, type: a.type, name: a.name || 'attachment', size: a.size })),
    });
  }

  forward() {
    const e = this.email;
    if (!e) return;
    const subject = /^fwd?:/i.test(e.subject || '') ? e.subject : `Fwd: ${e.subject || ''}`;
    const head = `\n\n---------- Forwarded message ----------\nFrom: ${formatAddrs(e.from)}\nDate: ${new Date(e.sentAt || e.receivedAt).toLocaleString()}\nSubject: ${e.subject || ''}\nTo: ${formatAddrs(e.to)}\n\n`;
    this.app.composer.open({
      subject, body: head + this.text,
      attachments: (e.attachments || []).map((a) => ({ blobId: a.blobId, type: a.type, name: a.name || 'attachment', size: a.size })),
    });
  }

  // remove moves the message to the Trash, or destroys it there.
  async remove() {
    const e = this.email;
    if (!e) return;
    const trash = this.app.byRole.trash;
    this.close();
    if (!trash || e.mailboxIds[trash.id]) {
      this.app.status('Deleted');
      return this.app.setEmail(null, [e.id]);
    }
    return this.app.moveEmail(e.id, trash.id);
  }

  async toggleSeen() {
    const e = this.email;
    if (!e) return;
    const seen = !e.keywords.$seen;
    e.keywords.$seen = seen;
    await this.app.setEmail({ [e.id]: { 'keywords/$seen': seen || null } });
    this.app.status(seen ? 'Marked read' : 'Marked unread');
  }

  async toggleFlag() {
    const e = this.email;
    if (!e) return;
    const flagged = !e.keywords.$flagged;
    e.keywords.$flagged = flagged;
    $('flag-btn').setAttribute('aria-pressed', String(flagged));
    $('flag-btn').textContent = flagged ? 'Unflag' : 'Flag';
    await this.app.setEmail({ [e.id]: { 'keywords/$flagged': flagged || null } });
  }
}
