// What a new release changed for the officer's role: the list under the update banner, and the
// critical changes the officer must confirm having re-read. The service worker keeps the changes
// still to re-read with each saved pack; this phone keeps which of them were confirmed.

const banner = document.getElementById('update');
const prompt = document.getElementById('reread');
const { lang } = document.body.dataset;
// Pages outside a role (home, glossary) ask on behalf of the role last opened on this phone.
const role = document.body.dataset.role || localStorage.getItem('frontline:role');
const readKey = `frontline:reread:${lang}/${role}`;
const RANK = { changed: 1, added: 2, removed: 3 };

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? '');
const rank = (change) => (change.critical ? 0 : RANK[change.kind]);

// Item id -> the latest release whose critical change to it the officer confirmed having read.
function confirmed() {
  try {
    return JSON.parse(localStorage.getItem(readKey) || '{}');
  } catch (error) {
    return {};
  }
}

function confirm(id, version) {
  const read = confirmed();
  read[id] = Math.max(read[id] || 0, version);
  localStorage.setItem(readKey, JSON.stringify(read));
}

function link(url, title) {
  if (!url) return document.createTextNode(title);
  const a = document.createElement('a');
  a.href = url;
  a.textContent = title;
  return a;
}

function changeRow(change) {
  const row = document.createElement('li');
  row.className = change.critical ? 'change critical' : 'change';
  const kind = document.createElement('b');
  kind.textContent = banner.dataset[change.critical ? 'critical' : change.kind];
  row.append(kind, ' ', link(change.url, change.title));
  return row;
}

function listChanges(data) {
  const details = data.details || {};
  const own = details[`${lang}/${role}`] ?? Object.entries(details)
    .filter(([key]) => key.startsWith(`${lang}/`))
    .flatMap(([, changes]) => changes);
  const list = banner.querySelector('ul.changes');
  list.replaceChildren(...[...own].sort((a, b) => rank(a) - rank(b)).map(changeRow));
  list.hidden = own.length === 0;
  const notes = banner.querySelector('.release-notes');
  notes.textContent = fill(banner.dataset.notes, { notes: data.notes || '' });
  notes.hidden = !data.notes;
}

function pendingRow(entry) {
  const row = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = prompt.dataset.read;
  button.setAttribute('aria-label', fill(prompt.dataset.readLabel, { title: entry.title }));
  button.addEventListener('click', () => {
    confirm(entry.id, entry.version);
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (next) {
      next.querySelector('button').focus();
    } else {
      prompt.hidden = true;
      document.getElementById('main').focus();
    }
  });
  row.append(link(entry.url, entry.title), button);
  return row;
}

function showPending(state) {
  const pack = state.packs?.[`${lang}/${role}`];
  const read = confirmed();
  const pending = (pack?.pending || []).filter((entry) => (read[entry.id] || 0) < entry.version);
  prompt.querySelector('ul').replaceChildren(...pending.map(pendingRow));
  prompt.hidden = pending.length === 0;
}

if ('serviceWorker' in navigator && role) {
  navigator.serviceWorker.addEventListener('message', ({ data }) => {
    if (data.type === 'state') showPending(data);
    else if (data.type === 'updated') listChanges(data);
  });
}
