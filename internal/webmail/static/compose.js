// The composer: new messages, replies and forwards, drafts, attachments.
// A message is created as a draft (Email/set) and sent with
// EmailSubmission/set, whose onSuccessUpdateEmail files it under Sent.
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);

// An address as the JMAP server accepts it: local@domain without spaces
// or the characters that delimit addresses.
const ADDR = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;

// parseAddresses reads "Name <a@b>, c@d" into EmailAddress objects; it
// returns the first bad entry as error.
export function parseAddresses(text) {
  const out = [];
  const parts = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if ((ch === ',' || ch === ';') && !quoted) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    const m = p.match(/^(.*)<([^<>]*)>$/);
    const email = (m ? m[2] : p).trim();
    const name = m ? m[1].trim().replace(/^"(.*)"$/, '$1') : '';
    if (!ADDR.test(email)) return { error: p };
    out.push(name ? { name, email } : { email });
  }
  return { list: out };
}

function addrText(list) {
  return (list || []).map((a) => (a.name ? `"${a.name.replace(/"/g, '')}" <${a.email}>` : a.email)).join(', ');
}

export class Composer {
  constructor(app) {
    this.app = app;
    this.ctx = {};
    this.files = [];
    this.draftId = null;
    this.identity = null;
    $('compose-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.send(); });
    $('c-save').addEventListener('click', () => this.save());
    $('c-discard').addEventListener('click', () => this.close());
    $('c-files').addEventListener('change', (ev) => this.attach(ev.target.files));
    $('composer').addEventListener('close', () => this.app.focusList());
  }

  // open shows the composer, filled from ctx: to, cc, bcc, subject, body,
  // inReplyTo, references, attachments, answered (the id replied to),
  // draftId (a draft this replaces).
  open(ctx) {
    this.ctx = ctx;
    this.draftId = ctx.draftId || null;
    this.files = [...(ctx.attachments || [])];
    $('c-title').textContent = ctx.subject ? ctx.subject : 'New message';
    $('c-to').value = addrText(ctx.to);
    $('c-cc').value = addrText(ctx.cc);
    $('c-bcc').value = addrText(ctx.bcc);
    $('c-subject').value = ctx.subject || '';
    $('c-body').value = ctx.body || '';
    $('c-error').textContent = '';
    this.renderFiles();
    const d = $('composer');
    if (!d.open) d.showModal();
    (ctx.to && ctx.to.length ? $('c-body') : $('c-to')).focus();
    if (ctx.to && ctx.to.length) $('c-body').setSelectionRange(0, 0);
  }

  close() {
    const d = $('composer');
    if (d.open) d.close();
  }

  renderFiles() {
    const ul = $('c-attached');
    ul.replaceChildren();
    this.files.forEach((f, i) => {
      ul.append(el('li', {}, `${f.name} (${Math.ceil((f.size || 0) / 1024)} KB) `,
        el('button', { type: 'button', 'aria-label': `Remove ${f.name}`, onclick: () => { this.files.splice(i, 1); this.renderFiles(); } }, '✕')));
    });
  }

  async attach(fileList) {
    for (const f of fileList) {
      try {
        const up = await this.app.jmap.upload(f);
        this.files.push({ blobId: up.blobId, type: up.type, name: f.name, size: up.size });
      } catch (e) {
        $('c-error').textContent = `Could not attach ${f.name}: ${e.message}`;
      }
    }
    $('c-files').value = '';
    this.renderFiles();
  }

  // email builds the Email object to create, or returns an error text.
  email(needRecipients) {
    const fields = {};
    for (const [k, id] of [['to', 'c-to'], ['cc', 'c-cc'], ['bcc', 'c-bcc']]) {
      const r = parseAddresses($(id).value);
      if (r.error) return { error: `Not an address: ${r.error}` };
      if (r.list.length) fields[k] = r.list;
    }
    if (needRecipients && !fields.to && !fields.cc && !fields.bcc) return { error: 'Add at least one recipient.' };
    const drafts = this.app.byRole.drafts;
    const email = {
      mailboxIds: { [drafts.id]: true },
      keywords: { $draft: true, $seen: true },
      from: [{ email: this.app.jmap.session.username }],
      subject: $('c-subject').value,
      textBody: [{ partId: 'body', type: 'text/plain' }],
      bodyValues: { body: { value: $('c-body').value } },
      ...fields,
    };
    if (this.ctx.inReplyTo) email.inReplyTo = this.ctx.inReplyTo;
    if (this.ctx.references && this.ctx.references.length) email.references = this.ctx.references;
    if (this.files.length) email.attachments = this.files.map((f) => ({ blobId: f.blobId, type: f.type, name: f.name, disposition: 'attachment' }));
    return { email };
  }

  async save() {
    const { email, error } = this.email(false);
    if (error) { $('c-error').textContent = error; return; }
    const args = { create: { draft: email } };
    if (this.draftId) args.destroy = [this.draftId];
    const r = await this.app.jmap.request([['Email/set', args, 'd']]);
    const made = r.d.created && r.d.created.draft;
    if (!made) { $('c-error').textContent = 'Could not save: ' + JSON.stringify(r.d.notCreated); return; }
    this.draftId = made.id;
    this.app.status('Draft saved');
    this.app.refresh();
  }

  async send() {
    const { email, error } = this.email(true);
    if (error) { $('c-error').textContent = error; return; }
    if (!this.identity) {
      const r = await this.app.jmap.request([['Identity/get', { ids: null }, 'i']]);
      this.identity = r.i.list[0].id;
    }
    const drafts = this.app.byRole.drafts.id;
    const sent = this.app.byRole.sent.id;
    const set = { create: { draft: email } };
    if (this.draftId) set.destroy = [this.draftId];
    const calls = [
      ['Email/set', set, 'd'],
      ['EmailSubmission/set', {
        create: { send: { identityId: this.identity, emailId: '#draft' } },
        onSuccessUpdateEmail: { '#send': { [`mailboxIds/${drafts}`]: null, [`mailboxIds/${sent}`]: true, 'keywords/$draft': null } },
      }, 's'],
    ];
    if (this.ctx.answered) calls.push(['Email/set', { update: { [this.ctx.answered]: { 'keywords/$answered': true } } }, 'a']);
    const r = await this.app.jmap.request(calls, ['s', 'a']);
    const sub = r.s;
    if (!r.d.created || !r.d.created.draft) { $('c-error').textContent = 'Could not send: ' + JSON.stringify(r.d.notCreated); return; }
    if (!sub.created || !sub.created.send) {
      const why = sub.notCreated ? Object.values(sub.notCreated)[0] : sub;
      $('c-error').textContent = `Not sent (${why.type}${why.description ? ': ' + why.description : ''}). It was saved in Drafts.`;
      this.draftId = r.d.created.draft.id;
      return;
    }
    this.close();
    this.app.status('Message sent');
    this.app.refresh();
  }
}
