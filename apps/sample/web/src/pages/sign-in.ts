// Sign-in page (index.html): a username and an optional app id give a token from POST /auth/login.
import { byId } from '../dom';
import { loadSession, signIn } from '../session';

const form = byId('sign-in', HTMLFormElement);
const error = byId('sign-in-error', HTMLElement);
const usernameInput = form.elements.namedItem('username') as HTMLInputElement;
const appIdInput = form.elements.namedItem('appId') as HTMLInputElement;

if (loadSession()) location.replace('/chat.html');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const username = usernameInput.value.trim();
  const appId = appIdInput.value.trim();
  error.hidden = true;
  signIn(username, appId).then(
    () => location.assign('/chat.html'),
    (failure: unknown) => {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      error.hidden = false;
    },
  );
});
