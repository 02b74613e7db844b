/** The login session of this browser tab: the token lives in sessionStorage, so it ends with the tab. */
const TOKEN = 'hermod.token';
const USER = 'hermod.username';

export interface Session {
  token: string;
  username: string;
}

export function currentSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN);
  const username = sessionStorage.getItem(USER);
  return token === null || username === null ? undefined : { token, username };
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(TOKEN, s.token);
  sessionStorage.setItem(USER, s.username);
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
}
