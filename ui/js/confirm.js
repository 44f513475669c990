// A modal confirmation for actions that change traffic (release controls,
// rollback). <dialog> gives focus trapping and Escape-to-cancel for free;
// Cancel has the initial focus so Enter never confirms by accident.

import { h } from './dom.js';

export function confirmAction({ title, message, confirmLabel, danger = false }) {
  const dialog = document.getElementById('confirm');
  return new Promise((resolve) => {
    dialog.replaceChildren(
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', {}, message),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : 'primary', 'data-confirm': 'ok' }, confirmLabel),
        ),
      ),
    );
    dialog.setAttribute('aria-labelledby', 'confirm-title');
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}
