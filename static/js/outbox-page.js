// The outbox page: every report on this phone and where it stands, with send, edit and discard.

const outbox = self.FrontlineOutbox;
const list = document.getElementById('outbox-list');
const empty = document.getElementById('outbox-empty');
const text = list.dataset;

function describe(entry) {
  if (entry.state === 'delivered') {
    return text.delivered.replace('{time}', new Date(entry.receivedAt).toLocaleString());
  }
  if (entry.state === 'refused') return text.refused.replace('{reason}', entry.reason);
  return entry.state === 'sending' ? text.sending : text.waiting;
}

function button(label, action) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = 'quiet';
  element.textContent = label;
  element.addEventListener('click', action);
  return element;
}

function row(entry) {
  const item = document.createElement('li');
  item.dataset.state = entry.state;
  item.dataset.id = entry.id;
  const { report } = entry;
  const title = document.createElement('strong');
  title.textContent = `${report.practice} · ${report.item_id || text.whole}`;
  const comment = document.createElement('p');
  comment.textContent = report.comment;
  const status = document.createElement('p');
  status.className = 'state';
  status.textContent = describe(entry);
  item.append(title, comment, status);
  if (entry.state === 'refused') {
    item.append(
      button(text.edit, () => document.dispatchEvent(new CustomEvent('frontline:edit', {
        detail: { report, about: title.textContent },
      }))),
      ' ',
      button(text.discard, () => outbox.remove(entry.id)),
    );
  }
  return item;
}

async function render() {
  const entries = (await outbox.all()).sort((a, b) => b.savedAt - a.savedAt);
  list.replaceChildren(...entries.map(row));
  empty.hidden = entries.length > 0;
}

document.getElementById('send-now').addEventListener('click', () => outbox.drain(true));
outbox.onChange(render);
render();
