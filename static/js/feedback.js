// Flagging: a "Flag" link opens a short form; the report goes to the outbox on the phone first,
// then to the server whenever there is a signal. Also keeps the outbox badge up to date.

const outbox = self.FrontlineOutbox;
const dialog = document.getElementById('flag-dialog');
const badge = document.getElementById('outbox-count');
const { lang, role } = document.body.dataset;
let editing = null;

async function showCount() {
  const open = (await outbox.all()).filter((entry) => entry.state !== 'delivered').length;
  badge.textContent = String(open);
  badge.hidden = open === 0;
}

function openDialog(report, about) {
  const form = dialog.querySelector('form');
  form.reset();
  for (const name of ['comment', 'post', 'contact']) form.elements[name].value = report[name] || '';
  for (const radio of form.querySelectorAll('input[name=kind]')) radio.checked = radio.value === report.kind;
  dialog.querySelector('#flag-about').textContent = about;
  editing = report;
  dialog.showModal();
}

// The outbox page asks for a refused report to be edited and sent again.
document.addEventListener('frontline:edit', (event) => openDialog(event.detail.report, event.detail.about));

async function submit() {
  const form = dialog.querySelector('form');
  const value = (name) => form.elements[name].value.trim();
  const report = {
    ...editing,
    kind: form.querySelector('input[name=kind]:checked').value,
    comment: value('comment'),
    post: value('post') || null,
    contact: value('contact') || null,
  };
  await outbox.add(report);
  dialog.close();
  await showCount();
  registerSync();
  outbox.drain(true);
}

async function registerSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    await registration?.sync?.register('outbox');
  } catch (error) {
    // Background Sync is not offered here: the pages drain the outbox themselves.
  }
}

function flagClicked(event) {
  const link = event.target.closest('a.flag');
  if (!link || !dialog) return;
  event.preventDefault();
  const list = document.querySelector('ol.checklist');
  const itemId = link.dataset.item || null;
  const release = document.querySelector('[data-release]');
  const about = itemId ? document.querySelector(`#${CSS.escape(itemId)} .action`).textContent.trim() : list.dataset.title;
  openDialog({
    id: crypto.randomUUID(),
    kind: '',
    role,
    practice: list.dataset.practice,
    item_id: itemId,
    release_version: Number(release.dataset.release),
    language: lang,
    created_at: new Date().toISOString(),
  }, about);
}

if (dialog) {
  dialog.querySelector('form').addEventListener('submit', (event) => {
    if (event.submitter && event.submitter.value !== 'send') return;
    event.preventDefault();
    submit();
  });
  dialog.querySelector('button[value=cancel]').addEventListener('click', () => dialog.close());
}
document.addEventListener('click', flagClicked);
outbox.onChange(showCount);
window.addEventListener('online', () => outbox.drain(true));
setInterval(() => navigator.onLine && outbox.drain(false), 5000);
showCount();
if (navigator.onLine) outbox.drain(true);
